import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { isGroup, type CommandSpec, type GroupSpec } from "../../src/cli/command-spec.js";
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
  ["login", ["--token", "$TOKEN", "--api-endpoint", "$ENDPOINT", "--org", "acme-corp", "--debug"]],
  ["app create", ["acme-corp:contract", "--description", "contract test"]],
  ["app list", []],
  ["app get", ["acme-corp:contract"]],
  ["app update", ["acme-corp:contract", "--env", "MODE=test"]],
  ["app state", ["acme-corp:contract"]],
  ["draft info", ["acme-corp:contract"]],
  ["draft save", ["acme-corp:contract", "--code", "app", "--dockerfile-path", "Dockerfile"]],
  ["draft compile-logs", ["acme-corp:contract", "--follow"]],
  ["draft publish", ["acme-corp:contract"]],
  ["invoke", ["acme-corp:contract", "-p", '{"name": "json"}']],
  ["version list", ["acme-corp:contract"]],
  ["version get", ["acme-corp:contract", "1"]],
  ["version rollback", ["acme-corp:contract", "1"]],
  ["app delete", ["acme-corp:contract", "--yes"]],
  ["dev", null], // foreground server: test/e2e/recipe.e2e.test.ts covers its -o json line
];

function leafPaths(specs: Array<CommandSpec | GroupSpec>, prefix: string[] = []): string[] {
  return specs.flatMap((s) => (isGroup(s) ? leafPaths(s.commands, [...prefix, s.name]) : [[...prefix, s.name].join(" ")]));
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
      const argv = (args ?? []).map((a) => (a === "$TOKEN" ? (cp.env.IGNITE_TOKEN as string) : a === "$ENDPOINT" ? cp.plane.grpcEndpoint : a));
      const result = await runCli(["ignite", ...path.split(" "), ...argv, "-o", "json"], { env: cp.env, cwd: work, home });
      expect(result.exitCode, result.stderr).toBe(0);
      const lines = result.stdout.trim().split("\n");
      // Streaming commands print one JSON document per line; others one document.
      const documents = path === "draft compile-logs" ? lines.map((l) => JSON.parse(l)) : [JSON.parse(result.stdout)];
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
