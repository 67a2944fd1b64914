/**
 * info.yaml is the app's manifest (as on the platform): on `app deploy` / `draft save` of a
 * directory its description, mcp_enabled, input/output schemas and runtime apply unless a flag says
 * otherwise; test_input is draft/version test's default payload; env: names a deploy does not set
 * are a warning; a malformed file is exit 2 naming file and line; payloads are checked against
 * input_schema (INVALID_ARGUMENT, exit 2, the failing path).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/run-cli.js";
import { startWorkspace, withoutTraces, type Workspace } from "../helpers/workspace.js";

const INFO_YAML = `name: notes
description: >
  Keeps notes.
runtime: python
mcp_enabled: true
input:
  type: object
  required: [action]
  properties:
    action: { type: string, enum: [put, get] }
    tags: { type: array, items: { type: string } }
output:
  type: object
  properties:
    ok: { type: boolean }
env:
  - NOTES_KEY   # set by the deploy
  - ADMIN_KEYS
  - MODEL_NAME
test_input:
  action: put
  tags: [a, b]
`;

const HANDLER_PY = `import json

def handler(payload, ctx):
    return {"ok": True, "got": json.loads(payload or b"{}")}
`;

let workspace: Workspace;
const cli: Workspace["cli"] = (argv, env, extra) => workspace.cli(argv, env, extra);
/** The CLI run inside the app directory (as `cd notes && dodil ignite …`). */
const inDir = (dir: string, argv: string[]) => runCli(["ignite", ...argv], { env: workspace.cp.env, cwd: join(workspace.work, dir) });

function appDir(name: string, info: string): void {
  mkdirSync(join(workspace.work, name));
  writeFileSync(join(workspace.work, name, "info.yaml"), info);
  writeFileSync(join(workspace.work, name, "handler.py"), HANDLER_PY);
}

describe("info.yaml as the app's manifest", () => {
  beforeAll(async () => {
    workspace = await startWorkspace("info-yaml");
    appDir("notes", INFO_YAML);
    appDir("broken", "name: broken\ninput:\n  type: object\n   properties: {}\n");
    appDir("badtype", "name: badtype\nmcp_enabled: sometimes\n");
  }, 60_000);

  afterAll(async () => {
    await workspace?.close();
  });

  it("app deploy takes description, mcp_enabled, the schemas and the runtime from it, says so, and warns of env it does not set", async () => {
    const deploy = await cli(["app", "deploy", "acme-corp:notes", "--code", "./notes", "--env", "NOTES_KEY=k"]);
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    const err = withoutTraces(deploy.stderr).join("\n");
    expect(err).toMatch(/runtime python, from info\.yaml/);
    expect(err).toMatch(/description, mcp_enabled, input, output from notes\/info\.yaml/);
    expect(err).toMatch(/notes\/info\.yaml lists env ADMIN_KEYS, MODEL_NAME, which this deploy does not set/);
    const app = JSON.parse((await cli(["app", "get", "acme-corp:notes", "-o", "json"])).stdout);
    expect(app.description).toBe("Keeps notes.");
    expect(app.mcp_enabled).toBe(true);
    expect(JSON.parse(app.input_schema)).toMatchObject({ type: "object", required: ["action"], properties: { action: { enum: ["put", "get"] } } });
    expect(JSON.parse(app.output_schema)).toEqual({ type: "object", properties: { ok: { type: "boolean" } } });
  }, 120_000);

  it("a flag wins over the file, and the note names only what came from the file", async () => {
    const deploy = await cli(["app", "deploy", "acme-corp:notes", "--code", "./notes", "--description", "from the flag", "--env", "NOTES_KEY=k", "--env", "ADMIN_KEYS=a", "--env", "MODEL_NAME=m"]);
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    const err = withoutTraces(deploy.stderr).join("\n");
    expect(err).toMatch(/mcp_enabled, input, output from notes\/info\.yaml/);
    expect(err).not.toMatch(/description, mcp_enabled/);
    expect(err).not.toMatch(/lists env/);
    expect(JSON.parse((await cli(["app", "get", "acme-corp:notes", "-o", "json"])).stdout).description).toBe("from the flag");
  }, 120_000);

  it("draft save applies the file too", async () => {
    expect((await cli(["app", "create", "acme-corp:saved"])).exitCode).toBe(0);
    const save = await cli(["draft", "save", "acme-corp:saved", "--code", "./notes"]);
    expect(save.exitCode, save.stderr).toBe(0);
    expect(save.stderr).toMatch(/description, mcp_enabled, input, output from notes\/info\.yaml/);
    const app = JSON.parse((await cli(["app", "get", "acme-corp:saved", "-o", "json"])).stdout);
    expect(app).toMatchObject({ description: "Keeps notes.", mcp_enabled: true });
  }, 60_000);

  it("draft test and version test without -p send test_input", async () => {
    const draft = await inDir("notes", ["draft", "test", "acme-corp:notes", "-o", "json"]);
    expect(draft.exitCode, draft.stderr).toBe(0);
    expect(draft.stderr).toMatch(/payload: test_input from info\.yaml/);
    expect(JSON.parse(draft.stdout).body).toEqual({ ok: true, got: { action: "put", tags: ["a", "b"] } });
    const version = await inDir("notes", ["version", "test", "acme-corp:notes", "1", "-o", "json"]);
    expect(version.exitCode, version.stderr).toBe(0);
    expect(JSON.parse(version.stdout).body.got).toEqual({ action: "put", tags: ["a", "b"] });
  }, 120_000);

  it.each([
    ["a value outside the enum", '{"action": "drop"}', /at \/action: must be equal to one of the allowed values \("put", "get"\)/],
    ["a wrong type deep inside", '{"action": "get", "tags": [1]}', /at \/tags\/0: must be string/],
    ["a missing required field", '{"tags": []}', /at \/: must have required property 'action'/],
    ["a body that is not JSON", "not json", /the payload is not JSON, and acme-corp\/notes has an input_schema/],
  ])("invoke with %s is INVALID_ARGUMENT (exit 2) naming the path", async (_what, payload, message) => {
    const args = payload.startsWith("{") ? ["-p", payload] : ["--payload-file", "-"];
    const r = await cli(["invoke", "acme-corp:notes", ...args], {}, { stdin: payload });
    expect(r.exitCode).toBe(2);
    expect(withoutTraces(r.stderr).join("\n")).toMatch(message);
  });

  it("a payload that matches goes through; draft test checks it too", async () => {
    expect((await cli(["invoke", "acme-corp:notes", "-p", '{"action": "get"}'])).exitCode).toBe(0);
    const bad = await cli(["draft", "test", "acme-corp:notes", "-p", '{"action": 1}']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/input_schema of the draft of acme-corp\/notes: at \/action: must be string/);
  }, 60_000);

  it.each([
    ["not YAML", "broken", /^.*broken\/info\.yaml:3: not valid YAML: /m],
    ["a key of the wrong shape", "badtype", /^.*badtype\/info\.yaml:2: mcp_enabled: must be true or false$/m],
  ])("a malformed info.yaml (%s) is exit 2 naming the file and line, and nothing is sent", async (_what, dir, message) => {
    const r = await cli(["app", "deploy", `acme-corp:${dir}`, "--code", `./${dir}`]);
    expect(r.exitCode).toBe(2);
    expect(withoutTraces(r.stderr).join("\n")).toMatch(message);
    expect((await cli(["app", "get", `acme-corp:${dir}`])).exitCode).not.toBe(0);
  });
});
