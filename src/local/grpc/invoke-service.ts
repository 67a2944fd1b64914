/**
 * ComputeService: Invoke (the app's answer streamed back as head, body chunks, trailer) and
 * InvokeAsync (an execution: invoke/executions.ts).
 */
import * as http from "node:http";
import { create } from "@bufbuild/protobuf";
import type { ServerWritableStream } from "@grpc/grpc-js";
import { InvokeAsyncResponseSchema, InvokeResponseSchema, type InvokeRequest, type InvokeResponse } from "../../gen/dodil/ignite/v1/compute_pb.js";
import type { Platform } from "../apps/platform.js";
import { deadlineExceeded, errorMessage, unavailable } from "../errors.js";
import { organizationId, ulid } from "../ids.js";
import { checkPayload } from "../invoke/payload-schema.js";
import { bufferedCallHeaders, requestShape } from "../invoke/request-shape.js";
import type { GrpcDeps } from "./grpc-deps.js";
import { send, type Handlers } from "./handlers.js";

const CHUNK = 64 * 1024;

type InvokeCall = ServerWritableStream<InvokeRequest, InvokeResponse>;

/** The call's deadline in ms since the epoch, or NaN/0 when it has none. */
const deadlineMs = (call: InvokeCall): number => {
  const deadline = call.getDeadline();
  return deadline instanceof Date ? deadline.getTime() : Number(deadline);
};
const hasDeadline = (dl: number) => Number.isFinite(dl) && dl > 0;

/**
 * A replica for the call. A caller that goes away, or whose deadline passes, while the call waits
 * for a slot under max_concurrency leaves the queue instead of being served later for nobody.
 */
async function leaseFor(platform: Platform, org: string, app: string, call: InvokeCall) {
  const dl = deadlineMs(call);
  const gone = new AbortController();
  const leave = () => gone.abort();
  call.on("cancelled", leave);
  const waitTimer = hasDeadline(dl) ? setTimeout(leave, Math.max(0, dl - Date.now())) : undefined;
  return platform.scaling.ensureRunning(org, app, gone.signal).finally(() => {
    clearTimeout(waitTimer);
    call.off("cancelled", leave);
  });
}

/** Streams the answer's body in CHUNK-sized frames; the error the trailer reports ("" when whole), or undefined when the caller left. */
async function streamBody(res: http.IncomingMessage, call: InvokeCall, whenCut: (e: unknown) => string): Promise<{ bytes: number; error: string } | undefined> {
  let bytes = 0;
  try {
    for await (const chunk of res) {
      const buf = chunk as Buffer;
      for (let off = 0; off < buf.length; off += CHUNK) {
        const part = buf.subarray(off, off + CHUNK);
        bytes += part.length;
        if (!(await send(call, create(InvokeResponseSchema, { frame: { case: "bodyChunk", value: part } })))) return undefined;
      }
    }
  } catch (e) {
    return { bytes, error: whenCut(e) };
  }
  return { bytes, error: "" };
}

const flatHeaders = (res: http.IncomingMessage): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : v;
  return out;
};

export function invokeHandlers({ platform, executions, kit }: GrpcDeps): Handlers {
  const { unary, stream, appScope, log } = kit;

  async function invoke(req: InvokeRequest, call: InvokeCall): Promise<void> {
    const org = appScope(req, call.metadata);
    const app = req.appName;
    const started = Date.now();
    const { method, path } = requestShape(req.http);
    const dl = deadlineMs(call);
    // Headers and the payload are checked before a slot is taken, so a refused call cannot keep the slot.
    const executionId = ulid();
    const headers = bufferedCallHeaders({ http: req.http, executionId, org, app, bodyLength: req.body.length });
    if (method === "POST") checkPayload((await platform.apps.requireApp(org, app)).inputSchema, req.body, `${org}/${app}`, log);
    const { meta, slot, coldStart, release } = await leaseFor(platform, org, app, call);
    const ac = new AbortController();
    const onCancel = () => ac.abort();
    call.on("cancelled", onCancel);
    const timeoutSecs = meta.limits?.timeoutSecs || 300;
    const limitMs = Math.min(hasDeadline(dl) ? dl - Date.now() : Infinity, timeoutSecs * 1000);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, Math.max(0, limitMs));
    try {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const r = http.request({ ...slot.instance.endpoint, method, path, headers, signal: ac.signal, agent: false }, resolve);
        r.on("error", reject);
        r.end(Buffer.from(req.body));
      }).catch((e) => {
        if (timedOut) throw deadlineExceeded(`app ${org}/${app} did not answer within ${Math.round(limitMs / 1000)} s`);
        if (call.cancelled) throw unavailable("the call was cancelled");
        throw unavailable(`app ${org}/${app} (version ${slot.version}) did not answer on its port: ${errorMessage(e)}`);
      });
      const head = { statusCode: res.statusCode ?? 0, headers: flatHeaders(res), executionId, functionId: `${org}/${app}`, organizationId: organizationId(org), version: slot.version, coldStart };
      await send(call, create(InvokeResponseSchema, { frame: { case: "head", value: head } }));
      const body = await streamBody(res, call, (e) => (timedOut ? `the app did not finish its answer within ${Math.round(limitMs / 1000)} s` : `the app's answer was cut off: ${errorMessage(e)}`));
      if (!body) return;
      const trailer = { durationMs: BigInt(Date.now() - started), bodyBytes: BigInt(body.bytes), error: body.error };
      await send(call, create(InvokeResponseSchema, { frame: { case: "trailer", value: trailer } }));
      log(`invoke ${org}/${app} v${slot.version} ${method} ${path.split("?")[0]} -> ${res.statusCode} (${Date.now() - started} ms${coldStart ? ", cold start" : ""}) ${executionId}`);
      executions.record(org, app, { code: res.statusCode ?? 0, ms: Date.now() - started, ok: (res.statusCode ?? 0) < 500 && !body.error });
    } finally {
      release();
      clearTimeout(timer);
      call.off("cancelled", onCancel);
    }
  }

  return {
    invoke: stream("Invoke", invoke),
    invokeAsync: unary("InvokeAsync", async (req: InvokeRequest, md) => {
      const org = appScope(req, md);
      return create(InvokeAsyncResponseSchema, { executionId: await executions.start(org, req.appName, req) });
    }),
  };
}
