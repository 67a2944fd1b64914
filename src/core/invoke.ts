import type { IgniteApi } from "../api/ignite-api.js";
import { ComputeService, type InvokeHead, type InvokeTrailer } from "../gen/dodil/ignite/v1/compute_pb.js";
import { UsageError } from "../errors.js";
import { appFields, type AppRef } from "./app-ref.js";

/** The HTTP request an invocation sends the app (InvokeRequest.http). */
export interface HttpRequestShape {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
}

export interface InvokeRequestOptions {
  body: Uint8Array;
  http?: HttpRequestShape;
}

/** What `invoke` sends when no flag says otherwise: a JSON POST to /. */
export const DEFAULT_HTTP: HttpRequestShape = { method: "POST", path: "/", query: "", headers: { "content-type": "application/json" } };

/**
 * The HTTP request from `invoke`'s flags: `-X/--method`, `--path` (with an optional `?query`),
 * repeatable `-H/--header "Name: value"` and `--content-type`. x-ignite-* headers are the
 * platform's to set (it strips them), so asking for one is a usage error rather than a silent no-op.
 */
export function httpRequestFromFlags(flags: { method?: string | undefined; path?: string | undefined; headers: string[]; contentType?: string | undefined }): HttpRequestShape {
  const method = (flags.method ?? DEFAULT_HTTP.method).toUpperCase();
  if (!/^[A-Z]{1,20}$/.test(method)) throw new UsageError(`invalid value "${flags.method}" for --method: use an HTTP method such as GET, POST or PUT`);
  const target = flags.path ?? "/";
  if (!target.startsWith("/") || /\s/.test(target)) throw new UsageError(`invalid value "${target}" for --path: use a path such as /items?limit=5 (starting with /, no spaces)`);
  const at = target.indexOf("?");
  const headers: Record<string, string> = { ...DEFAULT_HTTP.headers };
  for (const header of flags.headers) {
    const colon = header.indexOf(":");
    const name = colon > 0 ? header.slice(0, colon).trim().toLowerCase() : "";
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw new UsageError(`invalid value "${header}" for --header: use "Name: value"`);
    if (name.startsWith("x-ignite-")) throw new UsageError(`--header ${name}: x-ignite-* headers are set by the platform, not by callers`);
    const value = header.slice(colon + 1).trim();
    // HTTP field values (RFC 9110 §5.5): visible characters, spaces and tabs; no other control
    // characters (a CR/LF would split the request) and nothing beyond Latin-1, which HTTP/1.1 cannot carry.
    if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) {
      throw new UsageError(`invalid value for --header ${name}: a header value may hold only visible characters, spaces and tabs (it has a control or non-Latin-1 character)`);
    }
    headers[name] = value;
  }
  if (flags.contentType !== undefined) headers["content-type"] = flags.contentType;
  return { method, path: at < 0 ? target : target.slice(0, at), query: at < 0 ? "" : target.slice(at + 1), headers };
}

export type InvokeEvent = { kind: "head"; head: InvokeHead } | { kind: "body"; chunk: Uint8Array } | { kind: "trailer"; trailer: InvokeTrailer };

/** Calls the app through the streaming Invoke RPC, yielding frames as they arrive (head, body chunks, trailer). */
export async function* invokeApp(api: IgniteApi, ref: AppRef, request: InvokeRequestOptions): AsyncGenerator<InvokeEvent> {
  const stream = api.serverStream(ComputeService.method.invoke, { ...appFields(ref), http: request.http ?? DEFAULT_HTTP, body: request.body });
  for await (const frame of stream) {
    switch (frame.frame.case) {
      case "head":
        yield { kind: "head", head: frame.frame.value };
        break;
      case "bodyChunk":
        yield { kind: "body", chunk: frame.frame.value };
        break;
      case "trailer":
        yield { kind: "trailer", trailer: frame.frame.value };
        break;
    }
  }
}
