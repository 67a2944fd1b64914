/**
 * A small Docker Engine API client (node:http over a unix socket or loopback TCP): only what the
 * docker driver needs. Works against dockerd and against `podman system service`.
 */
import * as http from "node:http";

export interface DockerEndpoint {
  socketPath?: string;
  host?: string;
  port?: number;
  display: string;
}

/** DOCKER_HOST (unix:// or loopback tcp://) or /var/run/docker.sock; undefined for anything else. */
export function dockerEndpoint(env: NodeJS.ProcessEnv = process.env): DockerEndpoint | undefined {
  const h = env["DOCKER_HOST"]?.trim();
  if (!h) return { socketPath: "/var/run/docker.sock", display: "unix:///var/run/docker.sock" };
  if (h.startsWith("unix://")) return { socketPath: h.slice("unix://".length), display: h };
  const m = /^(?:tcp|http):\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\]):(\d+)\/?$/.exec(h);
  // only loopback: this control plane never sends traffic off the machine
  if (m) return { host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]), display: h };
  return undefined;
}

export class DockerApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "DockerApiError";
  }
}

export interface DockerRequest {
  method?: string;
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** A raw request body stream (e.g. a tar for /build); sets the content type given. */
  stream?: NodeJS.ReadableStream;
  contentType?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

function target(ep: DockerEndpoint, r: DockerRequest): http.RequestOptions {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(r.query ?? {})) if (v !== undefined) q.set(k, v);
  const qs = q.toString();
  return {
    ...(ep.socketPath ? { socketPath: ep.socketPath } : { host: ep.host, port: ep.port }),
    method: r.method ?? "GET",
    path: `${r.path}${qs ? `?${qs}` : ""}`,
    headers: { ...(r.headers ?? {}), ...(r.body !== undefined ? { "content-type": "application/json" } : r.contentType ? { "content-type": r.contentType } : {}) },
    agent: false,
  };
}

/** Opens a request and resolves with the response (status checked: >= 400 rejects with the message). */
export function dockerRequest(ep: DockerEndpoint, r: DockerRequest): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request(target(ep, r), (res) => {
      if ((res.statusCode ?? 0) >= 400) {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => {
          let msg = text.trim();
          try {
            msg = (JSON.parse(text) as { message?: string }).message ?? msg;
          } catch {
            // plain text
          }
          reject(new DockerApiError(res.statusCode ?? 0, msg || `HTTP ${res.statusCode}`));
        });
        return;
      }
      resolve(res);
    });
    if (r.timeoutMs) req.setTimeout(r.timeoutMs, () => req.destroy(new Error(`no answer within ${r.timeoutMs} ms`)));
    const onAbort = () => req.destroy(new Error("cancelled"));
    r.signal?.addEventListener("abort", onAbort, { once: true });
    req.on("close", () => r.signal?.removeEventListener("abort", onAbort));
    req.on("error", reject);
    if (r.stream) r.stream.pipe(req);
    else req.end(r.body !== undefined ? JSON.stringify(r.body) : undefined);
  });
}

export async function readAll(res: http.IncomingMessage): Promise<string> {
  let text = "";
  res.setEncoding("utf8");
  for await (const chunk of res) text += chunk as string;
  return text;
}

export async function dockerJson<T>(ep: DockerEndpoint, r: DockerRequest): Promise<T> {
  const res = await dockerRequest(ep, { timeoutMs: 60_000, ...r });
  const text = await readAll(res);
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * Asks the engine whether it is there: GET /_ping, whose headers name it (`Server: Docker/27.3.1
 * (linux)`, `Server: Libpod/4.3.1 (linux)`) and its API version. Not /version: podman's answers it
 * from a full `podman info` (store lock, a --version run of every helper binary), 0.9 s on an idle
 * machine and past any probe's bound while other podman processes are busy.
 */
export async function dockerPing(ep: DockerEndpoint, timeoutMs = 3_000): Promise<{ name: string; version: string; apiVersion: string }> {
  const res = await dockerRequest(ep, { path: "/_ping", timeoutMs });
  res.resume();
  const server = /^([^/\s]+)\/(\S+)/.exec(String(res.headers["server"] ?? ""));
  return { name: server?.[1] ?? "Engine", version: server?.[2] ?? "?", apiVersion: String(res.headers["api-version"] ?? "?") };
}

/** Reads a JSON-lines progress stream (/build, /images/create), calling `each` per object. */
export async function jsonLines(res: http.IncomingMessage, each: (o: Record<string, unknown>) => void): Promise<void> {
  let partial = "";
  res.setEncoding("utf8");
  for await (const chunk of res) {
    const lines = (partial + (chunk as string)).split(/\r?\n/);
    partial = lines.pop() ?? "";
    for (const l of lines) if (l.trim()) each(JSON.parse(l) as Record<string, unknown>);
  }
  if (partial.trim()) each(JSON.parse(partial) as Record<string, unknown>);
}
