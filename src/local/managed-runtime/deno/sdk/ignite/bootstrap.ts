/**
 * The Ignite managed runtime's SDK for Deno: the module an app's `import { start } from "ignite"`
 * resolves to. The app's deno.json maps "ignite" to ./deno/sdk/ignite/bootstrap.ts; the local
 * control plane writes this file there at compile time, as the platform does at deploy time.
 *
 * It serves the handler as the Python bootstrap and the Go and Rust SDKs do:
 *
 *   POST <any path>      -> handler(raw body bytes, ctx), ctx from the x-ignite-* headers the gateway
 *                           injects; a Uint8Array/ArrayBuffer is answered as it is
 *                           (application/octet-stream), a string as UTF-8 text, anything else as
 *                           JSON; a thrown error -> HTTP 500 {"error", "type", "traceback"}
 *   GET|HEAD /healthz, / -> 200 {"status": "ok"}; any other GET 404, other methods 405
 */

/** The call being served. */
export interface Context {
  /** x-ignite-execution-id: the execution this call is recorded as. */
  readonly executionId: string;
  /** x-ignite-function-id: the app, as org/name. */
  readonly functionId: string;
  /** x-ignite-organization-id: the calling organization. */
  readonly organizationId: string;
  /** The request's headers, x-ignite-* included. */
  readonly headers: Headers;
}

/** What an app passes to start(): its answer is bytes, text, or a value sent as JSON. */
export type Handler = (payload: Uint8Array, ctx: Context) => unknown | Promise<unknown>;

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** The answer's bytes and content type, by the same rules as the other runtimes. */
function encode(result: unknown): Response {
  if (result instanceof Uint8Array || result instanceof ArrayBuffer) {
    // a copy: a view over a SharedArrayBuffer is not a valid body
    const bytes = result instanceof Uint8Array ? result.slice() : new Uint8Array(result);
    return new Response(bytes, { status: 200, headers: { "content-type": "application/octet-stream" } });
  }
  if (typeof result === "string") {
    return new Response(result, { status: 200, headers: { "content-type": "text/plain; charset=utf-8" } });
  }
  return new Response(JSON.stringify(result ?? null), { status: 200, headers: { "content-type": "application/json" } });
}

async function serve(handler: Handler, req: Request): Promise<Response> {
  const path = new URL(req.url).pathname;
  if (req.method === "GET" || req.method === "HEAD") {
    if (path === "/" || path === "/healthz") return json(200, { status: "ok" });
    return json(404, { error: "not found: POST to invoke the handler" });
  }
  if (req.method !== "POST") return json(405, { error: "method not allowed: POST to invoke the handler" });
  const payload = new Uint8Array(await req.arrayBuffer());
  const ctx: Context = {
    executionId: req.headers.get("x-ignite-execution-id") ?? "",
    functionId: req.headers.get("x-ignite-function-id") ?? "",
    organizationId: req.headers.get("x-ignite-organization-id") ?? "",
    headers: req.headers,
  };
  try {
    return encode(await handler(payload, ctx));
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    console.error(err.stack ?? String(err));
    return json(500, { error: err.message, type: err.name, traceback: err.stack ?? "" });
  }
}

/** Whether this process runs in a container (where it must listen on every address). */
function inContainer(): boolean {
  for (const marker of ["/.dockerenv", "/run/.containerenv"]) {
    try {
      Deno.statSync(marker);
      return true;
    } catch {
      // absent, or not readable: not a container marker we can see
    }
  }
  return false;
}

/** Serves `handler` on $PORT (default 8080) until the process is stopped. */
export function start(handler: Handler): void {
  if (typeof handler !== "function") throw new TypeError("start(handler): handler must be a function (payload, ctx) => answer");
  const port = Number(Deno.env.get("PORT") ?? "8080");
  const hostname = Deno.env.get("IGNITE_BIND_HOST") || (inContainer() ? "0.0.0.0" : "127.0.0.1");
  Deno.serve({
    port,
    hostname,
    onListen: ({ hostname, port }) => console.log(`ignite deno runtime: serving the handler on ${hostname}:${port}`),
  }, (req) => serve(handler, req));
}
