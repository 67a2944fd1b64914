import * as http from "node:http";
import * as http2 from "node:http2";
import { connect } from "node:net";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ComputeService } from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { ACME_TOKEN, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { rpcError } from "../helpers/rpc-client.js";

/**
 * Each listener of the plane handles every request inside its own error boundary: the known
 * plane-killers and misreports, one by one (the fuzz campaign in test/e2e/fuzz.e2e.test.ts looks for
 * the unknown ones).
 */
let cp: TestControlPlane;
const logs: string[] = [];
let token: { host: string; port: number };
let gateway: { host: string; port: number };

const hostPort = (url: string) => {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
};

beforeAll(async () => {
  cp = await startTestControlPlane({ label: "boundaries", serviceAccounts: [{ id: "sa", org: "acme-corp", secret: "s3cret" }], log: (l) => logs.push(l) });
  token = hostPort(cp.plane.tokenUrl);
  gateway = hostPort(cp.plane.gatewayUrl);
});

afterAll(async () => {
  await cp?.stop();
});

function request(to: { host: string; port: number }, o: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...to, method: o.method ?? "POST", path: o.path, headers: o.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(o.body);
  });
}

/** Raw bytes on a fresh connection; the status code of the answer. */
function raw(to: { host: string; port: number }, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(to.port, to.host, () => s.end(bytes));
    let got = "";
    s.on("data", (c: Buffer) => (got += c.toString("latin1")));
    s.on("error", () => resolve(got.slice(9, 12) || "reset"));
    s.on("close", () => resolve(got.slice(9, 12) || "closed"));
  });
}

const basic = (s: string) => `Basic ${Buffer.from(s).toString("base64")}`;
const form = { "content-type": "application/x-www-form-urlencoded" };

async function tokenEndpointWorks(): Promise<void> {
  const ok = await request(token, { path: "/oauth/token", headers: { ...form, authorization: basic("sa:s3cret") }, body: "grant_type=client_credentials" });
  expect(ok.status, ok.body).toBe(200);
}

describe("token endpoint", () => {
  it("a malformed percent-encoding in Basic credentials is a 400, and the plane serves on (it used to exit with URIError)", async () => {
    for (const credentials of ["%zz:secret", "sa:%E0%A4%A", "%:%"]) {
      const res = await request(token, { path: "/oauth/token", headers: { ...form, authorization: basic(credentials) }, body: "grant_type=client_credentials" });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ error: "invalid_request", error_description: expect.stringContaining("Basic credentials") });
    }
    expect(logs.some((l) => l.includes("token endpoint: POST /oauth/token -> 400 invalid_request"))).toBe(true);
    await tokenEndpointWorks();
  });

  it("a request target that is not a URL is a 404, not a crash", async () => {
    expect(await raw(token, "POST http://[::1 HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n")).toBe("404");
    await tokenEndpointWorks();
  });

  it("an oversized form is a 413", async () => {
    const res = await request(token, { path: "/oauth/token", headers: form, body: Buffer.alloc(200_000, 0x61) });
    expect(res.status).toBe(413);
    await tokenEndpointWorks();
  });
});

describe("bearer tokens with a space are invalid, not missing", () => {
  it("gRPC", async () => {
    const error = await rpcError(cp.client(ComputeService, "a b").listApps({ organizationName: "acme-corp" }));
    expect(error.code).toBe(status.UNAUTHENTICATED);
    expect(error.details).toMatch(/^invalid token/);
  });

  it("gateway", async () => {
    await cp.compute.createApp({ organizationName: "acme-corp", name: "bearer" });
    const host = "bearer-acme-corp.ignite.localhost";
    const res = await request(gateway, { method: "GET", path: "/", headers: { host, authorization: `Bearer ${ACME_TOKEN} extra` } });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).error).toBe("invalid token");
    const none = await request(gateway, { method: "GET", path: "/", headers: { host, authorization: "Bearer " } });
    expect(JSON.parse(none.body).error).toBe("missing bearer token");
  });
});

describe("gRPC", () => {
  /** One raw call; its grpc-status and grpc-message. */
  function rawCall(path: string, body: Buffer): Promise<{ code: number; message: string }> {
    return new Promise((resolve, reject) => {
      const session = http2.connect(`http://${cp.plane.grpcEndpoint}`);
      session.on("error", reject);
      const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", authorization: `Bearer ${ACME_TOKEN}` });
      let code = -1;
      let message = "";
      const take = (h: http2.IncomingHttpHeaders) => {
        if (h["grpc-status"] !== undefined) code = Number(h["grpc-status"]);
        if (h["grpc-message"] !== undefined) message = decodeURIComponent(String(h["grpc-message"]));
      };
      stream.on("response", take);
      stream.on("trailers", take);
      stream.on("data", () => {});
      stream.on("close", () => {
        session.close();
        resolve({ code, message });
      });
      stream.end(body);
    });
  }
  const frame = (payload: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, payload.length]), payload]);

  it("a truncated protobuf message is INVALID_ARGUMENT naming the type, not INTERNAL", async () => {
    // field 1 (organization_name), length 10, but only 2 bytes follow
    const res = await rawCall("/dodil.ignite.v1.ComputeService/ListApps", frame(Buffer.from([0x0a, 0x0a, 0x61, 0x62])));
    expect(res.code).toBe(status.INVALID_ARGUMENT);
    expect(res.message).toContain("not a valid dodil.ignite.v1.ListAppsRequest message");
    expect(logs.some((l) => l.includes("ComputeService/ListApps: refused a malformed dodil.ignite.v1.ListAppsRequest"))).toBe(true);
  });

  it("a client-stream message of the wrong wire type is INVALID_ARGUMENT too", async () => {
    // field 2 (chunk, bytes) sent as a varint of an unterminated continuation
    const res = await rawCall("/dodil.ignite.v1.BuildService/UploadBuildContext", frame(Buffer.from([0x10, 0xff, 0xff])));
    expect(res.code).toBe(status.INVALID_ARGUMENT);
  });

  it("an Invoke header the app could not be sent is INVALID_ARGUMENT, not 'did not answer on its port'", async () => {
    const refused: Array<Record<string, string>> = [{ "x-a": "line\r\nx-b: injected" }, { "bad name": "v" }];
    for (const headers of refused) {
      const error = await rpcError(cp.compute.invoke({ organizationName: "acme-corp", appName: "greeter", http: { method: "POST", path: "/", headers }, body: new Uint8Array() }));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(error.details).toMatch(/invalid HTTP header/);
    }
    const error = await rpcError(cp.compute.invoke({ organizationName: "acme-corp", appName: "greeter", http: { method: "GET", path: "/a b" }, body: new Uint8Array() }));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
  });
});
