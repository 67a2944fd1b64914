import { describe, expect, it } from "vitest";
import { commandPaths } from "../../src/cli/command-spec.js";
import { igniteCommands } from "../../src/cli/commands/index.js";
import { runCli } from "../helpers/run-cli.js";

/**
 * Every command and alias the platform reference lists (reference/dodil-ignite-platform.md §3:
 * the command groups, their subcommand tables, the sample-only `app deploy` / `app logs`, and the
 * aliases `function`, `fn`, `status`, `exec`). A missing one fails here.
 */
const DOCUMENTED = [
  "app create", "app get", "app list", "app update", "app delete", "app state", "app deploy", "app logs",
  "draft save", "draft info", "draft compile", "draft compile-logs", "draft test", "draft publish",
  "version list", "version get", "version rollback", "version code", "version test",
  "invoke",
  "execution get", "execution logs", "execution stream", "execution watch", "execution list",
  "build create", "build upload", "build get", "build list", "build logs", "build cancel", "build secrets set",
  "secret create", "secret get", "secret list", "secret delete",
  "models list",
  "config set", "config view",
  "login",
];

const ALIASES: Array<[string, string]> = [
  ["function list", "app list"],
  ["fn get", "app get"],
  ["draft status", "draft info"],
  ["exec get", "execution get"],
];

/** Flags the reference shows on each command (§3), checked against --help. */
const DOCUMENTED_FLAGS: Array<[string, string[]]> = [
  ["app create", ["--runtime", "--rust-target", "--toolchain", "--tier", "--memory", "--cpu", "--timeout-secs", "--storage-mode", "--ttl", "--max-replicas", "--reserved", "--auto-mode", "--description", "--mcp-enabled", "--input-schema", "--output-schema", "--env"]],
  ["app deploy", ["--code", "--runtime", "--tier", "--allow-unauthenticated", "--env", "--dockerfile-path", "--health-path", "--build-arg"]],
  ["draft save", ["--code", "--input-schema", "--output-schema", "--runtime", "--dockerfile-path", "--build-arg", "--image-ref", "--registry-secret-ref", "--git-url", "--git-ref"]],
  ["draft compile", ["--follow"]],
  ["draft test", ["--payload"]],
  ["version code", ["--version"]],
  ["invoke", ["--payload", "--payload-file", "--async"]],
  ["build upload", ["--folder", "--name"]],
  ["build create", ["--context-id", "--tag", "--git-url", "--git-ref", "--git-dir", "--context", "--dockerfile", "--build-arg", "--platform", "--no-cache", "--timeout-secs"]],
  ["secret create", ["--type", "--username", "--password", "--token", "--server-address"]],
];

describe("the documented command surface", () => {
  const paths = new Set(commandPaths(igniteCommands).map(({ path }) => path.join(" ")));

  it.each(DOCUMENTED)("`%s` exists", (path) => {
    expect(paths.has(path), `${path} is documented but missing`).toBe(true);
  });

  it.each(ALIASES)("`%s` works as `%s`", async (alias, canonical) => {
    const help = await runCli(["ignite", ...alias.split(" "), "--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain(`Usage: dodil ignite ${canonical}`);
  });

  it.each(DOCUMENTED_FLAGS)("`%s` takes the documented flags", async (path, flags) => {
    const help = await runCli(["ignite", ...path.split(" "), "--help"]);
    for (const flag of flags) expect(help.stdout, `${path} ${flag}`).toMatch(new RegExp(`${flag}[ ,<\\n]`));
  });
});
