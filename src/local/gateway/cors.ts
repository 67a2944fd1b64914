/**
 * CORS as the platform's gateway does it: an app with anonymous invocation (allow_unauthenticated)
 * is CORS-open. Its browser preflights are answered by the gateway itself and never reach the app,
 * allowing any origin and only the `content-type` request header (the samples send keys in the
 * body for that reason); its answers carry `Access-Control-Allow-Origin: *`. No credentials are
 * allowed, so no origin is ever echoed back. An app without anonymous invocation gets no CORS
 * allowance: its preflights meet the gateway's auth (401), and CORS headers the app sets itself are
 * dropped, so a browser page on another origin cannot read its answers.
 */
import type * as http from "node:http";

const ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS";
const ALLOW_HEADERS = "content-type";
const MAX_AGE_SECS = "600";

/** A browser's CORS preflight: OPTIONS with Origin and Access-Control-Request-Method. */
export function isPreflight(req: http.IncomingMessage): boolean {
  return req.method === "OPTIONS" && typeof req.headers.origin === "string" && typeof req.headers["access-control-request-method"] === "string";
}

/** The gateway's own answer to an anonymous app's preflight. */
export function answerPreflight(res: http.ServerResponse): void {
  res.writeHead(204, {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": ALLOW_METHODS,
    "access-control-allow-headers": ALLOW_HEADERS,
    "access-control-max-age": MAX_AGE_SECS,
    "content-length": "0",
  });
  res.end();
}

/** The CORS headers of an answer: the app's own Access-Control-* headers replaced by the gateway's rule. */
export function corsHeaders(out: Record<string, string | string[]>, anonymous: boolean): Record<string, string | string[]> {
  for (const k of Object.keys(out)) if (k.toLowerCase().startsWith("access-control-")) delete out[k];
  if (anonymous) out["access-control-allow-origin"] = "*";
  return out;
}
