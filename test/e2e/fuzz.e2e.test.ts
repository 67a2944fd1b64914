import { spawn, type ChildProcess } from "node:child_process";
import { cpSync } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { DescMethod } from "@bufbuild/protobuf";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildService } from "../../src/gen/dodil/ignite/v1/build_pb.js";
import { ComputeService } from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { rpcClient, type RpcClient } from "../helpers/rpc-client.js";
import { runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dirs.js";
import {
  GRPC_FRAME_KINDS,
  authorizationArb,
  generatedServices,
  grpcBody,
  hostileArchiveArb,
  httpBytes,
  httpRequestArb,
  prng,
  wellFramedArb,
  type GrpcFrameKind,
} from "../helpers/fuzz-inputs.js";

/**
 * The fuzz campaign: a running local control plane (`dodil ignite dev`, host driver) gets generated
 * hostile input on every listener it opens (gRPC, the HTTP gateway, the OAuth2 token endpoint):
 * raw bytes, malformed HTTP/1.1, hostile Basic/Bearer values, slow requests, malformed gRPC frames
 * and wrong-type/truncated protobuf for every RPC of every service in src/gen, and hostile archives
 * through the upload RPCs. After each batch the plane must still answer ListApps, the gateway
 * must still serve the published greeter and the token endpoint must still issue tokens; a
 * listener that answers a hostile request with a server error (HTTP 5xx, gRPC INTERNAL/UNKNOWN)
 * fails the campaign too.
 *
 * CI runs a short campaign. IGNITE_FUZZ_RUNS=N multiplies every batch (IGNITE_FUZZ_RUNS=20 for
 * the long run in bench/README.md); IGNITE_FUZZ_SEED replays a run.
 */
const SCALE = Math.max(1, Number(process.env.IGNITE_FUZZ_RUNS ?? 1));
const SEED = Number(process.env.IGNITE_FUZZ_SEED ?? Date.now() % 2 ** 31);
const BATCHES = 3;
const repo = join(import.meta.dirname, "..", "..");
const dodil = join(repo, "bin", "dodil.js");
const TOKEN = "fuzz-acme-token-0123456789abcdef";
const FUZZ_TOKEN = "fuzz-org-token-0123456789abcdef";
const SA_ID = "fuzz-sa";
const SA_SECRET = "fuzz-secret-0123456789";
const GREETER_HOST = "greeter-acme-corp.ignite.localhost";

interface Endpoints {
  grpc: string;
  gateway: { host: string; port: number };
  token: { host: string; port: number };
}

let plane: ChildProcess;
let planeLog = "";
let ep: Endpoints;
let acme: RpcClient<typeof ComputeService>;
let fuzzBuild: RpcClient<typeof BuildService>;
let fuzzCompute: RpcClient<typeof ComputeService>;
const exits: string[] = [];

/** Inputs sent per listener, and what came back, for the campaign's report. */
const sent: Record<string, number> = {};
const answers: Record<string, Record<string, number>> = {};
const serverErrors: string[] = [];
function count(listener: string, answer: string): void {
  sent[listener] = (sent[listener] ?? 0) + 1;
  const a = (answers[listener] ??= {});
  a[answer] = (a[answer] ?? 0) + 1;
}

const hostPort = (url: string) => {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
};

beforeAll(async () => {
  const work = tempDir("fuzz");
  cpSync(join(repo, "examples", "greeter"), join(work, "app"), { recursive: true });
  plane = spawn(
    process.execPath,
    [dodil, "ignite", "dev", "--listen", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--auth-listen", "127.0.0.1:0", "--data-dir", join(work, "data"), "--driver", "host",
      "--token", `acme-corp=${TOKEN}`, "--token", `fuzz-org=${FUZZ_TOKEN}`, "--service-account", `acme-corp:${SA_ID}=${SA_SECRET}`, "-o", "json"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  plane.stderr!.on("data", (c: Buffer) => {
    planeLog = (planeLog + c.toString("utf8")).slice(-200_000);
  });
  plane.on("exit", (code, signal) => exits.push(`the control plane exited (code ${code}, signal ${signal}); its last log lines:\n${planeLog.split("\n").slice(-30).join("\n")}`));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: plane.stdout! }).once("line", resolve);
    plane.once("exit", (code) => reject(new Error(`dev exited with ${code}: ${planeLog}`)));
  });
  const ready = JSON.parse(line) as { grpc_endpoint: string; gateway_url: string; token_url: string };
  ep = { grpc: ready.grpc_endpoint, gateway: hostPort(ready.gateway_url), token: hostPort(ready.token_url) };
  acme = rpcClient(ComputeService, ep.grpc, TOKEN);
  fuzzBuild = rpcClient(BuildService, ep.grpc, FUZZ_TOKEN);
  fuzzCompute = rpcClient(ComputeService, ep.grpc, FUZZ_TOKEN);
  const env = { IGNITE_API_ENDPOINT: ep.grpc, IGNITE_TOKEN: TOKEN, IGNITE_DEBUG: "1" };
  const deployed = await runCli(["ignite", "app", "deploy", "acme-corp:greeter", "--code", "app", "--dockerfile-path", "Dockerfile"], { env, cwd: work });
  if (deployed.exitCode !== 0) throw new Error(deployed.stderr);
  const target = await runCli(["ignite", "app", "create", "fuzz-org:target"], { env: { ...env, IGNITE_TOKEN: FUZZ_TOKEN } });
  if (target.exitCode !== 0) throw new Error(target.stderr);
  console.log(`fuzz campaign: seed ${SEED}, scale ${SCALE} (replay with IGNITE_FUZZ_SEED=${SEED} IGNITE_FUZZ_RUNS=${SCALE})`);
}, 180_000);

