import { UsageError } from "../../errors.js";
import { SHELLS, completionScript, type Shell } from "../completion.js";
import { defineCommand } from "../command-spec.js";

/** `completion` for one program name (`dodil` or `ignite`). */
export function completionCommand(program: string) {
  return defineCommand({
    name: "completion",
    summary: "Print a shell completion script (bash, zsh or fish)",
    description: "Print a script that completes commands, subcommands, flags and (from the configured endpoint, within 1.5 s) app ids.",
    args: [{ name: "shell", description: "bash, zsh or fish" }],
    examples: [`source <(${program} completion bash)`, `${program} completion zsh > "\${fpath[1]}/_${program}"`, `${program} completion fish | source`],
    async handler([shell = ""]) {
      if (!(SHELLS as readonly string[]).includes(shell)) throw new UsageError(`unknown shell "${shell}": use bash, zsh or fish`);
      const script = completionScript(shell as Shell, program);
      return { data: { shell, script }, human: { kind: "text", text: script } };
    },
  });
}
