// What an app instance receives for a call, whichever door it came through (gRPC Invoke, the
// executions API, the HTTP gateway): method and path from the HttpContext, the caller's headers
// minus hop-by-hop and x-ignite-*, and the x-ignite-* headers the plane sets.
import type { HttpContext } from "../../gen/dodil/ignite/v1/compute_pb.js";
import { invalidArgument } from "../errors.js";
import { organizationId } from "../ids.js";

/** The request line of a call: method (default POST) and path with query. */
export function requestShape(h: HttpContext | undefined): { method: string; path: string } {
  const method = (h?.method || "POST").toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw invalidArgument(`invalid HTTP method '${h?.method}'`);
  let p = h?.path || "/";
  if (!p.startsWith("/")) p = "/" + p;
  const q = (h?.query ?? "").replace(/^\?/, "");
  return { method, path: p + (q ? `?${q}` : "") };
}

/** Headers the app must never receive from the caller (hop-by-hop, and x-ignite-* which we set). */
export function forwardableHeaders(src: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(src)) {
    const lk = k.toLowerCase();
    if (v === undefined) continue;
    if (lk.startsWith("x-ignite-")) continue;
    if (["host", "connection", "keep-alive", "transfer-encoding", "content-length", "te", "upgrade", "proxy-authorization", "proxy-connection", "trailer"].includes(lk)) continue;
    out[lk] = v;
  }
  return out;
}

export function igniteHeaders(executionId: string, org: string, app: string): Record<string, string> {
  return {
    "x-ignite-execution-id": executionId,
    "x-ignite-function-id": `${org}/${app}`,
    "x-ignite-organization-id": organizationId(org),
  };
}

/** Headers of a call whose whole body is known (Invoke, executions, draft tests). */
export function bufferedCallHeaders(o: { http: HttpContext | undefined; executionId: string; org: string; app: string; bodyLength: number }): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {
    ...forwardableHeaders(o.http?.headers ?? {}),
    ...igniteHeaders(o.executionId, o.org, o.app),
    "content-length": String(o.bodyLength),
  };
  if (o.bodyLength && !headers["content-type"]) headers["content-type"] = "application/json";
  return headers;
}