afterAll(async () => {
  acme?.close();
  fuzzBuild?.close();
  fuzzCompute?.close();
  const report = Object.entries(sent).map(([listener, n]) => `${listener}: ${n} inputs ${JSON.stringify(answers[listener])}`);
  console.log(`fuzz campaign (seed ${SEED}, scale ${SCALE}): ${Object.values(sent).reduce((a, b) => a + b, 0)} inputs, ${exits.length} crashes\n  ${report.join("\n  ")}`);
  if (plane && plane.exitCode === null) {
    const exited = new Promise((resolve) => plane.once("exit", resolve));
    plane.kill("SIGTERM");
    await exited;
  }
});

/** The plane is up and serves: ListApps, the gateway in front of the greeter, the token endpoint. */
async function expectServing(): Promise<void> {
  expect(exits).toEqual([]);
  const apps = await acme.listApps({ organizationName: "acme-corp" });
  expect(apps.apps.map((a) => a.id)).toContain("acme-corp/greeter");
  const health = await httpRequest(ep.gateway, { method: "GET", path: "/health", headers: { host: GREETER_HOST, authorization: `Bearer ${TOKEN}` } });
  expect(health.status, health.body).toBe(200);
  const basic = Buffer.from(`${SA_ID}:${SA_SECRET}`).toString("base64");
  const token = await httpRequest(ep.token, {
    method: "POST",
    path: "/oauth/token",
    headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials",
  });
  expect(token.status, token.body).toBe(200);
}

function httpRequest(to: { host: string; port: number }, o: { method: string; path: string; headers: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: to.host, port: to.port, method: o.method, path: o.path, headers: o.headers, agent: false, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end(o.body);
  });
}

/**
 * Sends raw bytes on a fresh TCP connection; resolves with the HTTP status code (suffixed "app"
 * when the gateway relayed the app's own answer) or "closed"/"reset"/"no answer".
 */
function sendRaw(to: { host: string; port: number }, bytes: Buffer, halfClose: boolean): Promise<string> {
  return new Promise((resolve) => {
    const socket: Socket = connect(to.port, to.host);
    let head = "";
    const done = (answer: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const answered = () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (!m) return head ? "not http" : undefined;
      return /\r\nx-ignite-execution-id:/i.test(head) ? `${m[1]} app` : m[1];
    };
    // A request the listener neither answers nor closes is a slow request it holds on to: fine, as
    // long as the listener keeps serving others (checked after the batch).
    const timer = setTimeout(() => done(answered() ?? "no answer"), 3000);
    socket.on("error", () => done(answered() ?? "reset"));
    socket.on("data", (c: Buffer) => {
      head += c.toString("latin1");
      if (head.includes("\r\n\r\n") || head.length > 16_384) done(answered() ?? "not http");
    });
    socket.on("end", () => done(answered() ?? "closed"));
    socket.on("connect", () => {
      socket.write(bytes);
      if (halfClose) socket.end();
    });
  });
}

