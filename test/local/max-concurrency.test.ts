/**
 * `max_concurrency` as a hard per-replica limit (runtime/): calls beyond it wait in a FIFO queue,
 * give up with RESOURCE_EXHAUSTED / HTTP 429 after their wait bound, move to the new version on a
 * publish and fail promptly when the app stops. Host driver, Python managed runtime (its server is
 * threaded, so the app itself would take every call at once).
 *
 * Nothing here waits on real time: a call in the app says so in the app's log ("started <id>") and
 * is held there until the test opens its gate (a file); a call waiting for a slot holds a timer on
 * the plane's fake clock (its wait bound), so the test sees it queue and decides when the bound
 * passes. The tests run one after another, as they share that clock.
 */
import { chmodSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  CreateAppRequestSchema,
  InvokeRequestSchema,
  PublishDraftRequestSchema,
  SaveDraftRequestSchema,
  UpdateAppConfigRequestSchema,
} from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import type { RunningControlPlane } from "../../src/local/control-plane.js";
import { ACME_TOKEN, startTestControlPlane, type ComputeClient, type TestControlPlane } from "../helpers/control-plane.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { grpcCode } from "../helpers/rpc-client.js";
import { tempDir, untilLogLine } from "./helpers.js";

let fixture: TestControlPlane;
let cp: RunningControlPlane;
let c: ComputeClient;
const clock = new FakeClock();
let gates: string;

/**
 * Logs "started <id>", then waits for its gate file (or sleeps `sleep` s), and reports when it ran,
 * how many calls the process was serving when it began and every call id the process has seen.
 */
const HANDLER_PY = `
import json, os, sys, threading, time
lock = threading.Lock()
serving = [0]
seen = []

def handler(payload, ctx):
    req = json.loads(payload) if payload else {}
    with lock:
        serving[0] += 1
        at_start = serving[0]
        seen.append(req.get("id"))
        # one write under the lock: lines of concurrent calls must not interleave
        sys.stdout.write("started %s\\n" % req.get("id"))
        sys.stdout.flush()
    start = time.time()
    gate = req.get("gate")
    if gate:
        while not os.path.exists(gate):
            time.sleep(0.01)
    else:
        time.sleep(req.get("sleep", 0))
    with lock:
        serving[0] -= 1
    return {"id": req.get("id"), "start": start, "end": time.time(), "concurrent": at_start, "tag": "__TAG__", "pid": os.getpid(), "seen": list(seen)}
`;

interface Ran {
  id: number | string;
  start: number;
  end: number;
  concurrent: number;
  tag: string;
  pid: number;
  seen: Array<number | string>;
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

const peak = (runs: Ran[]) => Math.max(...runs.map((r) => r.concurrent));

let gateCount = 0;
/** A gate: a call given its path waits in the app until open() creates the file. */
function gate(): { path: string; open: () => void } {
  const file = join(gates, `gate-${++gateCount}`);
  return { path: file, open: () => writeFileSync(file, "") };
}

/** Resolves once the app logged that the call `id` is being served. */
const started = (app: string, id: number | string) => untilLogLine(c, app, (l) => l.message === `started ${id}`);

/** Starts `call` and waits until it waits for a slot (`queued` waiters then, in all); its result in a box, to await later. */
async function queue<T>(queued: number, call: () => Promise<T>): Promise<{ result: Promise<T> }> {
  const waiting = clock.whenPending(queued);
  const result = call();
  result.catch(() => undefined);
  await waiting;
  return { result };
}

/** Whether `p` has settled (its callbacks ran before this one's). */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise<void>((r) => setImmediate(r));
  return done;
}

