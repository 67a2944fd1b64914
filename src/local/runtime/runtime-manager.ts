/**
 * Runtime manager: a pool of replicas per app (all of the active version's), cold starts on demand
 * with de-duplication, readiness probing, swap-then-drain on publish/rollback, scale-out on
 * concurrency up to `max_replicas`, idle scale-to-zero down to `reserved_capacity`.
 *
 * Scaling rules (the local stand-in for the platform's autoscaler):
 * - every call takes a replica (the least busy one) and releases it when done (`inflight`);
 * - when every replica already serves `target` calls (the app's `max_concurrency`, else the scaling
 *   target, else 1) a new replica starts in the background;
 * - without `max_concurrency` that target is soft: the call is served by the least busy existing
 *   replica (no call waits for a scale-out, only for a cold start from zero);
 * - with `max_concurrency` > 0 it is a hard limit per replica, as on the platform: a call only gets a
 *   replica serving fewer calls, else it waits in a FIFO queue (per app, so a publish/rollback swap
 *   hands it to the new replicas) until a call ends or a scale-out adds a replica; queued calls count
 *   as load for scale-out. It gives up after its wait bound (QUEUE_TIMEOUT_MS or less, see
 *   WaitOptions) with RESOURCE_EXHAUSTED, or UNAVAILABLE when the app or the control plane stops;
 * - replicas idle (no call in flight) for longer than the idle period are stopped, keeping
 *   `reserved_capacity` warm; reserved replicas are started (topped up) by the reaper;
 * - a new active version (publish, rollback) replaces the pool; the old replicas finish the calls
 *   they are serving (up to DRAIN_MS) before they stop.
 *
 * Its parts in this room: replica.ts (what a replica is), scale-policy.ts, call-wait.ts (the
 * max_concurrency wait), readiness-probe.ts and run-as-non-root.ts (the image USER rule).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { DEFAULT_NON_ROOT_USER, type Driver, type RunningInstance } from "../drivers/types.js";
import { systemClock, type Clock, type ClockTimer } from "../../clock.js";
import { errorMessage, failedPrecondition, resourceExhausted, unavailable } from "../errors.js";
import { ulid } from "../ids.js";
import { freePort } from "../net.js";
import type { Store } from "../store/store.js";
import { waitReady } from "./readiness-probe.js";
import { runAsNonRootViolation } from "./run-as-non-root.js";
import { DEFAULT_POLICY, normalizePolicy, type ScalePolicy } from "./scale-policy.js";

import { cancelledWhileWaiting, formatWait, QUEUE_TIMEOUT_MS, stoppedWhileWaiting, type Waiter, type WaitOptions } from "./call-wait.js";
import type { AppRunSpec, Slot } from "./replica.js";

/** One line an app's replica wrote (or the runtime wrote about it, e.g. an OOM kill). */
export interface ReplicaLine {
  version: number;
  replicaId: string;
  stream: "stdout" | "stderr";
  line: string;
}

/** Observers of app output and lifecycle (logs and events, see observability/observability-hub.ts). */
export interface RuntimeHooks {
  output?: (key: string, line: ReplicaLine) => void;
  event?: (key: string, reason: "VersionStarted" | "ColdStart" | "ScaledToZero" | "ReplicaStopped" | "Crashed" | "StartFailed", message: string, replicaId: string) => void;
}

/** How long old replicas may finish their calls after a new version took over. */
export const DRAIN_MS = 30_000;

interface Pool {
  version: number;
  replicas: Slot[];
  /** Scale-out starts in progress. */
  starting: number;
  policy: ScalePolicy;
  spec?: () => Promise<AppRunSpec>;
}

export interface Lease {
  slot: Slot;
  coldStart: boolean;
  /** Ends the call on the replica (idempotent). */
  release: () => void;
}

export interface RuntimeOptions {
  driver: Driver;
  store: Store;
  log: (line: string) => void;
  /** How long a new instance may take to answer HTTP (default 60 s; real time: it waits on a process). */
  readyTimeoutMs?: number;
  /** Idle time after which a replica above the reserved capacity stops (default 0: never). */
  idleTimeoutMs?: number;
  /** Reads the idle periods and bounds the max_concurrency wait (default the system clock). */
  clock?: Clock;
  /** Where app output and lifecycle events go (the observability hub). */
  hooks: RuntimeHooks;
}

