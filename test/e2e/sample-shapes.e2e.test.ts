/**
 * The claims of docs/samples.md, checked with apps written here in the shape of the platform
 * vendor's public samples (none of their code; nothing here knows a sample's name): the deploy
 * command each README gives, run offline against a local plane (host driver).
 *
 * - an action-routed Python backend with a full info.yaml and a comment-only requirements.txt,
 *   `app deploy NAME --code DIR --runtime python --tier small --allow-unauthenticated --env …`:
 *   deploys, answers anonymously, CORS-open;
 * - a Deno backend whose deno.json maps `ignite` to the platform SDK path and `@std/*` to jsr::
 *   `app deploy NAME --code DIR --tier small --allow-unauthenticated` (runtime from info.yaml):
 *   fails offline naming the first jsr: specifier;
 * - the same Deno backend importing the platform's `ignite/store` module: fails naming it (the
 *   local plane provides only `ignite`);
 * - a node static frontend with `FROM node:22-alpine`, `--dockerfile-path Dockerfile`: deploys on
 *   the host driver (the host's node stands in for the base image).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkspace, withoutTraces, type Workspace } from "../helpers/workspace.js";

// Hermetic: the JSR registry is a closed loopback port (the plane runs in this process).
process.env["JSR_URL"] = "http://127.0.0.1:9/";

let workspace: Workspace;
const cli: Workspace["cli"] = (argv, env, extra) => workspace.cli(argv, env, extra);

/** A request to the gateway for an app's host name (fetch cannot set Host). */
function gateway(host: string, o: { method: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const url = new URL(workspace.cp.plane.gatewayUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: Number(url.port), method: o.method, path: "/", headers: { host, ...(o.headers ?? {}) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(o.body);
  });
}

function files(dir: string, content: Record<string, string>): void {
  for (const [name, text] of Object.entries(content)) {
    mkdirSync(join(workspace.work, dir, name, ".."), { recursive: true });
    writeFileSync(join(workspace.work, dir, name), text);
  }
}

const INFO_PY = `name: inbox
description: >
  An action-routed inbox backend.
runtime: python
mcp_enabled: true
input:
  type: object
  required: [action]
  properties:
    action: { type: string, enum: [ping, stats] }
    key: { type: string }
output:
  type: object
  properties:
    ok: { type: boolean }
env:
  - ADMIN_KEYS
  - PUBLIC_KEYS
  - SERVICE_ID
test_input:
  action: ping
`;

const HANDLER_PY = `import json, os

def handler(payload, ctx):
    if isinstance(payload, (bytes, str)):
        payload = json.loads(payload or "{}")
    action = payload.get("action")
    admin = [k for k in os.environ.get("ADMIN_KEYS", "").split(",") if k]
    if action == "stats" and admin and payload.get("key") not in admin:
        return {"ok": False, "error": "admin key required"}
    return {"ok": True, "action": action}
`;

const denoApp = (imports: Record<string, string>, extra: string) => ({
  "info.yaml": "name: events\nruntime: deno\nmcp_enabled: true\n",
  "deno.json": JSON.stringify({ imports: { ignite: "./deno/sdk/ignite/bootstrap.ts", ...imports } }, null, 2),
  "main.ts": `import { start } from "ignite";\n${extra}\nstart(async (req) => Response.json({ ok: true }));\n`,
});

describe("the samples' deploy commands, offline, with sample-shaped apps", () => {
  beforeAll(async () => {
    workspace = await startWorkspace("sample-shapes");
    files("inbox", { "info.yaml": INFO_PY, "handler.py": HANDLER_PY, "requirements.txt": "# standard library only\n" });
    files("events", denoApp({ "@std/ulid": "jsr:@std/ulid@^1", "@std/csv": "jsr:@std/csv@^1" }, 'import { ulid } from "@std/ulid";\nconsole.log(ulid());'));
    files("notes", denoApp({ "ignite/store": "./deno/sdk/ignite/store.ts" }, 'import * as store from "ignite/store";\nconsole.log(store);'));
    files("web", {
      Dockerfile: 'FROM node:22-alpine\nWORKDIR /app\nCOPY . /app\nENV HOME=/tmp/ignite\nUSER 1000\nCMD ["node", "server.mjs"]\n',
      "server.mjs":
        'import http from "node:http";\nhttp.createServer((q, r) => { r.setHeader("content-type", "text/plain"); r.end(q.url === "/healthz" ? "ok" : `ui for ${process.env.APP_URL}`); }).listen(Number(process.env.PORT));\n',
    });
  }, 60_000);

  afterAll(async () => {
    await workspace?.close();
  });

  it("python backend: app deploy --runtime python --tier small --allow-unauthenticated --env … deploys and answers anonymously", async () => {
    const d = await cli(["app", "deploy", "acme-corp:inbox", "--code", "./inbox", "--runtime", "python", "--tier", "small", "--allow-unauthenticated", "--env", "ADMIN_KEYS=ak_x", "--env", "PUBLIC_KEYS=pk_y"]);
    expect(d.exitCode, d.stderr).toBe(0);
    expect(d.stderr).toMatch(/SERVICE_ID/); // info.yaml's env: the deploy does not set
    const app = JSON.parse((await cli(["app", "get", "acme-corp:inbox", "-o", "json"])).stdout);
    expect(app.mcp_enabled).toBe(true);
    const anon = await gateway("inbox-acme-corp.ignite.localhost", {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://dashboard.example" },
      body: JSON.stringify({ action: "stats", key: "ak_x" }),
    });
    expect(anon.status, anon.body).toBe(200);
    expect(anon.headers["access-control-allow-origin"]).toBeTruthy();
    expect(JSON.parse(anon.body)).toMatchObject({ ok: true, action: "stats" });
  }, 180_000);

  it("deno backend with jsr: imports: app deploy (runtime from info.yaml) fails offline naming the first jsr: specifier", async () => {
    const d = await cli(["app", "deploy", "acme-corp:events", "--code", "./events", "--tier", "small", "--allow-unauthenticated"]);
    expect(d.exitCode).not.toBe(0);
    expect(withoutTraces(d.stderr).join("\n")).toMatch(/jsr:@std\/(ulid|csv)@\^1/);
  }, 180_000);

  it("deno backend importing the platform's ignite/store: fails naming it (not provided locally)", async () => {
    const d = await cli(["app", "deploy", "acme-corp:notes", "--code", "./notes", "--tier", "small", "--allow-unauthenticated"]);
    expect(d.exitCode).not.toBe(0);
    expect(withoutTraces(d.stderr).join("\n")).toMatch(/store\.ts|ignite\/store/);
  }, 180_000);

  it("node frontend FROM node:22-alpine: app deploy --dockerfile-path Dockerfile --allow-unauthenticated deploys on the host driver", async () => {
    const d = await cli(["app", "deploy", "acme-corp:inbox-ui", "--code", "./web", "--dockerfile-path", "Dockerfile", "--allow-unauthenticated", "--tier", "small", "--env", "APP_URL=http://inbox-acme-corp.ignite.localhost/"]);
    expect(d.exitCode, d.stderr).toBe(0);
    const page = await gateway("inbox-ui-acme-corp.ignite.localhost", { method: "GET" });
    expect(page.status, page.body).toBe(200);
    expect(page.body).toMatch(/ui for http:\/\/inbox-acme-corp/);
  }, 180_000);
});
