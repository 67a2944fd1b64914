import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { commandPaths, type CommandSpec, type GroupSpec } from "../../src/cli/command-spec.js";
import { igniteCommands } from "../../src/cli/commands/index.js";
import { OTHER_TOKEN, removeDir, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { runCli } from "../helpers/run-cli.js";

/**
 * Arguments for every command, in the order they run (against one app that gets published). A new
 * command fails this test until it gets an entry: every command must honour -o json and -o yaml.
 * `null` marks a command exercised elsewhere, with the reason.
 */
const RUNS: Array<[string, string[] | null]> = [
  ["config set", ["output", "table"]],
  ["config get", ["output"]],
  ["config view", []],
  ["config path", []],
  ["config unset", ["output"]],
  ["config context create", ["contract", "--api-endpoint", "$ENDPOINT", "--debug"]],
  ["config context list", []],
  ["config context use", ["contract"]],
  ["config context delete", ["contract"]],
  ["login", ["--token", "$TOKEN", "--api-endpoint", "$ENDPOINT", "--org", "acme-corp", "--debug"]],
  ["app create", ["acme-corp:contract", "--description", "contract test"]],
  ["app list", []],
  ["app get", ["acme-corp:contract"]],
  ["app update", ["acme-corp:contract", "--env", "MODE=test"]],
  ["app state", ["acme-corp:contract"]],
  ["draft info", ["acme-corp:contract"]],
  ["draft save", ["acme-corp:contract", "--code", "app", "--dockerfile-path", "Dockerfile"]],
  ["draft compile-logs", ["acme-corp:contract", "--follow"]],
  ["draft compile", ["acme-corp:contract"]],
  ["draft test", ["acme-corp:contract", "-p", '{"name": "test"}']],
  ["draft publish", ["acme-corp:contract"]],
  ["invoke", ["acme-corp:contract", "-p", '{"name": "json"}']],
  ["app logs", ["acme-corp:contract"]],
  ["execution get", ["$EXECUTION"]],
  ["execution watch", ["$EXECUTION"]],
  ["execution stream", ["$EXECUTION"]],
  ["execution logs", ["$EXECUTION"]],
  ["execution list", null], // always exits 1 (documented "unsupported runtime"): test/commands/app-surface.test.ts checks it
  ["version list", ["acme-corp:contract"]],
  ["version get", ["acme-corp:contract", "1"]],
  ["version rollback", ["acme-corp:contract", "1"]],
  ["version code", ["acme-corp:contract", "--output-file", "contract.tar.gz"]],
  ["version test", ["acme-corp:contract", "1", "-p", "{}"]],
  ["app deploy", ["acme-corp:deployed", "--code", "app", "--dockerfile-path", "Dockerfile"]],
  ["app open", ["acme-corp:deployed"]],
  ["app delete", ["acme-corp:contract", "--yes"]],
  ["build upload", ["--folder", "app", "--name", "contract"]],
  ["build create", ["contract", "--context", "app"]],
  ["build list", []],
  ["build get", ["$BUILD"]],
  ["build logs", ["$BUILD", "--follow"]],
  ["build cancel", ["$CANCELLED_BUILD"]],
  ["build secrets set", ["--build-secret", "CONTRACT=value"]],
  ["secret create", ["contract-slot", "--type", "git", "--username", "bot", "--token", "contract-token"]],
  ["secret list", []],
  ["secret get", ["contract-slot"]],
  ["secret delete", ["contract-slot", "--yes"]],
  ["models list", []],
  ["models get", ["kimi-k2.5"]],
  ["models chat", null], // UNIMPLEMENTED on the local control plane (exit 1): test/commands/services-surface.test.ts
  ["models embed", null], // same
  ["models infer", null], // same
  ["models rerank", null], // same; test/commands/models-inference.test.ts checks its JSON against a model server
  ["models transcribe", null], // same
  ["dev", null], // foreground server: test/e2e/recipe.e2e.test.ts covers its -o json line
  ["dev doctor", []],
  ["dev images", []],
  ["dev images list", []],
  ["dev images load", null], // needs an archive and podman: test/commands/dev-images.test.ts checks its -o json
  ["dev images tag", null], // same
  ["dev images rm", null], // same
  ["dev setup", null], // installs base images (minutes on a fresh machine): .ci/run runs it through scripts/setup-base-images.sh
  ["logout", []], // last: it removes what `login` saved (the runs authenticate through the environment)
];

/** Commands that print one JSON document per line (in the form RUNS calls them). */
const STREAMING = new Set(["draft compile-logs", "execution watch", "execution stream", "build logs"]);

const cliJson = async (argv: string[]) => {
  const result = await runCli(["ignite", ...argv, "-o", "json"], { env: cp.env, cwd: work, home });
  if (result.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, string>;
};

/** Placeholders in RUNS, made on first use: ids of things the earlier runs cannot name. */
const made = new Map<string, Promise<string>>();
function resolveArg(arg: string): Promise<string> | string {
  if (arg === "$TOKEN") return cp.env.IGNITE_TOKEN as string;
  if (arg === "$ENDPOINT") return cp.plane.grpcEndpoint;
  const make: Record<string, () => Promise<string>> = {
    $EXECUTION: async () => (await cliJson(["invoke", "acme-corp:contract", "--async", "-p", "{}"])).execution_id as string,
    $BUILD: async () => (await cliJson(["build", "create", "contract", "--context", "app"])).build_id as string,
    // A build cancelled while it ran (cancelling it again returns it as is); host builds are quick, so retry the race.
    $CANCELLED_BUILD: async () => {
      for (let attempt = 0; attempt < 10; attempt += 1) {
        const id = (await cliJson(["build", "create", "cancelme", "--context", "app"])).build_id as string;
        const cancel = await runCli(["ignite", "build", "cancel", id, "-o", "json"], { env: cp.env, cwd: work, home });
        if (cancel.exitCode === 0) return id;
      }
      throw new Error("no build could be cancelled while running");
    },
  };
  const factory = make[arg];
  if (!factory) return arg;
  if (!made.has(arg)) made.set(arg, factory());
  return made.get(arg) as Promise<string>;
}

function leafPaths(specs: Array<CommandSpec | GroupSpec>): string[] {
  return commandPaths(specs).map(({ path }) => path.join(" "));
}

let cp: TestControlPlane;
let work: string;
let home: string;

beforeAll(async () => {
  cp = await startTestControlPlane();
  work = mkdtempSync(join(tmpdir(), "ignite-json-"));
  home = mkdtempSync(join(tmpdir(), "ignite-json-home-"));
  cpSync(join(import.meta.dirname, "..", "..", "examples", "greeter"), join(work, "app"), { recursive: true });
});

afterAll(async () => {
  await cp?.stop();
  for (const dir of [cp?.dataDir, work, home]) removeDir(dir ?? "");
});

describe("-o json / -o yaml on every command", () => {
  it("covers every command in the registry", () => {
    expect(RUNS.map(([path]) => path).sort()).toEqual(leafPaths(igniteCommands).sort());
  });

  for (const [path, args] of RUNS) {
    it.skipIf(args === null)(`${path}: stdout is JSON only`, async () => {
      const argv = await Promise.all((args ?? []).map(resolveArg));
      const result = await runCli(["ignite", ...path.split(" "), ...argv, "-o", "json"], { env: cp.env, cwd: work, home });
      expect(result.exitCode, result.stderr).toBe(0);
      const lines = result.stdout.trim().split("\n");
      // Streaming commands print one JSON document per line; others one document.
      const documents = STREAMING.has(path) ? lines.map((l) => JSON.parse(l)) : [JSON.parse(result.stdout)];
      expect(documents.length).toBeGreaterThan(0);
      expect(result.stdout).not.toContain("\u001b[");
    });
  }

  it("prints YAML that parses to the same data as JSON", async () => {
    const json = await runCli(["ignite", "app", "list", "-o", "json"], { env: cp.env, home });
    const yaml = await runCli(["ignite", "app", "list", "-o", "yaml"], { env: cp.env, home });
    expect(parseYaml(yaml.stdout)).toEqual(JSON.parse(json.stdout));
  });

  it("prints [] for an empty list", async () => {
    const empty = await runCli(["ignite", "app", "list", "-o", "json", "--token", OTHER_TOKEN], { env: cp.env });
    expect(empty.exitCode, empty.stderr).toBe(0);
    expect(empty.stdout.trim()).toBe("[]");
  });
});