export class RuntimeManager {
  private pools = new Map<string, Pool>();
  private starting = new Map<string, Promise<Slot>>();
  /** Calls waiting for a slot, per app (not per pool: a swap hands them to the new version). */
  private queues = new Map<string, Waiter[]>();
  readonly lastError = new Map<string, string>();
  /** Instance directories whose process has not exited (the disk collector keeps them). */
  private readonly liveDirs = new Set<string>();
  readonly lastInvokedMs = new Map<string, number>();
  private stopped = false;
  private reaper: ClockTimer | undefined;
  private readonly hooks: RuntimeHooks;
  private readonly driver: Driver;
  private readonly store: Store;
  private readonly log: (line: string) => void;
  private readonly readyTimeoutMs: number;
  readonly idleTimeoutMs: number;
  private readonly clock: Clock;

  constructor(o: RuntimeOptions) {
    this.driver = o.driver;
    this.store = o.store;
    this.log = o.log;
    this.readyTimeoutMs = o.readyTimeoutMs ?? 60_000;
    this.idleTimeoutMs = o.idleTimeoutMs ?? 0;
    this.clock = o.clock ?? systemClock;
    this.hooks = o.hooks;
    const every = this.idleTimeoutMs > 0 ? Math.min(30_000, Math.max(250, this.idleTimeoutMs / 4)) : 30_000;
    this.reaper = this.clock.setInterval(() => void this.reap(), every);
  }

  liveInstanceDirs(): ReadonlySet<string> {
    return this.liveDirs;
  }

  private pool(key: string): Pool | undefined {
    const p = this.pools.get(key);
    if (p) p.replicas = p.replicas.filter((r) => r.instance.alive());
    return p;
  }

  /** The app's replicas (all of one version), least busy first. */
  replicas(key: string): Slot[] {
    return [...(this.pool(key)?.replicas ?? [])];
  }

  /** Replicas being started to scale out. */
  startingReplicas(key: string): number {
    return (this.pool(key)?.starting ?? 0) + (this.starting.has(key) ? 1 : 0);
  }

  policyOf(key: string): ScalePolicy | undefined {
    return this.pools.get(key)?.policy;
  }

  /** A running replica of the app (the least busy), if any. */
  running(key: string): Slot | undefined {
    return this.leastBusy(this.pool(key)?.replicas ?? []);
  }

  private leastBusy(rs: Slot[]): Slot | undefined {
    let best: Slot | undefined;
    for (const r of rs) if (!best || r.inflight < best.inflight) best = r;
    return best;
  }

  private lease(key: string, slot: Slot, coldStart: boolean): Lease {
    slot.inflight++;
    slot.lastUsedMs = this.clock.now();
    let done = false;
    return {
      slot,
      coldStart,
      release: () => {
        if (done) return;
        done = true;
        slot.inflight--;
        slot.lastUsedMs = this.clock.now();
        this.admit(key);
      },
    };
  }

  /**
   * Takes a replica of the app at `version` for one call, starting one when none runs (cold start)
   * and starting more in the background when all are busy. Under a `max_concurrency` limit the call
   * waits (bounded by `wait`) for a replica with room. Call `release()` when the call ends.
   * `target`: the version the caller read as active, and how to read the active version's spec.
   */
  async ensure(key: string, target: { spec: () => Promise<AppRunSpec>; version: number }, policy: ScalePolicy = DEFAULT_POLICY, wait: WaitOptions = {}): Promise<Lease> {
    const { spec } = target;
    let { version } = target;
    policy = normalizePolicy(policy);
    let pool = this.pool(key);
    if (pool && pool.version !== version && pool.replicas.length) {
      // The caller may have read the active version just before a publish/rollback replaced the pool:
      // the spec reads the version that is active now.
      const s = await spec();
      pool = this.pool(key);
      if (pool && s.version === pool.version) version = pool.version;
    }
    if (pool && pool.version === version && pool.replicas.length) {
      pool.policy = policy;
      pool.spec = spec;
      if (policy.maxConcurrency) return this.enqueue(key, false, wait);
      const r = this.leastBusy(pool.replicas)!;
      const lease = this.lease(key, r, false);
      this.maybeScaleOut(key, pool);
      return lease;
    }
    let p = this.starting.get(key);
    if (!p) {
      p = (async () => {
        const s = await spec();
        const instance = await this.launch(s);
        return this.install(key, { version: s.version, instance }, policy, spec);
      })();
      this.starting.set(key, p);
      p.finally(() => this.starting.delete(key)).catch(() => undefined);
    }
    const slot = await p;
    this.hooks.event?.(key, "ColdStart", `cold start of version ${slot.version}`, slot.instance.id);
    // The callers that shared the cold start take turns like everyone else under a limit.
    if (policy.maxConcurrency) return this.enqueue(key, true, wait);
    const lease = this.lease(key, slot, true);
    const cur = this.pools.get(key);
    if (cur) this.maybeScaleOut(key, cur);
    return lease;
  }

