/**
 * `max_concurrency` as a hard per-replica limit (runtime.ts): calls beyond it wait in a FIFO queue,
 * give up with RESOURCE_EXHAUSTED / HTTP 429 after their wait bound, move to the new version on a
 * publish and fail promptly when the app stops. Host driver, Python managed runtime (its server is
 * threaded, so the app itself would take every call at once).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import * as http from "node:http";
import {
  CreateAppRequestSchema,
  InvokeRequestSchema,
  PublishDraftRequestSchema,
  SaveDraftRequestSchema,
  UpdateAppConfigRequestSchema,
} from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import type { RunningControlPlane } from "../../src/local/control-plane.js";
import { ACME_TOKEN, startTestControlPlane, type ComputeClient, type TestControlPlane } from "../helpers/control-plane.js";
import { grpcCode } from "../helpers/rpc-client.js";

let fixture: TestControlPlane;
let cp: RunningControlPlane;
let c: ComputeClient;

/** Sleeps `sleep` s and reports when it ran and how many calls the process was serving when it began. */
const HANDLER_PY = `
import json, os, threading, time
lock = threading.Lock()
serving = [0]

def handler(payload, ctx):
    req = json.loads(payload) if payload else {}
    with lock:
        serving[0] += 1
        at_start = serving[0]
    start = time.time()
    time.sleep(req.get("sleep", 0.3))
    with lock:
        serving[0] -= 1
    return {"id": req.get("id"), "start": start, "end": time.time(), "concurrent": at_start, "tag": "__TAG__", "pid": os.getpid()}
`;

interface Ran {
  id: number;
  start: number;
  end: number;
  concurrent: number;
  tag: string;
  pid: number;
}

function code(tag = "v1") {
  return { source: { case: "compile" as const, value: { runtime: { kind: { case: "python" as const, value: {} } }, sourceCode: Buffer.from(HANDLER_PY.replace("__TAG__", tag)) } } };
}

/** Creates and publishes the app (version 1). */
async function publishApp(name: string, maxConcurrency: number, extra: Record<string, unknown> = {}): Promise<void> {
  await c.createApp(create(CreateAppRequestSchema, { name, maxConcurrency, scaling: { maxReplicas: 1 }, code: code(), ...extra }));
  await c.publishDraft(create(PublishDraftRequestSchema, { appName: name }));
}

async function invoke(app: string, body: Record<string, unknown>, deadlineMs?: number): Promise<Ran & { version: number }> {
  const frames = await c.invoke(create(InvokeRequestSchema, { appName: app, http: { method: "POST", path: "/" }, body: Buffer.from(JSON.stringify(body)) }), { deadlineMs });
  const head = frames[0]?.frame.case === "head" ? frames[0].frame.value : undefined;
  const out = Buffer.concat(frames.filter((f) => f.frame.case === "bodyChunk").map((f) => f.frame.value as Uint8Array));
  return { ...(JSON.parse(out.toString("utf8")) as Ran), version: head?.version ?? 0 };
}

function gateway(app: string, body: Record<string, unknown>): Promise<{ status: number; headers: http.IncomingHttpHeaders; json: Record<string, unknown> & Partial<Ran> }> {
  const u = new URL(cp.gatewayUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method: "POST", path: "/", headers: { host: `${app}-acme-corp.ignite.localhost`, authorization: `Bearer ${ACME_TOKEN}`, "content-type": "application/json" } },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(Buffer.concat(parts).toString("utf8") || "{}") }));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const peak = (runs: Ran[]) => Math.max(...runs.map((r) => r.concurrent));

/** Starts `n` calls `gapMs` apart (so their arrival order is known) and waits for all. */
function staggered<T>(n: number, gapMs: number, call: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => sleep(i * gapMs).then(() => call(i))));
}

beforeAll(async () => {
  fixture = await startTestControlPlane({ label: "maxconc" });
  ({ plane: cp, compute: c } = fixture);
  await Promise.all([
    publishApp("one", 1),
    publishApp("two", 2),
    publishApp("unset", 0),
    // timeout_secs 1 bounds the wait for a slot to 1 s
    publishApp("slow", 1, { limits: { timeoutSecs: 1 } }),
    publishApp("swap", 1),
    publishApp("pair", 1, { scaling: { maxReplicas: 2 } }),
    publishApp("leave", 1),
  ]);
});

afterAll(async () => {
  await fixture?.stop();
});

