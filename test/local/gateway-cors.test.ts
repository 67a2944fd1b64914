/**
 * CORS at the gateway, as on the platform: an app with anonymous invocation is CORS-open (the
 * gateway answers preflights itself, allowing `content-type`, and adds Access-Control-Allow-Origin:
 * * to answers, replacing the app's own CORS headers); an app without it gets no CORS allowance. And
 * the hostile inputs of that path: odd origins, header floods, preflights of unknown hosts.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACME_TOKEN } from "../helpers/control-plane.js";
import { startWorkspace, type Workspace } from "../helpers/workspace.js";

// An app that sets CORS headers of its own (which the gateway must not pass on) and counts calls.
const SERVER_PY = `import http.server, json, os
calls = {"n": 0}
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        calls["n"] += 1
        body = json.dumps({"method": self.command, "calls": calls["n"]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("access-control-allow-origin", "https://evil.example")
        self.send_header("access-control-allow-credentials", "true")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = do_OPTIONS = answer
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`;

let workspace: Workspace;
let gateway: URL;

function request(host: string, o: { method: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: gateway.hostname, port: Number(gateway.port), method: o.method, path: "/", headers: { host, ...(o.headers ?? {}) }, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString("utf8")));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(o.body);
  });
}

/** Raw bytes to the gateway; the status line's code (or "closed"). */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(Number(gateway.port), gateway.hostname, () => s.end(bytes));
    let got = "";
    s.on("data", (c: Buffer) => (got += c.toString("latin1")));
    s.on("error", () => undefined);
    s.on("close", () => resolve(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? "closed"));
  });
}

const preflight = { origin: "https://dashboard.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type" };

describe("CORS at the gateway", () => {
  beforeAll(async () => {
    workspace = await startWorkspace("gateway-cors");
    gateway = new URL(workspace.cp.plane.gatewayUrl);
    mkdirSync(join(workspace.work, "corsapp"));
    writeFileSync(join(workspace.work, "corsapp", "server.py"), SERVER_PY);
    writeFileSync(join(workspace.work, "corsapp", "Dockerfile"), 'FROM python:3.12-slim\nCOPY server.py /app/server.py\nUSER 65534\nCMD ["python3", "/app/server.py"]\n');
    for (const [app, extra] of [["open", ["--allow-unauthenticated"]], ["private", []]] as const) {
      const r = await workspace.cli(["app", "deploy", `acme-corp:${app}`, "--code", "./corsapp", "--dockerfile-path", "Dockerfile", "--health-path", "/", ...extra]);
      expect(r.exitCode, r.stderr).toBe(0);
    }
  }, 120_000);

  afterAll(async () => {
    await workspace?.close();
  });

  const host = (app: string) => `${app}-acme-corp.ignite.localhost`;

  it("answers an anonymous app's preflight itself, allowing content-type, and the app never sees it", async () => {
    const before = JSON.parse((await request(host("open"), { method: "POST", body: "{}" })).body).calls as number;
    const r = await request(host("open"), { method: "OPTIONS", headers: preflight });
    expect(r.status).toBe(204);
    expect(r.headers["access-control-allow-origin"]).toBe("*");
    expect(r.headers["access-control-allow-headers"]).toBe("content-type");
    expect(r.headers["access-control-allow-methods"]).toMatch(/\bPOST\b/);
    expect(r.headers["access-control-allow-credentials"]).toBeUndefined();
    const after = JSON.parse((await request(host("open"), { method: "POST", body: "{}" })).body).calls as number;
    expect(after).toBe(before + 1);
  });

  it("adds Access-Control-Allow-Origin: * to an anonymous app's answers, in place of the app's own CORS headers", async () => {
    const r = await request(host("open"), { method: "POST", headers: { origin: "https://dashboard.example", "content-type": "application/json" }, body: "{}" });
    expect(r.status).toBe(200);
    expect(r.headers["access-control-allow-origin"]).toBe("*");
    expect(r.headers["access-control-allow-credentials"]).toBeUndefined();
  });

  it("gives an app without anonymous invocation no CORS allowance: preflight 401, answers without CORS headers", async () => {
    const pre = await request(host("private"), { method: "OPTIONS", headers: preflight });
    expect(pre.status).toBe(401);
    expect(pre.headers["access-control-allow-origin"]).toBeUndefined();
    const r = await request(host("private"), { method: "POST", headers: { origin: "https://dashboard.example", authorization: `Bearer ${ACME_TOKEN}` }, body: "{}" });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).method).toBe("POST");
    expect(Object.keys(r.headers).filter((k) => k.startsWith("access-control-"))).toEqual([]);
  });

  it("an OPTIONS that is not a preflight (no Access-Control-Request-Method) goes to the app", async () => {
    const r = await request(host("open"), { method: "OPTIONS", headers: { origin: "https://x.example" } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).method).toBe("OPTIONS");
  });

  it("hostile preflights: odd origins are never echoed, floods and unknown hosts are answered plainly, and the gateway keeps serving", async () => {
    for (const origin of ["null", "https://a.example\u00ff", "*", "x".repeat(4000), "javascript:alert(1)"]) {
      const r = await request(host("open"), { method: "OPTIONS", headers: { ...preflight, origin } });
      expect(r.status, origin.slice(0, 20)).toBe(204);
      expect(r.headers["access-control-allow-origin"]).toBe("*");
    }
    const flood = await request(host("open"), { method: "OPTIONS", headers: { ...preflight, "access-control-request-headers": Array.from({ length: 500 }, (_, i) => `x-h${i}`).join(",") } });
    expect(flood.status).toBe(204);
    expect(flood.headers["access-control-allow-headers"]).toBe("content-type");
    const unknown = await request("nobody-acme-corp.ignite.localhost", { method: "OPTIONS", headers: preflight });
    expect(unknown.status).toBe(404);
    expect(unknown.headers["access-control-allow-origin"]).toBeUndefined();
    // a header line split across CR/LF, an oversized header block, a bare preflight without a host
    expect(await raw(`OPTIONS / HTTP/1.1\r\nhost: ${host("open")}\r\norigin: a\r\n b\r\naccess-control-request-method: POST\r\n\r\n`)).toMatch(/^(204|400|closed)$/);
    expect(await raw(`OPTIONS / HTTP/1.1\r\nhost: ${host("open")}\r\norigin: ${"o".repeat(70_000)}\r\naccess-control-request-method: POST\r\n\r\n`)).toMatch(/^(431|400|closed)$/);
    expect(await raw("OPTIONS / HTTP/1.1\r\norigin: a\r\naccess-control-request-method: POST\r\n\r\n")).toMatch(/^(400|404|closed)$/);
    expect((await request(host("open"), { method: "POST", body: "{}" })).status).toBe(200);
  });
});