/** Runs `inputs` through `send` with a few in flight at once. */
async function inParallel<T>(inputs: T[], send: (input: T) => Promise<void>, width = 6): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < inputs.length) await send(inputs[next++]!);
  }));
}

function httpCampaign(listener: "gateway" | "token", batch: number) {
  const to = listener === "gateway" ? ep.gateway : ep.token;
  const host = listener === "gateway" ? GREETER_HOST : `${to.host}:${to.port}`;
  const paths = listener === "gateway" ? ["/", "/health", "/missing"] : ["/oauth/token", "/", "/oauth/token/"];
  const arb = fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4096 }).map((b) => ({ kind: "random-bytes", bytes: Buffer.from(b), halfClose: true })) },
    { weight: 4, arbitrary: fc.tuple(httpRequestArb(host, paths, TOKEN), fc.boolean()).map(([spec, halfClose]) => ({ kind: "http", bytes: httpBytes(spec), halfClose })) },
    // Well framed, so the request reaches the handler: hostile only in its auth, form and target.
    { weight: 4, arbitrary: wellFramedArb(host, paths, TOKEN).map((spec) => ({ kind: "framed", bytes: httpBytes(spec), halfClose: false })) },
  );
  return fc.sample(arb, { numRuns: 60 * SCALE, seed: SEED + batch * 7919 + (listener === "gateway" ? 1 : 2) });
}

