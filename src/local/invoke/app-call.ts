/** One HTTP request to a running instance (loopback port or its namespace's socket), with the body collected (bounded). */
import * as http from "node:http";
import type { HttpContext } from "../../gen/dodil/ignite/v1/compute_pb.js";
import { errorMessage } from "../errors.js";
import type { InstanceEndpoint } from "../drivers/types.js";
import { bufferedCallHeaders, requestShape } from "./request-shape.js";

export const MAX_COLLECTED_BODY = 16 * 1024 * 1024;

export interface CallResult {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer;
  truncated: boolean;
  durationMs: number;
}

export class CallError extends Error {
  constructor(
    message: string,
    readonly timedOut: boolean,
  ) {
    super(message);
  }
}

/** Sends the request to the instance's endpoint with the x-ignite-* headers; throws CallError when no answer. */
export async function callInstance(
  endpoint: InstanceEndpoint,
  o: { org: string; app: string; executionId: string; http: HttpContext | undefined; body: Uint8Array; timeoutMs: number; signal?: AbortSignal },
): Promise<CallResult> {
  const { method, path } = requestShape(o.http);
  const headers = bufferedCallHeaders({ http: o.http, executionId: o.executionId, org: o.org, app: o.app, bodyLength: o.body.length });
  const started = Date.now();
  return new Promise<CallResult>((resolve, reject) => {
    let timedOut = false;
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    o.signal?.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, Math.max(0, o.timeoutMs));
    const done = () => {
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
    };
    const fail = (e: unknown) => {
      done();
      reject(
        new CallError(
          timedOut ? `the app did not answer within ${Math.round(o.timeoutMs / 1000)} s` : `the app did not answer on its port: ${errorMessage(e)}`,
          timedOut,
        ),
      );
    };
    const req = http.request({ ...endpoint, method, path, headers, signal: ac.signal, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      res.on("data", (c: Buffer) => {
        if (size + c.length > MAX_COLLECTED_BODY) {
          truncated = true;
          c = c.subarray(0, MAX_COLLECTED_BODY - size);
        }
        size += c.length;
        if (c.length) chunks.push(c);
      });
      res.on("error", fail);
      res.on("end", () => {
        done();
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = Array.isArray(v) ? v.join(", ") : v;
        resolve({ statusCode: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks), truncated, durationMs: Date.now() - started });
      });
    });
    req.on("error", fail);
    req.end(Buffer.from(o.body));
  });
}