  /** Queues the call behind earlier waiters; settles with a lease, or an error when its wait bound is hit. */
  private enqueue(key: string, coldStart: boolean, wait: WaitOptions): Promise<Lease> {
    // The app or the control plane stopped between the call's cold start and now: nothing will serve the queue.
    if (this.stopped) return Promise.reject(unavailable("the control plane is stopping"));
    if (!this.pools.has(key)) return Promise.reject(stoppedWhileWaiting(key));
    if (wait.signal?.aborted) return Promise.reject(cancelledWhileWaiting());
    const timeoutMs = Math.min(QUEUE_TIMEOUT_MS, wait.timeoutMs ?? QUEUE_TIMEOUT_MS);
    return new Promise<Lease>((resolve, reject) => {
      const end = () => {
        timer.cancel();
        wait.signal?.removeEventListener("abort", onAbort);
        const q = this.queues.get(key) ?? [];
        const i = q.indexOf(w);
        if (i >= 0) q.splice(i, 1);
      };
      const w: Waiter = {
        admit: (slot) => {
          end();
          resolve(this.lease(key, slot, coldStart));
        },
        fail: (e) => {
          end();
          reject(e);
        },
      };
      const timer = this.clock.setTimeout(() => w.fail(this.atLimit(key, timeoutMs)), timeoutMs);
      const onAbort = () => w.fail(cancelledWhileWaiting());
      wait.signal?.addEventListener("abort", onAbort, { once: true });
      const q = this.queues.get(key) ?? [];
      q.push(w);
      this.queues.set(key, q);
      this.admit(key);
    });
  }

  /** Gives waiting calls, in arrival order, a replica with room; the rest count as load for scale-out. */
  private admit(key: string): void {
    const q = this.queues.get(key);
    if (!q?.length) return;
    const pool = this.pool(key);
    if (!pool) return;
    for (let r = this.withRoom(pool); q.length && r; r = this.withRoom(pool)) q.shift()!.admit(r);
    this.maybeScaleOut(key, pool);
  }

  /** The least busy replica that may take one more call (any replica when the app sets no limit). */
  private withRoom(pool: Pool): Slot | undefined {
    const limit = pool.policy.maxConcurrency;
    return this.leastBusy(limit ? pool.replicas.filter((r) => r.inflight < limit) : pool.replicas);
  }

  private atLimit(key: string, waitedMs: number): Error {
    const limit = this.pools.get(key)?.policy.maxConcurrency ?? 0;
    const n = this.pool(key)?.replicas.length ?? 0;
    return resourceExhausted(`app ${key} is at max_concurrency (${limit} per replica, ${n} replica${n === 1 ? "" : "s"}): no slot freed within ${formatWait(waitedMs)}`);
  }

  /** Fails the app's waiting calls (the app or the control plane stops). */
  private failWaiting(key: string, e: Error): void {
    const q = this.queues.get(key) ?? [];
    this.queues.delete(key);
    for (const w of q) w.fail(e);
  }

  /** Starts replicas while the pool is below its reserved capacity or its calls (in flight and waiting) exceed `target` per replica. */
  private maybeScaleOut(key: string, pool: Pool): void {
    if (this.stopped || !pool.spec) return;
    const { reserved, maxReplicas, target } = pool.policy;
    const load = pool.replicas.reduce((n, r) => n + r.inflight, 0) + (this.queues.get(key)?.length ?? 0);
    const wantByLoad = Math.ceil(load / target);
    const want = Math.min(maxReplicas, Math.max(reserved, wantByLoad, 1));
    const have = pool.replicas.length + pool.starting;
    for (let i = have; i < want; i++) this.scaleOut(key, pool, load > reserved * target ? "load" : "reserved capacity");
  }

  private scaleOut(key: string, pool: Pool, why: string): void {
    pool.starting++;
    void (async () => {
      try {
        const s = await pool.spec!();
        if (this.pools.get(key) !== pool || s.version !== pool.version) return;
        const instance = await this.launch(s);
        const slot: Slot = { version: s.version, instance, lastUsedMs: this.clock.now(), inflight: 0 };
        if (this.stopped || this.pools.get(key) !== pool) {
          await instance.stop();
          return;
        }
        pool.replicas.push(slot);
        this.log(`[${key}] scaled out (${why}): ${pool.replicas.length} replica(s) of version ${pool.version}`);
        this.admit(key);
      } catch (e) {
        this.log(`[${key}] scale-out failed: ${errorMessage(e)}`);
      } finally {
        pool.starting--;
      }
    })();
  }

