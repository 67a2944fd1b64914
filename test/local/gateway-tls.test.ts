import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningControlPlane } from "../../src/local/control-plane.js";
import { removeDir, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { runCli } from "../helpers/run-cli.js";
import { TLS_TEST_TOKEN } from "../helpers/secrets.js";

// Under `dodil ignite dev --tls` the gateway serves HTTPS with the control plane's certificate, and
// the apps' public URLs say https: a client trusting ca.pem reaches `<app>-<org>.ignite.localhost`.
let fixture: TestControlPlane;
let plane: RunningControlPlane;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "ignite-gateway-tls-"));
  fixture = await startTestControlPlane({ dataDir: join(work, "data"), tokens: { [TLS_TEST_TOKEN]: "acme-corp" }, tls: "generate" });
  plane = fixture.plane;
  mkdirSync(join(work, "fn"));
  writeFileSync(join(work, "fn", "handler.py"), 'import json\n\ndef handler(payload, ctx):\n    return {"hello": json.loads(payload or b"{}").get("name", "world")}\n');
});

afterAll(async () => {
  await fixture?.stop();
  removeDir(work ?? "");
});

/** One POST to the gateway as `host`, over HTTPS trusting `ca` (or plain HTTP when `ca` is undefined). */
function post(host: string, ca: Buffer | undefined): Promise<{ status: number; body: string }> {
  const port = Number(new URL(plane.gatewayUrl).port);
  const options = { host: "127.0.0.1", port, method: "POST", path: "/", headers: { host: `${host}:${port}`, authorization: `Bearer ${TLS_TEST_TOKEN}`, "content-type": "application/json" } };
  return new Promise((resolve, reject) => {
    const done = (res: http.IncomingMessage) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    };
    const req = ca ? https.request({ ...options, ca, servername: host }, done) : http.request(options, done);
    req.on("error", reject);
    req.end('{"name": "tls"}');
  });
}

describe("the gateway under --tls", () => {
  it("serves the apps over HTTPS with a certificate for every app host, and their URLs say https", async () => {
    expect(plane.gatewayUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const env = { IGNITE_API_ENDPOINT: plane.grpcEndpoint, IGNITE_TOKEN: TLS_TEST_TOKEN, IGNITE_CA_CERT: plane.caCertFile as string };
    const deploy = await runCli(["ignite", "app", "deploy", "acme-corp:hello", "--code", "./fn", "--runtime", "python", "-o", "json"], { env, cwd: work });
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    const url = new URL(JSON.parse(deploy.stdout).url);
    expect(url.protocol).toBe("https:");
    expect(url.hostname).toBe("hello-acme-corp.ignite.localhost");

    const ca = readFileSync(plane.caCertFile as string);
    const answer = await post(url.hostname, ca);
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ hello: "tls" });
  });

  it("refuses plain HTTP and clients that do not trust the CA", async () => {
    await expect(post("hello-acme-corp.ignite.localhost", undefined)).rejects.toThrow(/socket hang up|ECONNRESET|Parse Error/);
    await expect(post("hello-acme-corp.ignite.localhost", Buffer.from(""))).rejects.toThrow(/self.signed|unable to (get|verify)/i);
  });
});