describe("fuzz campaign: no input brings a listener down", () => {
  it("the plane serves before the campaign", async () => {
    await expectServing();
  });

  for (let batch = 0; batch < BATCHES; batch++) {
    it(`batch ${batch + 1}: malformed HTTP, raw bytes and slow requests to the gateway and the token endpoint`, async () => {
      // Slow clients hold connections open with half a request while the batch and the health check run.
      const slow = [ep.gateway, ep.token, ep.gateway].map((to) => {
        const s = connect(to.port, to.host);
        s.on("error", () => {});
        s.write("POST /oauth/token HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\ngrant");
        return s;
      });
      for (const listener of ["gateway", "token"] as const) {
        const to = listener === "gateway" ? ep.gateway : ep.token;
        await inParallel(httpCampaign(listener, batch), async (input) => {
          const answer = await sendRaw(to, input.bytes, input.halfClose);
          count(listener, answer);
          // A 5xx the app itself sent, or the gateway's 502 for an app that did not answer, is data.
          if (/^5\d\d$/.test(answer) && !(listener === "gateway" && answer === "502")) serverErrors.push(`${listener} answered ${answer} to ${JSON.stringify(input.bytes.subarray(0, 300).toString("latin1"))}`);
        });
      }
      await expectServing();
      for (const s of slow) s.destroy();
      expect(serverErrors).toEqual([]);
    }, 300_000);

    it(`batch ${batch + 1}: raw bytes to the gRPC port, malformed frames and protobuf for every RPC`, async () => {
      const services = await generatedServices();
      const methods = services.flatMap((s) => s.methods);
      expect(methods.length).toBeGreaterThan(50);
      // Raw TCP: not HTTP/2 at all, or a preface followed by garbage.
      const raw = fc.sample(
        fc.oneof(fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)), fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Buffer.from(b)]))),
        { numRuns: 20 * SCALE, seed: SEED + batch },
      );
      const [gh, gp] = ep.grpc.split(":") as [string, string];
      await inParallel(raw, async (bytes) => count("grpc", `raw:${await sendRaw({ host: gh, port: Number(gp) }, bytes, true)}`));
      // Every method of every service gets each frame kind, with a hostile or a valid token of an org
      // (fuzz-org) that owns nothing the health check needs.
      const inputs = fc.sample(
        fc.record({ method: fc.constantFrom(...methods), other: fc.constantFrom(...methods), kind: fc.constantFrom(...GRPC_FRAME_KINDS), auth: fc.oneof(fc.constant(`Bearer ${FUZZ_TOKEN}`), authorizationArb(FUZZ_TOKEN)), seed: fc.integer() }),
        { numRuns: Math.max(methods.length * 2, 150) * SCALE, seed: SEED + 31 * batch },
      );
      // Each method at least once per frame kind in the first batch, so coverage does not depend on the draw.
      if (batch === 0) for (const [i, m] of methods.entries()) inputs.push({ method: m, other: methods[(i + 1) % methods.length]!, kind: GRPC_FRAME_KINDS[i % GRPC_FRAME_KINDS.length]!, auth: `Bearer ${FUZZ_TOKEN}`, seed: i });
      // One HTTP/2 connection, replaced when the server ends it (GOAWAY after a protocol error).
      let session: http2.ClientHttp2Session | undefined;
      const live = () => {
        if (!session || session.closed || session.destroyed) {
          session = http2.connect(`http://${ep.grpc}`);
          session.on("error", () => {});
        }
        return session;
      };
      try {
        await inParallel(inputs, async (input) => {
          const status = await grpcCall(live(), input.method, input.other, input.kind, input.auth, input.seed);
          count("grpc", status);
          if (status === "13" || status === "2") serverErrors.push(`gRPC ${input.method.parent.name}.${input.method.name} (${input.kind}) answered status ${status}`);
        });
      } finally {
        session?.close();
      }
      await expectServing();
      expect(serverErrors).toEqual([]);
    }, 300_000);

    it(`batch ${batch + 1}: hostile tar.gz and zip through UploadBuildContext and SaveDraft`, async () => {
      const archives = fc.sample(hostileArchiveArb, { numRuns: 12 * SCALE, seed: SEED + 17 * batch });
      await inParallel(archives, async ({ label, bytes }) => {
        const chunks = [];
        for (let off = 0; off < bytes.length; off += 1024 * 1024) chunks.push({ payload: { case: "chunk" as const, value: bytes.subarray(off, off + 1024 * 1024) } });
        const upload = await fuzzBuild
          .uploadBuildContext([{ payload: { case: "metadata", value: { name: `${label}.bin`, contentType: "application/octet-stream" } } }, ...chunks])
          .then(() => "OK", (e: { code?: number }) => String(e.code));
        count("grpc-upload", `${label}:${upload}`);
        const saved = await fuzzCompute
          .saveDraft({ organizationName: "fuzz-org", appName: "target", code: { source: { case: "compile", value: { runtime: { kind: { case: "python", value: {} } }, sourceCode: bytes } } } })
          .then(() => "OK", (e: { code?: number }) => String(e.code));
        count("grpc-upload", `${label}:save:${saved}`);
        for (const status of [upload, saved]) if (status === "13" || status === "2") serverErrors.push(`${label} upload answered status ${status}`);
      }, 2);
      await expectServing();
      expect(serverErrors).toEqual([]);
    }, 300_000);
  }
});

/** One raw gRPC call over HTTP/2: the grpc-status it ended with ("none" when the stream ended without one). */
function grpcCall(session: http2.ClientHttp2Session, method: DescMethod, other: DescMethod, kind: GrpcFrameKind, auth: string | undefined, seed: number): Promise<string> {
  return new Promise((resolve) => {
    const headers: http2.OutgoingHttpHeaders = { ":method": "POST", ":path": `/${method.parent.typeName}/${method.name}`, "content-type": "application/grpc", te: "trailers", "grpc-timeout": "3S" };
    if (auth !== undefined && !/[\r\n\0]/.test(auth)) headers["authorization"] = auth;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers);
    } catch {
      return resolve("refused by client");
    }
    let status = "none";
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      resolve("no answer");
    }, 15_000);
    const finish = () => {
      clearTimeout(timer);
      resolve(status);
    };
    stream.on("response", (h) => {
      if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]);
    });
    stream.on("trailers", (t) => {
      if (t["grpc-status"] !== undefined) status = String(t["grpc-status"]);
    });
    stream.on("data", () => {});
    stream.on("error", () => finish());
    stream.on("close", finish);
    stream.end(grpcBody(kind, method.input, other.input, prng(seed)));
  });
}