describe.concurrent("max_concurrency is a hard limit per replica", () => {
  it("max_concurrency=1: calls run one at a time, in arrival order, and all succeed", async () => {
    const runs = await staggered(4, 80, (i) => invoke("one", { id: i, sleep: 0.3 }));
    expect(runs.map((r) => r.id)).toEqual([0, 1, 2, 3]);
    expect(peak(runs)).toBe(1);
    const byStart = [...runs].sort((a, b) => a.start - b.start);
    expect(byStart.map((r) => r.id)).toEqual([0, 1, 2, 3]);
    for (let i = 1; i < byStart.length; i++) expect(byStart[i]!.start).toBeGreaterThanOrEqual(byStart[i - 1]!.end);
  });

  it("max_concurrency=2: never more than 2 calls at once in the replica", async () => {
    const runs = await staggered(4, 0, (i) => invoke("two", { id: i, sleep: 0.3 }));
    expect(peak(runs)).toBe(2);
  });

  it("max_concurrency=0 (unset): concurrent calls are served together", async () => {
    const runs = await staggered(3, 0, (i) => invoke("unset", { id: i, sleep: 0.3 }));
    expect(peak(runs)).toBe(3);
  });

  it("a call that finds no slot within its wait bound fails: RESOURCE_EXHAUSTED on gRPC, 429 with Retry-After on the gateway", async () => {
    // The gateway call holds the only slot for 1.6 s (the gateway applies no call timeout).
    const holder = gateway("slow", { sleep: 1.6 });
    await sleep(200);
    const started = Date.now();
    const [rpc, gw] = await Promise.all([invoke("slow", { sleep: 0 }).catch((e: unknown) => e), gateway("slow", { sleep: 0 })]);
    expect(Date.now() - started).toBeLessThan(1_400);
    expect(grpcCode(rpc)).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const msg = "app acme-corp/slow is at max_concurrency (1 per replica, 1 replica): no slot freed within 1s";
    expect((rpc as grpc.ServiceError).details).toBe(msg);
    expect(gw.status).toBe(429);
    expect(gw.headers["retry-after"]).toBe("1");
    expect(gw.json.error).toBe(msg);
    expect((await holder).status).toBe(200);
  });

  it("a gRPC caller whose deadline passes while it waits leaves the queue: the next caller is served first", async () => {
    const holder = invoke("leave", { id: 1, sleep: 1.0 });
    await sleep(150);
    // Waits behind the holder, then its 300 ms deadline passes; served anyway, it would hold the slot for 1 s.
    const abandoned = invoke("leave", { id: 2, sleep: 1.0 }, 300).catch((e: unknown) => e);
    await sleep(350);
    const next = invoke("leave", { id: 3, sleep: 0 });
    expect(grpcCode(await abandoned)).toBe(grpc.status.DEADLINE_EXCEEDED);
    const [first, third] = await Promise.all([holder, next]);
    expect(third.start - first.end).toBeLessThan(0.5);
    // …and the abandoned call never reached the app, which served the next one alone.
    expect(third.concurrent).toBe(1);
  });

  it("a waiting call makes the app scale out (up to max_replicas) and is served by the new replica", async () => {
    const first = invoke("pair", { sleep: 1.2 });
    await sleep(100);
    const second = await invoke("pair", { sleep: 0 });
    const held = await first;
    expect(second.pid).not.toBe(held.pid);
    expect(second.end).toBeLessThan(held.end);
    expect(second.concurrent).toBe(1);
  });
});

describe("queued calls across version changes and stops", () => {
  it("a publish hands queued calls to the new version; a restart fails them with UNAVAILABLE", async () => {
    const holder = gateway("swap", { sleep: 2 });
    await sleep(200);
    const queued = invoke("swap", { sleep: 0 });
    await c.saveDraft(create(SaveDraftRequestSchema, { appName: "swap", code: code("v2") }));
    await c.publishDraft(create(PublishDraftRequestSchema, { appName: "swap" }));
    const served = await queued;
    expect(served.version).toBe(2);
    expect(served.tag).toBe("v2");
    const held = await holder;
    expect(held.status).toBe(200);
    // served at the swap, not after the old replica finished its call
    expect(served.end).toBeLessThan(held.json.end!);

    // A config change that restarts the app stops its replicas: a queued call fails at once.
    const holder2 = gateway("swap", { sleep: 2 });
    await sleep(200);
    const queued2 = invoke("swap", { sleep: 0 }).catch((e: unknown) => e);
    await sleep(100);
    const stoppedAt = Date.now();
    await c.updateAppConfig(create(UpdateAppConfigRequestSchema, { appName: "swap", envSet: { RESTART: "1" } }));
    const err = await queued2;
    expect(Date.now() - stoppedAt).toBeLessThan(1_000);
    expect(grpcCode(err)).toBe(grpc.status.UNAVAILABLE);
    expect((err as grpc.ServiceError).details).toBe("app acme-corp/swap was stopped while the call waited for a slot");
    await holder2.catch(() => undefined);
  });
});