beforeAll(async () => {
  gates = tempDir("gates");
  // as root the host driver runs each app as a user of its own: the gates must be open to it
  chmodSync(gates, 0o755);
  fixture = await startTestControlPlane({ label: "maxconc", clock });
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

describe("max_concurrency is a hard limit per replica", () => {
  it("max_concurrency=1: calls run one at a time, in arrival order, and all succeed", async () => {
    const g = gate();
    const calls = [invoke("one", { id: 0, gate: g.path })];
    await started("one", 0);
    // Each next call arrives once the ones before it wait: the arrival order is 0, 1, 2, 3.
    for (let i = 1; i < 4; i++) calls.push((await queue(i, () => invoke("one", { id: i, sleep: 0.05 }))).result);
    g.open();
    const runs = await Promise.all(calls);
    expect(runs.map((r) => r.id)).toEqual([0, 1, 2, 3]);
    expect(peak(runs)).toBe(1);
    const byStart = [...runs].sort((a, b) => a.start - b.start);
    expect(byStart.map((r) => r.id)).toEqual([0, 1, 2, 3]);
    for (let i = 1; i < byStart.length; i++) expect(byStart[i]!.start).toBeGreaterThanOrEqual(byStart[i - 1]!.end);
  });

  it("max_concurrency=2: never more than 2 calls at once in the replica", async () => {
    const g = gate();
    const calls = [0, 1].map((i) => invoke("two", { id: i, gate: g.path }));
    await Promise.all([started("two", 0), started("two", 1)]);
    for (let i = 2; i < 4; i++) calls.push((await queue(i - 1, () => invoke("two", { id: i, gate: g.path }))).result);
    g.open();
    const runs = await Promise.all(calls);
    expect(peak(runs)).toBe(2);
  });

  it("max_concurrency=0 (unset): concurrent calls are served together", async () => {
    const g = gate();
    const calls = [0, 1, 2].map((i) => invoke("unset", { id: i, gate: g.path }));
    // all three are in the app at once, none waits for a slot
    await Promise.all([0, 1, 2].map((i) => started("unset", i)));
    expect(clock.pendingTimeouts()).toBe(0);
    g.open();
    const runs = await Promise.all(calls);
    expect(peak(runs)).toBe(3);
  });

  it("a call that finds no slot within its wait bound fails: RESOURCE_EXHAUSTED on gRPC, 429 with Retry-After on the gateway", async () => {
    // The gateway call holds the only slot until its gate opens (the gateway applies no call timeout).
    const g = gate();
    const holder = gateway("slow", { id: "holder", gate: g.path });
    await started("slow", "holder");
    const rpc = (await queue(1, () => invoke("slow", { id: "rpc" }))).result;
    const gw = (await queue(2, () => gateway("slow", { id: "gw" }))).result;
    // timeout_secs 1 bounds the wait for a slot to 1 s
    clock.advance(1_000);
    const [rpcError, gwAnswer] = await Promise.all([rpc.catch((e: unknown) => e), gw]);
    expect(grpcCode(rpcError)).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const msg = "app acme-corp/slow is at max_concurrency (1 per replica, 1 replica): no slot freed within 1s";
    expect((rpcError as grpc.ServiceError).details).toBe(msg);
    expect(gwAnswer.status).toBe(429);
    expect(gwAnswer.headers["retry-after"]).toBe("1");
    expect(gwAnswer.json.error).toBe(msg);
    // they gave up while the slot was still taken
    expect(await settled(holder)).toBe(false);
    g.open();
    expect((await holder).status).toBe(200);
  });

  it("a gRPC caller whose deadline passes while it waits leaves the queue: the next caller is served first", async () => {
    const g = gate();
    const holder = invoke("leave", { id: 1, gate: g.path });
    await started("leave", 1);
    // Waits behind the holder, then its 300 ms deadline passes; served anyway, it would hold the slot for 1 s.
    const abandoned = (await queue(1, () => invoke("leave", { id: 2, sleep: 1.0 }, 300))).result;
    expect(grpcCode(await abandoned.catch((e: unknown) => e))).toBe(grpc.status.DEADLINE_EXCEEDED);
    await clock.whenPending(0); // it left the queue
    const next = (await queue(1, () => invoke("leave", { id: 3, sleep: 0 }))).result;
    g.open();
    const [first, third] = await Promise.all([holder, next]);
    // the next caller was served right after the holder: the abandoned call never reached the app…
    expect(third.seen).toEqual([1, 3]);
    expect(first.id).toBe(1);
    // …which served the next one alone.
    expect(third.concurrent).toBe(1);
  });

  it("a waiting call makes the app scale out (up to max_replicas) and is served by the new replica", async () => {
    const g = gate();
    const first = invoke("pair", { id: "first", gate: g.path });
    await started("pair", "first");
    const second = await invoke("pair", { id: "second", sleep: 0 });
    expect(await settled(first)).toBe(false);
    g.open();
    const held = await first;
    expect(second.pid).not.toBe(held.pid);
    expect(second.end).toBeLessThan(held.end);
    expect(second.concurrent).toBe(1);
  });
});

describe("queued calls across version changes and stops", () => {
  it("a publish hands queued calls to the new version; a restart fails them with UNAVAILABLE", async () => {
    const g1 = gate();
    const holder = gateway("swap", { id: "h1", gate: g1.path });
    await started("swap", "h1");
    const queued = (await queue(1, () => invoke("swap", { id: "q1", sleep: 0 }))).result;
    await c.saveDraft(create(SaveDraftRequestSchema, { appName: "swap", code: code("v2") }));
    // The publish returns once the old replica drained, which the held call keeps from happening.
    const publishing = c.publishDraft(create(PublishDraftRequestSchema, { appName: "swap" }));
    const served = await queued;
    expect(served.version).toBe(2);
    expect(served.tag).toBe("v2");
    expect(await settled(holder)).toBe(false);
    g1.open();
    await publishing;
    const held = await holder;
    expect(held.status).toBe(200);
    // served at the swap, not after the old replica finished its call
    expect(served.end).toBeLessThan(held.json.end!);

    // A config change that restarts the app stops its replicas: a queued call fails at once.
    const g2 = gate();
    const holder2 = gateway("swap", { id: "h2", gate: g2.path });
    holder2.catch(() => undefined);
    await started("swap", "h2");
    const queued2 = (await queue(1, () => invoke("swap", { id: "q2", sleep: 0 }))).result;
    await c.updateAppConfig(create(UpdateAppConfigRequestSchema, { appName: "swap", envSet: { RESTART: "1" } }));
    const err = await queued2.catch((e: unknown) => e);
    // The clock never moved: no wait bound ended it, the stop did.
    expect(grpcCode(err)).toBe(grpc.status.UNAVAILABLE);
    expect((err as grpc.ServiceError).details).toBe("app acme-corp/swap was stopped while the call waited for a slot");
    g2.open();
    await holder2.catch(() => undefined);
  });
});
