// What an app instance receives for a call, whichever door it came through (gRPC Invoke, the
// executions API, the HTTP gateway): method and path from the HttpContext, the caller's headers
// minus hop-by-hop and x-ignite-*, and the x-ignite-* headers the plane sets.
import { validateHeaderName, validateHeaderValue } from "node:http";
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
  const path = p + (q ? `?${q}` : "");
  // What Node's HTTP client refuses to put on a request line (it would throw mid-call): the caller's
  // mistake, said as such.
  if (/[^\u0021-\u00ff]/.test(path)) throw invalidArgument("invalid HTTP path or query: spaces, control characters and characters beyond Latin-1 must be percent-encoded");
  return { method, path };
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
  for (const [name, value] of Object.entries(headers)) {
    try {
      validateHeaderName(name);
      for (const v of [value].flat()) validateHeaderValue(name, v);
    } catch {
      throw invalidArgument(`invalid HTTP header '${name.replace(/[^\x21-\x7e]/g, "?").slice(0, 100)}': a name must be a token and a value visible characters, spaces and tabs`);
    }
  }
  return headers;
}
