import { describe, expect, it } from "vitest";
import { commandPaths, type CommandSpec, type GroupSpec } from "../../src/cli/command-spec.js";
import { igniteCommands } from "../../src/cli/commands/index.js";
import { selectRoute } from "../../src/cli/run.js";
import { runCli } from "../helpers/run-cli.js";

function leaves(specs: Array<CommandSpec | GroupSpec>): Array<[string, CommandSpec]> {
  return commandPaths(specs).map(({ path, spec }) => [path.join(" "), spec]);
}

describe("help and usage", () => {
  it.each(leaves(igniteCommands))("%s has a summary, an example and working --help", async (path, spec) => {
    expect(spec.summary.length).toBeGreaterThan(10);
    expect(spec.examples.length).toBeGreaterThan(0);
    const help = await runCli(["ignite", ...path.split(" "), "--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain(`Usage: dodil ignite ${path}`);
    expect(help.stdout).toContain("Examples:");
    expect(help.stdout).toContain("Global Options:");
  });

  it("lists the exit codes in the top-level help", async () => {
    const help = await runCli(["ignite", "--help"]);
    expect(help.stdout).toMatch(/Exit codes:[\s\S]*9 unavailable/);
  });

  it("shows a group's help when no subcommand is given", async () => {
    const result = await runCli(["ignite", "draft"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/compile-logs/);
  });

  it("works the same as the standalone `ignite` binary", async () => {
    const result = await runCli(["app", "--help"], { binary: "ignite" });
    expect(result.stdout).toContain("Usage: ignite app");
  });

  it.each([
    [["ignite", "app", "lst"], /unknown command 'lst'.*Did you mean one of list, ls\?/],
    [["ignite", "app", "list", "--outptu", "json"], /unknown option '--outptu'.*Did you mean --output\?/],
    [["ignite", "app", "get"], /missing required argument 'id'/],
    [["ignite", "invoke"], /^Error: no app id given, and there is no info.yaml here naming one$/],
  ])("%j is a usage error (exit 2) with a suggestion", async (argv, message) => {
    const result = await runCli(argv);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.split("\n")[0]).toMatch(message);
    expect(result.stdout).toBe("");
  });

  it("prints the version", async () => {
    const result = await runCli(["--version"]);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("the branch of the command tree a run builds (selectRoute)", () => {
  const names = (argv: string[]) => {
    const route = selectRoute("dodil", argv);
    return route && [...route].map((spec) => spec.name);
  };

  // The walk stops at the first runnable command: one with subcommands (`dev`) is built in full.
  const upToFirstCommand = (words: string[]) => {
    let specs: Array<CommandSpec | GroupSpec> = igniteCommands;
    const selected: string[] = [];
    for (const word of words) {
      const spec = specs.find((s) => s.name === word) as CommandSpec | GroupSpec;
      selected.push(word);
      if (!("commands" in spec)) break;
      specs = spec.commands;
    }
    return selected;
  };

  it.each(leaves(igniteCommands))("ignite %s selects its path", (path) => {
    expect(names(["ignite", ...path.split(" ")])).toEqual(["ignite", ...upToFirstCommand(path.split(" "))]);
  });

  it.each([
    [["ignite", "-o", "json", "app", "ls", "--limit", "3"], ["ignite", "app", "list"]],
    // An option's value is never read as a command, as commander reads it.
    [["ignite", "--org", "app", "version", "list"], ["ignite", "version", "list"]],
    [["ignite", "--output=json", "app", "get", "x"], ["ignite", "app", "get"]],
    // A misspelt subcommand stops at its group, which is built in full for the suggestion.
    [["ignite", "app", "lst"], ["ignite", "app"]],
    [["login", "id", "secret"], ["login"]],
    [["ignite", "app", "list", "--help"], undefined],
    [["ignite", "help", "app"], undefined],
    [["__complete", "ignite", "ap"], undefined],
  ])("%j selects %j", (argv, expected) => {
    expect(names(argv)).toEqual(expected);
  });

  it("runs a selected command with global flags before and after it", async () => {
    const result = await runCli(["ignite", "-o", "json", "config", "view", "--output", "yaml"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^config_file: /m);
  });
});

describe("docs/cli-reference.md", () => {
  it("matches the command definitions (run `npm run docs:reference` after changing a command)", async () => {
    const { readFileSync } = await import("node:fs");
    const { buildProgram } = await import("../../src/cli/run.js");
    const { renderCliReference } = await import("../../src/cli/reference.js");
    const { systemClock } = await import("../../src/clock.js");
    const environment = { io: {} as never, env: {}, cwd: "/", home: "", waitForShutdown: () => new Promise<string>(() => {}), clock: systemClock };
    const expected = renderCliReference(buildProgram("dodil", environment));
    const actual = readFileSync(new URL("../../docs/cli-reference.md", import.meta.url), "utf8");
    expect(actual).toBe(expected);
  });
});

describe("help <command> at every level", () => {
  it.each(leaves(igniteCommands))("dodil ignite help %s", async (path) => {
    const words = path.split(" ");
    const viaHelp = await runCli(["ignite", "help", ...words]);
    expect(viaHelp.exitCode).toBe(0);
    expect(viaHelp.stdout).toContain(`Usage: dodil ignite ${path}`);
    // `help` placed inside the path works too: `dodil ignite app help create`.
    if (words.length > 1) {
      const inner = await runCli(["ignite", ...words.slice(0, -1), "help", words[words.length - 1] as string]);
      expect(inner.stdout).toContain(`Usage: dodil ignite ${path}`);
    }
  });
});
