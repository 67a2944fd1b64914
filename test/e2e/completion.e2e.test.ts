import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACME_TOKEN, removeDir, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { runCli } from "../helpers/run-cli.js";

const repo = join(import.meta.dirname, "..", "..");
let cp: TestControlPlane;
let bin: string;

beforeAll(async () => {
  cp = await startTestControlPlane();
  bin = mkdtempSync(join(tmpdir(), "ignite-bin-"));
  symlinkSync(join(repo, "bin", "dodil.js"), join(bin, "dodil"));
  for (const name of ["greeter", "gateway-app", "worker"]) await runCli(["ignite", "app", "create", `acme-corp:${name}`], { env: cp.env });
});

afterAll(async () => {
  await cp?.stop();
  removeDir(cp?.dataDir ?? "");
  removeDir(bin ?? "");
});

const run = promisify(execFile);

/**
 * Loads the bash script in a real bash, types `line` and returns what bash would offer. Async: the
 * control plane answering the app-id lookup runs in this process.
 */
async function complete(line: string, env: Record<string, string> = cp.env): Promise<string[]> {
  const home = join(bin, "home");
  mkdirSync(home, { recursive: true });
  const script = `source <(dodil completion bash)
COMP_LINE=${JSON.stringify(line)}; COMP_POINT=\${#COMP_LINE}
read -ra COMP_WORDS <<< "$COMP_LINE"; COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
[[ $COMP_LINE == *" " ]] && COMP_CWORD=$(( COMP_CWORD + 1 ))
_dodil_complete
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const { stdout } = await run("bash", ["-c", script], { env: { PATH: `${bin}:${process.env.PATH}`, HOME: home, ...env }, encoding: "utf8", timeout: 20_000 });
  return stdout.split("\n").filter(Boolean);
}

describe("bash completion", () => {
  it("loads and registers the function", () => {
    const out = execFileSync("bash", ["-c", "source <(dodil completion bash) && complete -p dodil"], { env: { PATH: `${bin}:${process.env.PATH}` }, encoding: "utf8" });
    expect(out).toContain("complete -o default -F _dodil_complete dodil");
  });

  it("completes commands, subcommands, flags and flag values", async () => {
    expect(await complete("dodil ")).toEqual(["completion", "ignite", "login", "logout", "mcp"]);
    expect(await complete("dodil ignite dr")).toEqual(["draft"]);
    expect(await complete("dodil ignite draft ")).toEqual(["compile", "compile-logs", "info", "publish", "save", "test"]);
    expect(await complete("dodil ignite draft save x --dock")).toEqual(["--dockerfile-path"]);
    expect(await complete("dodil ignite app list -o ")).toEqual(["json", "table", "wide", "yaml"]);
  });

  it("completes app ids from the configured endpoint", async () => {
    expect(await complete("dodil ignite app get ")).toEqual(["acme-corp:gateway-app", "acme-corp:greeter", "acme-corp:worker"]);
    expect(await complete("dodil ignite app get acme-corp:g")).toEqual(["gateway-app", "greeter"]);
  });

  it("falls back to nothing, quickly, when the endpoint is unreachable", async () => {
    // Quickly: completion calls with its own short deadline (src/cli/run.ts); no timed assertion here.
    expect(await complete("dodil ignite app get ", { IGNITE_API_ENDPOINT: "127.0.0.1:1", IGNITE_TOKEN: ACME_TOKEN, IGNITE_DEBUG: "1" })).toEqual([]);
  });
});

describe("prebuilt help (bin/launch.js + dist/bundle/help.json)", () => {
  it("prints exactly what commander prints, for every command of both binaries", async () => {
    const { commandPaths } = await import("../../src/cli/command-spec.js");
    const { igniteCommands } = await import("../../src/cli/commands/index.js");
    const paths = [[], ...commandPaths(igniteCommands).map(({ path }) => path)];
    for (const path of paths) {
      for (const [binary, prefix] of [["dodil", ["ignite"]], ["ignite", []]] as const) {
        const words = [...prefix, ...path];
        const { stdout } = await run(process.execPath, [join(repo, "bin", `${binary}.js`), ...words, "--help"], { encoding: "utf8" });
        const inProcess = await runCli([...words, "--help"], { binary });
        expect(stdout, `${binary} ${words.join(" ")}`).toBe(inProcess.stdout);
      }
    }
    // Two spawns per command and binary: on a loaded 2-core machine this takes minutes.
  }, 300_000);

  it("leaves unknown words and other flags to the CLI itself", async () => {
    for (const words of [["ignite", "nope"], ["ignite", "app", "list", "-o", "json"]]) {
      const { stdout } = await run(process.execPath, [join(repo, "bin", "dodil.js"), ...words, "--help"], { encoding: "utf8" });
      expect(stdout).toBe((await runCli([...words, "--help"])).stdout);
    }
  });
});