  /** Starts an instance and waits until it answers HTTP; throws FAILED_PRECONDITION otherwise. */
  async launch(s: AppRunSpec): Promise<RunningInstance> {
    if (this.stopped) throw failedPrecondition("the control plane is stopping");
    const key = `${s.org}/${s.app}`;
    const port = await freePort();
    const instanceDir = this.store.instanceDir(s.org, s.app, `v${s.version}-${ulid().toLowerCase()}`);
    const lines: string[] = [];
    const log = (l: string) => {
      lines.push(l);
      this.log(`[${key} v${s.version}] ${l}`);
    };
    let inst: RunningInstance;
    let replicaId = "";
    const onOutput = (stream: "stdout" | "stderr", line: string) => this.hooks.output?.(key, { version: s.version, replicaId, stream, line });
    const what = `version ${s.version}${s.label ? ` (${s.label})` : ""}`;
    const userProblem = runAsNonRootViolation(s.image.config.user);
    if (userProblem) {
      const msg = `version ${s.version} of ${key} could not start: ${userProblem}`;
      log(msg);
      this.lastError.set(key, msg);
      this.hooks.event?.(key, "StartFailed", msg, "");
      throw failedPrecondition(msg);
    }
    if (!s.image.config.user.trim()) {
      log(
        `warning: the image sets no USER; the platform runs pods as non-root and may refuse it: add a numeric USER such as 65534 (${this.driver.name === "host" ? "the host driver runs it as the control plane's user" : `running it as ${DEFAULT_NON_ROOT_USER}`})`,
      );
    }
    this.liveDirs.add(instanceDir);
    try {
      inst = await this.driver.start(s.image, { owner: key, env: s.env, port, extraPorts: s.ports.slice(1), instanceDir, log, onOutput, ...(s.limits ? { limits: s.limits } : {}) });
      replicaId = inst.id;
      void inst.exited.finally(() => this.liveDirs.delete(instanceDir));
    } catch (e) {
      this.liveDirs.delete(instanceDir);
      const msg = `version ${s.version} of ${key} could not start: ${errorMessage(e)}`;
      this.lastError.set(key, msg);
      this.hooks.event?.(key, "StartFailed", msg, "");
      throw failedPrecondition(msg);
    }
    try {
      await waitReady(inst, s.healthPath || "/healthz", this.readyTimeoutMs, log);
    } catch (e) {
      await inst.stop();
      const out = inst.recentOutput(15);
      const msg = `version ${s.version} of ${key} did not become ready: ${errorMessage(e)}${out.length ? `\n--- last output ---\n${out.join("\n")}` : ""}`;
      this.lastError.set(key, msg);
      this.hooks.event?.(key, "StartFailed", `${what} did not become ready: ${errorMessage(e)}`, inst.id);
      throw failedPrecondition(msg);
    }
    this.lastError.delete(key);
    this.hooks.event?.(key, "VersionStarted", `${what} started and ready`, inst.id);
    inst.exited.then((x) => {
      const pool = this.pools.get(key);
      const i = pool ? pool.replicas.findIndex((r) => r.instance === inst) : -1;
      if (pool && i >= 0) {
        pool.replicas.splice(i, 1);
        if (!this.stopped) {
          // SIGKILL that the plane did not send, under a memory limit: the kernel's OOM killer
          // (podman with runc does not report State.OOMKilled reliably, so this is the evidence).
          const oom = this.driver.name !== "host" && !!s.limits?.memoryMb && (x.code === 137 || x.signal === "SIGKILL");
          const msg = oom
            ? `version ${s.version} of ${key} was OOMKilled: it went over its memory limit of ${s.limits!.memoryMb} MB (exit 137); raise --tier or --memory`
            : `version ${s.version} of ${key} exited (${x.signal ?? `code ${x.code}`})`;
          this.lastError.set(key, msg);
          this.log(`[${key}] ${msg}`);
          this.hooks.event?.(key, "Crashed", msg, inst.id);
          // in the app's own log too, where its last lines before the kill are
          if (oom) this.hooks.output?.(key, { version: s.version, replicaId: inst.id, stream: "stderr", line: `ignite: ${msg}` });
        }
        // Waiting calls need a replacement replica.
        this.admit(key);
      }
    }, () => undefined);
    return inst;
  }

