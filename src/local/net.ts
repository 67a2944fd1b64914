// Loopback ports and listen addresses.
import * as net from "node:net";

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Splits "host:port" (port may be 0). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(listen);
  if (!m) throw new Error(`invalid listen address '${listen}' (expected HOST:PORT)`);
  return { host: m[1]!, port: Number(m[2]) };
}

/** Whether a host is a loopback address: the only place a plain-HTTP registry may listen or be pulled from. */
export function isLoopbackHost(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === "::1" || host === "localhost";
}

/** A host as a URL or a gRPC target writes it: an IPv6 address in brackets. */
export function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** Listens on a TCP port of `host` (0: a free one) or on a unix socket; rejects with the listen's error. */
export function listenOn(server: net.Server, at: { host: string; port: number } | { socket: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const listening = () => {
      server.off("error", reject);
      resolve();
    };
    if ("socket" in at) server.listen(at.socket, listening);
    else server.listen(at.port, at.host, listening);
  });
}

/** Stops a server listening; resolves once its open connections have ended too. */
export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
