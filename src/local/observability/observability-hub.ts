/**
 * App logs and events, kept in memory like the platform's (not persisted: a restart of the control
 * plane forgets them; the platform also drops them on scale-to-zero, the local one keeps them until
 * restart so a crash can still be read). Per app: the last MAX_LINES output lines and MAX_EVENTS
 * events (events older than EVENT_TTL_MS are dropped). Subscribers get every new line/event.
 */
import { BuildStatus } from "../../gen/dodil/ignite/v1/common_pb.js";
import type { RuntimeHooks } from "../runtime/runtime-manager.js";
import type { BuildRecord } from "../store/store.js";

export interface LogLineRec {
  timestampMs: number;
  replicaId: string;
  stream: "stdout" | "stderr";
  message: string;
  version: number;
}

export type EventType =
  | "BuildStarted"
  | "BuildSucceeded"
  | "BuildFailed"
  | "BuildCancelled"
  | "VersionStarted"
  | "VersionPublished"
  | "RolledBack"
  | "ColdStart"
  | "ScaledToZero"
  | "ReplicaStopped"
  | "Crashed"
  | "StartFailed";

export interface EventRec {
  timestampMs: number;
  /** "Normal" or "Warning", like Kubernetes events. */
  type: "Normal" | "Warning";
  reason: EventType;
  message: string;
  replicaId: string;
}

export const MAX_LINES = 10_000;
export const MAX_EVENTS = 1_000;
export const EVENT_TTL_MS = 60 * 60_000;
export const DEFAULT_LOG_LIMIT = 1000;
export const MAX_LOG_LIMIT = 10_000;

class Ring<T> {
  items: T[] = [];
  subs = new Set<(x: T) => void>();
  constructor(private max: number) {}
  push(x: T): void {
    this.items.push(x);
    if (this.items.length > this.max) this.items.splice(0, this.items.length - this.max);
    for (const s of this.subs) s(x);
  }
}

export class ObservabilityHub {
  private logs = new Map<string, Ring<LogLineRec>>();
  private events = new Map<string, Ring<EventRec>>();

  private ring<T>(m: Map<string, Ring<T>>, key: string, max: number): Ring<T> {
    let r = m.get(key);
    if (!r) m.set(key, (r = new Ring<T>(max)));
    return r;
  }

  line(key: string, l: LogLineRec): void {
    this.ring(this.logs, key, MAX_LINES).push(l);
  }

  event(key: string, reason: EventType, message: string, replicaId = ""): void {
    const warning = ["BuildFailed", "Crashed", "StartFailed"].includes(reason);
    this.ring(this.events, key, MAX_EVENTS).push({ timestampMs: Date.now(), type: warning ? "Warning" : "Normal", reason, message, replicaId });
  }

  /** The newest `limit` lines (oldest first), optionally of one replica and since a time. */
  getLogs(key: string, o: { limit: number; replicaId: string; sinceMs: number }): LogLineRec[] {
    const all = this.logs.get(key)?.items ?? [];
    const lim = Math.min(o.limit || DEFAULT_LOG_LIMIT, MAX_LOG_LIMIT);
    const sel = all.filter((l) => (!o.replicaId || l.replicaId === o.replicaId) && (!o.sinceMs || l.timestampMs >= o.sinceMs));
    return sel.slice(-lim);
  }

  getEvents(key: string, limit: number): EventRec[] {
    const r = this.events.get(key);
    if (!r) return [];
    const cutoff = Date.now() - EVENT_TTL_MS;
    r.items = r.items.filter((e) => e.timestampMs >= cutoff);
    return r.items.slice(-Math.min(limit || DEFAULT_LOG_LIMIT, MAX_EVENTS));
  }

  subscribeLogs(key: string, fn: (l: LogLineRec) => void): () => void {
    const r = this.ring(this.logs, key, MAX_LINES);
    r.subs.add(fn);
    return () => r.subs.delete(fn);
  }
  subscribeEvents(key: string, fn: (e: EventRec) => void): () => void {
    const r = this.ring(this.events, key, MAX_EVENTS);
    r.subs.add(fn);
    return () => r.subs.delete(fn);
  }

  /** Forget an app (DeleteApp). Subscribers stay attached to the old ring and see nothing more. */
  forget(key: string): void {
    this.logs.delete(key);
    this.events.delete(key);
  }

  /** The runtime's output lines and lifecycle events, as this hub records them. */
  runtimeHooks(): RuntimeHooks {
    return {
      output: (key, { version, replicaId, stream, line }) => this.line(key, { timestampMs: Date.now(), replicaId, stream, message: line, version }),
      event: (key, reason, message, replicaId) => this.event(key, reason, message, replicaId),
    };
  }

  /** An app's build (or compile) was created. */
  buildStarted(b: BuildRecord): void {
    if (b.app) this.event(`${b.org}/${b.app}`, "BuildStarted", `${b.kind === "compile" ? "compile" : "build"} ${b.id} started`);
  }

  /** An app's build (or compile) ended. */
  buildFinished(b: BuildRecord): void {
    if (!b.app) return;
    const key = `${b.org}/${b.app}`;
    const what = `${b.kind === "compile" ? "compile" : "build"} ${b.id}`;
    if (b.status === BuildStatus.SUCCEEDED) this.event(key, "BuildSucceeded", `${what} succeeded: ${b.imageRef}`);
    else if (b.status === BuildStatus.CANCELLED) this.event(key, "BuildCancelled", `${what} cancelled`);
    else this.event(key, "BuildFailed", `${what} failed: ${b.error ?? "unknown error"}`);
  }
}
