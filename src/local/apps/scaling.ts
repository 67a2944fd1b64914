/**
 * Replicas of an app's active version: a lease for one call (cold-starting when none runs), the
 * reserved capacity kept warm, and what GetAppState reports.
 */
import { type AppMeta } from "../../gen/dodil/ignite/v1/common_pb.js";
import { errorMessage, failedPrecondition } from "../errors.js";
import { QUEUE_TIMEOUT_MS } from "../runtime/call-wait.js";
import type { Slot } from "../runtime/replica.js";
import type { Lease } from "../runtime/runtime-manager.js";
import type { ScalePolicy } from "../runtime/scale-policy.js";
import type { Platform, RoomDeps } from "./platform.js";
import { DEFAULT_TIMEOUT_SECS } from "./apps.js";

export class Scaling {
  constructor(
    private readonly d: RoomDeps,
    private readonly p: Platform,
  ) {}

  runtimeLastError(key: string): string {
    return this.d.runtime.lastError.get(key) ?? "";
  }

  runtimeLastInvoked(key: string): number {
    return this.d.runtime.lastInvokedMs.get(key) ?? 0;
  }

  runningSlot(key: string): Slot | undefined {
    return this.d.runtime.running(key);
  }

  /** All running replicas of the app (one version). */
  replicas(key: string): Slot[] {
    return this.d.runtime.replicas(key);
  }

  /** Replicas wanted now: the running ones, those starting, and at least the reserved capacity. */
  desiredReplicas(meta: AppMeta): number {
    const key = meta.id;
    const p = scalePolicy(meta);
    return Math.max(p.reserved, this.d.runtime.replicas(key).length + this.d.runtime.startingReplicas(key));
  }

  /**
   * Takes a replica of the app's active version for one call (starting it when none runs); used by
   * Invoke, executions and the gateway. Under `max_concurrency` the call may wait for a slot, at most
   * the app's timeout (and QUEUE_TIMEOUT_MS), or until `signal` aborts. The caller must call
   * `release()` when the call ends.
   */
  async ensureRunning(org: string, app: string, signal?: AbortSignal): Promise<{ meta: AppMeta } & Lease> {
    const meta = await this.p.apps.requireApp(org, app);
    if (!meta.activeVersion) throw failedPrecondition(`app ${org}/${app} has no published version; publish a draft first`);
    const key = `${org}/${app}`;
    // No call waits for a slot longer than the app lets a call run: a short timeout_secs fails fast.
    const timeoutMs = Math.min(QUEUE_TIMEOUT_MS, (meta.limits?.timeoutSecs || DEFAULT_TIMEOUT_SECS) * 1000);
    const lease = await this.d.runtime.ensure(key, { spec: this.p.versions.activeSpec(org, app), version: meta.activeVersion }, scalePolicy(meta), { timeoutMs, signal });
    this.d.runtime.lastInvokedMs.set(key, Date.now());
    if (lease.coldStart) this.d.log(`${key}: cold start of version ${lease.slot.version}`);
    return { meta, ...lease };
  }

  /** Starts apps with reserved capacity (kept warm) after a restart, in the background. */
  async warmReserved(): Promise<void> {
    for (const org of await this.d.store.listOrgs()) {
      for (const app of await this.d.store.listApps(org)) {
        const m = await this.d.store.getApp(org, app);
        if (m && m.activeVersion && (m.scaling?.reservedCapacity ?? 0) > 0) {
          this.ensureRunning(org, app).then((l) => l.release()).catch((e) => this.d.log(`${org}/${app}: warm start failed: ${errorMessage(e)}`));
        }
      }
    }
  }
}

/** The app's scaling config as the local runtime applies it (see runtime/runtime-manager.ts). */
export function scalePolicy(meta: AppMeta): ScalePolicy {
  const sc = meta.scaling;
  return {
    reserved: sc?.reservedCapacity ?? 0,
    maxReplicas: sc?.maxReplicas || 1,
    target: meta.maxConcurrency || sc?.target || 1,
    maxConcurrency: meta.maxConcurrency,
  };
}
