import type { Command } from "commander";

/**
 * docs/cli-reference.md, generated from the command definitions themselves: every command's
 * help text at a fixed width, so the document can never drift from the CLI (a test compares them).
 */
export function renderCliReference(program: Command): string {
  const sections: string[] = [
    "# CLI reference",
    "",
    "Generated from the command definitions by `npm run docs:reference`; a test fails when it is stale.",
    "Every command also accepts the global options listed under `dodil ignite`.",
    "",
  ];
  const visit = (command: Command, path: string[]) => {
    const full = [...path, command.name()];
    command.configureHelp({ helpWidth: 100 });
    sections.push(`## ${full.join(" ")}`, "", "```text", command.helpInformation().trimEnd(), "```", "");
    for (const sub of command.commands) visit(sub, full);
  };
  visit(program, []);
  return sections.join("\n");
}