  /**
   * Makes a started instance a replica of the app: one of the pool's version joins it; another
   * version replaces the pool, and the old replicas stop once their calls finished (up to DRAIN_MS).
   * Its idle period starts now.
   */
  async install(key: string, replica: Pick<Slot, "version" | "instance">, policy?: ScalePolicy, spec?: () => Promise<AppRunSpec>): Promise<Slot> {
    const prev = this.pools.get(key);
    if (prev && prev.version === replica.version) {
      let slot = prev.replicas.find((r) => r.instance === replica.instance);
      if (!slot) {
        slot = { ...replica, lastUsedMs: this.clock.now(), inflight: 0 };
        prev.replicas.push(slot);
      }
      if (policy) prev.policy = normalizePolicy(policy);
      if (spec) prev.spec = spec;
      this.admit(key);
      return slot;
    }
    const slot: Slot = { ...replica, lastUsedMs: this.clock.now(), inflight: 0 };
    const pool: Pool = { version: slot.version, replicas: [slot], starting: 0, policy: normalizePolicy(policy ?? prev?.policy ?? DEFAULT_POLICY), ...(spec ? { spec } : {}) };
    this.pools.set(key, pool);
    // Waiting calls go to the new version now, not after the old replicas drained.
    this.admit(key);
    if (prev) {
      const old = prev.replicas.filter((r) => r.instance !== slot.instance);
      prev.replicas = [];
      await Promise.all(
        old.map(async (r) => {
          await this.drain(r);
          this.hooks.event?.(key, "ReplicaStopped", `version ${r.version} stopped (replaced by version ${slot.version})`, r.instance.id);
          await r.instance.stop();
        }),
      );
    }
    this.maybeScaleOut(key, pool);
    return slot;
  }

  private async drain(r: Slot): Promise<void> {
    const until = Date.now() + DRAIN_MS;
    while (r.inflight > 0 && Date.now() < until && r.instance.alive()) await sleep(50);
  }

  async stopApp(key: string): Promise<void> {
    const pending = this.starting.get(key);
    if (pending) await pending.catch(() => undefined);
    const pool = this.pools.get(key);
    this.pools.delete(key);
    this.failWaiting(key, stoppedWhileWaiting(key));
    for (const r of pool?.replicas ?? []) {
      this.hooks.event?.(key, "ReplicaStopped", `version ${r.version} stopped`, r.instance.id);
    }
    await Promise.allSettled((pool?.replicas ?? []).map((r) => r.instance.stop()));
  }

  async stopAll(): Promise<void> {
    this.stopped = true;
    this.reaper?.cancel();
    for (const key of [...this.queues.keys()]) this.failWaiting(key, unavailable("the control plane is stopping"));
    await Promise.allSettled([...this.starting.values()]);
    const all = [...this.pools.values()].flatMap((p) => p.replicas);
    this.pools.clear();
    await Promise.allSettled(all.map((s) => s.instance.stop()));
  }

  /** Stops replicas idle for longer than the idle period (down to the reserved capacity) and tops reserved capacity up. */
  private async reap(): Promise<void> {
    if (this.stopped) return;
    const now = this.clock.now();
    for (const [key, pool] of this.pools) {
      pool.replicas = pool.replicas.filter((r) => r.instance.alive());
      if (this.idleTimeoutMs > 0) {
        const idle = pool.replicas.filter((r) => r.inflight === 0 && now - r.lastUsedMs > this.idleTimeoutMs).sort((a, b) => a.lastUsedMs - b.lastUsedMs);
        const removable = Math.max(0, pool.replicas.length - pool.policy.reserved);
        const victims = idle.slice(0, removable);
        for (const r of victims) {
          pool.replicas.splice(pool.replicas.indexOf(r), 1);
          const secs = Math.round((now - r.lastUsedMs) / 1000);
          const left = pool.replicas.length;
          this.log(`[${key}] replica ${r.instance.id} idle for ${secs} s: ${left ? `scaling in to ${left} replica(s)` : "scaling to zero"}`);
          if (left === 0) this.hooks.event?.(key, "ScaledToZero", `idle for ${secs} s: scaled to zero`, r.instance.id);
          else this.hooks.event?.(key, "ReplicaStopped", `replica idle for ${secs} s: scaled in to ${left}`, r.instance.id);
          await r.instance.stop();
        }
      }
      if (pool.replicas.length + pool.starting < pool.policy.reserved) this.maybeScaleOut(key, pool);
    }
  }
}
