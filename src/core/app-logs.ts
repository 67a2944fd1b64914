import type { CallOptions, IgniteApi } from "../api/ignite-api.js";
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
