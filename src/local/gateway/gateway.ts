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
  const sendJson = (res: http.ServerResponse, code: number, error: string, extra: Record<string, string> = {}) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = JSON.stringify({ error, status: code }) + "\n";
    res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...extra });
    res.end(body);
  };

  const serve = (req: http.IncomingMessage, res: http.ServerResponse) => {
    void handle(req, res).catch((e) => {
      if (e instanceof RpcError) sendJson(res, HTTP_OF[e.code] ?? 500, e.message, ERROR_HEADERS[e.code]);
      else {
        d.log(`gateway error: ${errorMessage(e)}`);
        sendJson(res, 500, "internal gateway error");
      }
    });
  };
  const server = d.tls ? https.createServer({ cert: d.tls.cert, key: d.tls.key }, serve) : http.createServer(serve);

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const host = (req.headers.host ?? "").toLowerCase().replace(/:\d+$/, "").replace(/\.$/, "");
    const suffix = `.${d.baseDomain.toLowerCase()}`;
    const label = host.endsWith(suffix) ? host.slice(0, -suffix.length) : "";
    const target = label && !label.includes(".") ? await d.platform.apps.resolveHostLabel(label) : undefined;
    if (!target) return sendJson(res, 404, `no app is served at host '${host || "(none)"}'`);
    const { org, app } = target;
    const meta = await d.platform.apps.requireApp(org, app);
    if (meta.allowUnauthenticated) {
      if (isPreflight(req)) return answerPreflight(res);
      // the gateway's own errors (429, 502 …) are readable by the page too
      res.setHeader("access-control-allow-origin", "*");
    }
    if (!meta.allowUnauthenticated) d.access.scope(bearerCredential(req.headers.authorization), org);
    let endpoint: InstanceEndpoint;
    const started = Date.now();
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
    const headers: Record<string, string | string[]> = { ...forwardableHeaders(req.headers), ...igniteHeaders(executionId, org, app) };
    if (req.headers["content-length"]) headers["content-length"] = req.headers["content-length"];
    else if (req.headers["transfer-encoding"]) headers["transfer-encoding"] = "chunked";
    headers["x-forwarded-host"] = req.headers.host ?? "";
    headers["x-forwarded-proto"] = "http";
    if (!meta.allowUnauthenticated) delete headers["authorization"];
    await new Promise<void>((resolve) => {
      const up = http.request({ ...endpoint, method: req.method, path: req.url ?? "/", headers, agent: false }, (ur) => {
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(ur.headers)) {
          if (v === undefined || ["connection", "keep-alive", "transfer-encoding"].includes(k)) continue;
          out[k] = v;
        }
        out["x-ignite-execution-id"] = executionId;
        out["x-ignite-version"] = String(slot.version);
        if (coldStart) out["x-ignite-cold-start"] = "true";
        res.writeHead(ur.statusCode ?? 502, corsHeaders(out, meta.allowUnauthenticated));
        ur.pipe(res);
        ur.on("end", () => {
          release();
          d.log(`gateway ${req.method} ${host}${req.url} -> ${ur.statusCode} (${Date.now() - started} ms${coldStart ? ", cold start" : ""}) ${executionId}`);
          resolve();
        });
        ur.on("error", () => {
          res.destroy();
          resolve();
        });
      });
      up.on("error", (e) => {
        release();
        sendJson(res, 502, `app ${org}/${app} did not answer on its port: ${e.message}`);
        resolve();
      });
      res.on("close", () => {
        if (!res.writableFinished) up.destroy();
      });
      req.pipe(up);
    });
  }

  return server;
}
