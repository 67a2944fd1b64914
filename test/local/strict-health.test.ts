/**
 * Readiness as strict as the platform's probe: only a 2xx from the health path makes a version
 * ready. A version whose health path answers 404 fails `draft publish` with the path and the answer,
 * and the previous version keeps serving.
 */
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkspace, withoutTraces, type Workspace } from "../helpers/workspace.js";

let workspace: Workspace;
const cli: Workspace["cli"] = (argv, env, extra) => workspace.cli(argv, env, extra);

describe("readiness needs a 2xx from the health path", () => {
  beforeAll(async () => {
    workspace = await startWorkspace("strict-health");
    // v2: the greeter with its health routes gone (GET answers 404 everywhere)
    cpSync(join(workspace.work, "app"), join(workspace.work, "nohealth"), { recursive: true });
    const server = join(workspace.work, "nohealth", "server.py");
    writeFileSync(server, readFileSync(server, "utf8").replace('in ("/health", "/healthz")', 'in ("/nothing-here",)'));
  }, 60_000);

  afterAll(async () => {
    await workspace?.close();
  });

  it("a health path answering 404 fails publish naming the path and the answer, and the previous version keeps serving", async () => {
    const v1 = await cli(["app", "deploy", "acme-corp:strict", "--code", "./app", "--dockerfile-path", "Dockerfile"]);
    expect(v1.exitCode, v1.stderr).toBe(0);
    const v2 = await cli(["app", "deploy", "acme-corp:strict", "--code", "./nohealth", "--dockerfile-path", "Dockerfile"]);
    expect(v2.exitCode).not.toBe(0);
    expect(withoutTraces(v2.stderr).join("\n")).toMatch(/version 2 of acme-corp\/strict did not become ready: GET \/healthz answered 404: set --health-path to a route that answers 2xx/);
    const app = JSON.parse((await cli(["app", "get", "acme-corp:strict", "-o", "json"])).stdout);
    expect(app.active_version).toBe(1);
    const invoke = await cli(["invoke", "acme-corp:strict", "-p", '{"name": "still"}']);
    expect(invoke.exitCode, invoke.stderr).toBe(0);
    expect(invoke.stdout).toMatch(/Hello, still!/);
  }, 120_000);

  it("a deploy whose new --health-path never answers 2xx leaves the app as it was: its health path, env and the version serving", async () => {
    const before = JSON.parse((await cli(["app", "get", "acme-corp:strict", "-o", "json"])).stdout);
    const failed = await cli(["app", "deploy", "acme-corp:strict", "--code", "./app", "--dockerfile-path", "Dockerfile", "--health-path", "/not-served", "--env", "MODE=new"]);
    expect(failed.exitCode).not.toBe(0);
    expect(withoutTraces(failed.stderr).join("\n")).toMatch(/GET \/not-served answered 404/);
    const after = JSON.parse((await cli(["app", "get", "acme-corp:strict", "-o", "json"])).stdout);
    expect(after.health_path ?? "").toBe(before.health_path ?? "");
    expect(after.env ?? {}).toEqual(before.env ?? {});
    expect(after.active_version).toBe(before.active_version);
    const invoke = await cli(["invoke", "acme-corp:strict", "-p", '{"name": "unchanged"}']);
    expect(invoke.exitCode, invoke.stderr).toBe(0);
    expect(invoke.stdout).toMatch(/Hello, unchanged!/);
  }, 120_000);

  it("the same code with --health-path naming a route it serves publishes", async () => {
    const ok = await cli(["app", "deploy", "acme-corp:strict", "--code", "./nohealth", "--dockerfile-path", "Dockerfile", "--health-path", "/nothing-here"]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(JSON.parse((await cli(["app", "get", "acme-corp:strict", "-o", "json"])).stdout).active_version).toBeGreaterThan(1);
  }, 120_000);
});
