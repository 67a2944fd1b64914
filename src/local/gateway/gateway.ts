/**
 * Loopback HTTP(S) gateway: routes `<app>-<org>.<baseDomain>[:port]` (and `<app>-<org>-<port>.…` for
 * extra declared ports) to the app's running instance, with the same auth and x-ignite-* header rules
 * as Invoke, cold-starting the active version when needed. CORS follows the platform's rule
 * (cors.ts): anonymous apps are CORS-open, others get no allowance.
 */
import * as http from "node:http";
import * as https from "node:https";
import { bearerCredential, type OrgAccess } from "../auth/org-access.js";
import { RpcError, errorMessage } from "../errors.js";
import type { Platform } from "../apps/platform.js";
import { forwardableHeaders, igniteHeaders } from "../invoke/request-shape.js";
import { answerPreflight, corsHeaders, isPreflight } from "./cors.js";
import { ulid } from "../ids.js";
import type { InstanceEndpoint } from "../drivers/types.js";
import { status } from "@grpc/grpc-js";

export interface GatewayDeps {
  platform: Platform;
  access: OrgAccess;
  baseDomain: string;
  log: (line: string) => void;
  /** Serve HTTPS with this certificate (the control plane's TLS); absent: plain HTTP. */
  tls?: { cert: string; key: string };
}

const HTTP_OF: Partial<Record<number, number>> = {
  [status.NOT_FOUND]: 404,
  [status.FAILED_PRECONDITION]: 503,
  [status.UNAVAILABLE]: 502,
  [status.INVALID_ARGUMENT]: 400,
  [status.UNAUTHENTICATED]: 401,
  [status.PERMISSION_DENIED]: 403,
  [status.RESOURCE_EXHAUSTED]: 429,
};

/**
 * Headers an error answer carries: how to authenticate, and when to try again (an app at
 * max_concurrency frees a slot within seconds).
 */
const ERROR_HEADERS: Partial<Record<number, Record<string, string>>> = {
  [status.UNAUTHENTICATED]: { "www-authenticate": "Bearer" },
  [status.RESOURCE_EXHAUSTED]: { "retry-after": "1" },
};

export function createGateway(d: GatewayDeps): http.Server | https.Server {
  const serve = (req: http.IncomingMessage, res: http.ServerResponse) => {
    void handle(d, req, res).catch((e) => {
      if (e instanceof RpcError) sendJson(res, HTTP_OF[e.code] ?? 500, e.message, ERROR_HEADERS[e.code]);
      else {
        d.log(`gateway error: ${errorMessage(e)}`);
        sendJson(res, 500, "internal gateway error");
      }
    });
  };
  return d.tls ? https.createServer({ cert: d.tls.cert, key: d.tls.key }, serve) : http.createServer(serve);
}

function sendJson(res: http.ServerResponse, code: number, error: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error, status: code }) + "\n";
  res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...extra });
  res.end(body);
}

async function handle(d: GatewayDeps, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const host = (req.headers.host ?? "").toLowerCase().replace(/:\d+$/, "").replace(/\.$/, "");
  const suffix = `.${d.baseDomain.toLowerCase()}`;
  const label = host.endsWith(suffix) ? host.slice(0, -suffix.length) : "";
  const target = label && !label.includes(".") ? await d.platform.apps.resolveHostLabel(label) : undefined;
  if (!target) return sendJson(res, 404, `no app is served at host '${host || "(none)"}'`);
  const { org, app } = target;
  const meta = await d.platform.apps.requireApp(org, app);
  const open = meta.allowUnauthenticated;
  if (open) {
    if (isPreflight(req)) return answerPreflight(res);
    // the gateway's own errors (429, 502 …) are readable by the page too
    res.setHeader("access-control-allow-origin", "*");
  }
  if (!open) d.access.scope(bearerCredential(req.headers.authorization), org);
  let endpoint: InstanceEndpoint;
  const startedMs = Date.now();
  // A client that hangs up while its call waits for a slot (max_concurrency) leaves the queue.
  const gone = new AbortController();
  res.once("close", () => gone.abort());
  const { slot, coldStart, release } = await d.platform.scaling.ensureRunning(org, app, gone.signal);
  res.on("close", release);
  if (target.port !== undefined) {
    const mapped = slot.instance.endpoints.get(target.port);
    if (mapped === undefined || !meta.ports.slice(1).includes(target.port)) {
      release();
      return sendJson(res, 404, `app ${org}/${app} does not declare port ${target.port}`);
    }
    endpoint = mapped;
  } else endpoint = slot.instance.endpoint;
  const executionId = ulid();
  await forward(d.log, { req, res, endpoint, executionId, org, app, host, open, version: slot.version, coldStart, release, startedMs });
}

/** One call the gateway passes to an instance, and what its answer and log line carry. */
interface Forward {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  endpoint: InstanceEndpoint;
  executionId: string;
  org: string;
  app: string;
  host: string;
  /** The app is anonymous (allow_unauthenticated): CORS-open, and the caller's authorization is passed on. */
  open: boolean;
  version: number;
  coldStart: boolean;
  /** Frees the instance's slot once the answer ended (or failed). */
  release: () => void;
  startedMs: number;
}

/** The request's headers as the app sees them: forwardable ones, x-ignite-*, x-forwarded-*. */
function upstreamHeaders(f: Forward): Record<string, string | string[]> {
  const { req } = f;
  const headers: Record<string, string | string[]> = { ...forwardableHeaders(req.headers), ...igniteHeaders(f.executionId, f.org, f.app) };
  if (req.headers["content-length"]) headers["content-length"] = req.headers["content-length"];
  else if (req.headers["transfer-encoding"]) headers["transfer-encoding"] = "chunked";
  headers["x-forwarded-host"] = req.headers.host ?? "";
  headers["x-forwarded-proto"] = "http";
  if (!f.open) delete headers["authorization"];
  return headers;
}

/** Streams the request to the instance and its answer back; resolves when the answer ended or failed. */
function forward(log: (line: string) => void, f: Forward): Promise<void> {
  const { req, res, release } = f;
  return new Promise<void>((resolve) => {
    const up = http.request({ ...f.endpoint, method: req.method, path: req.url ?? "/", headers: upstreamHeaders(f), agent: false }, (ur) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(ur.headers)) {
        if (v === undefined || ["connection", "keep-alive", "transfer-encoding"].includes(k)) continue;
        out[k] = v;
      }
      out["x-ignite-execution-id"] = f.executionId;
      out["x-ignite-version"] = String(f.version);
      if (f.coldStart) out["x-ignite-cold-start"] = "true";
      res.writeHead(ur.statusCode ?? 502, corsHeaders(out, f.open));
      ur.pipe(res);
      ur.on("end", () => {
        release();
        log(`gateway ${req.method} ${f.host}${req.url} -> ${ur.statusCode} (${Date.now() - f.startedMs} ms${f.coldStart ? ", cold start" : ""}) ${f.executionId}`);
        resolve();
      });
      ur.on("error", () => {
        res.destroy();
        resolve();
      });
    });
    up.on("error", (e) => {
      release();
      sendJson(res, 502, `app ${f.org}/${f.app} did not answer on its port: ${e.message}`);
      resolve();
    });
    res.on("close", () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  });
}
