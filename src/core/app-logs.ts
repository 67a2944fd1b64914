import type { CallOptions, IgniteApi } from "../api/ignite-api.js";
import type { Clock } from "../clock.js";
import { ComputeService, type AppLogLine } from "../gen/dodil/ignite/v1/compute_pb.js";
import { appFields, type AppRef } from "./app-ref.js";
import { parseNumberFlag } from "./number-flags.js";

/** The server keeps at most this many lines per app (and caps `limit` there). */
export const MAX_LOG_LIMIT = 10_000;

export interface AppLogQuery {
  limit?: number;
  replicaId?: string;
  sinceMs?: number;
}

export function parseLogLimit(text: string | undefined): number | undefined {
  return parseNumberFlag(text, "--limit", { min: 1, max: MAX_LOG_LIMIT, integer: true });
}

function request(ref: AppRef, query: AppLogQuery) {
  return { ...appFields(ref), limit: query.limit ?? 0, replicaId: query.replicaId ?? "", sinceMs: BigInt(Math.max(0, Math.floor(query.sinceMs ?? 0))) };
}

/** The newest lines of the app's output (oldest first). */
export async function getAppLogs(api: IgniteApi, ref: AppRef, query: AppLogQuery = {}): Promise<AppLogLine[]> {
  return (await api.unary(ComputeService.method.getAppLogs, request(ref, query))).lines;
}

/** The backlog, then every new line until the caller stops reading (or the deadline passes). */
export function streamAppLogs(api: IgniteApi, ref: AppRef, query: AppLogQuery = {}, options: CallOptions = {}): AsyncIterable<AppLogLine> {
  return api.serverStream(ComputeService.method.streamAppLogs, request(ref, query), options);
}

/** How a follow ended: the server ended the stream, or the follow's time ran out. */
export type FollowEnd = "ended" | "timed-out";

export interface LogFollow {
  onLine: (line: AppLogLine) => void;
  /** How long to follow (0: until the stream ends or the caller is stopped). */
  timeoutMs: number;
  /** The time the timeout runs on. */
  clock: Clock;
}

/**
 * The backlog, then each new line, to `onLine` until the server ends the stream or `timeoutMs` has
 * passed on `clock`; the time running out cancels the call and ends the follow cleanly ("timed-out").
 */
export async function followAppLogs(api: IgniteApi, ref: AppRef, query: AppLogQuery, follow: LogFollow): Promise<FollowEnd> {
  const stop = new AbortController();
  const timer = follow.timeoutMs > 0 ? follow.clock.setTimeout(() => stop.abort(), follow.timeoutMs) : undefined;
  try {
    for await (const line of streamAppLogs(api, ref, query, { timeoutMs: 0, signal: stop.signal })) follow.onLine(line);
    return "ended";
  } catch (error) {
    if (stop.signal.aborted) return "timed-out";
    throw error;
  } finally {
    timer?.cancel();
  }
}
