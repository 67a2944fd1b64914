/**
 * The way out of builds and compiles (issue 14): an HTTP forward proxy of the plane. RUN steps and
 * toolchain commands run in network namespaces of their own, loopback only (drivers/app-network.ts),
 * so the plane's listeners, other apps and this machine's services are out of their reach; but a
 * Dockerfile's `RUN npm ci` or `pip install`, and Deno's `jsr:`/`npm:`/`https:` imports, need the
 * registries. Inside such a namespace `127.0.0.1:<EGRESS_PROXY_PORT>` is this proxy (the same socat
 * way out as the gateway's, to the unix socket below), and HTTP_PROXY/HTTPS_PROXY point there.
 *
 * It serves `CONNECT host:port` (https, any TLS or other stream) and absolute-URI requests
 * (`GET http://host/...`, plain http). Each destination is resolved once, every address it resolves
 * to is checked, and the connection goes to the checked addresses (never the name again), so a name
 * that answers a public address to the check and a loopback one to the connect gets nowhere. Refused
 * (403 and one log line): loopback, unspecified (0.0.0.0/8, ::), link-local (169.254/16 with the
 * cloud metadata address, fe80::/10), multicast and broadcast, IPv4-mapped forms of those, and every
 * address of this machine's interfaces, which covers every address the plane listens on (a
 * wildcard listen included) and the other services of the machine. Everything else is allowed.
 *
 * It listens only on a unix socket in the plane's run directory (0700), never on a port: what
 * reaches it is a namespace's forwarder (or root).
 */
import { ADDRCONFIG } from "node:dns";
import * as dns from "node:dns/promises";
import { promises as fsp } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { Duplex } from "node:stream";
import { errorMessage } from "../errors.js";
import { listenOn } from "../net.js";

/** The proxy's port inside a build's or a compile's namespace (squid's, what proxy users expect). */
export const EGRESS_PROXY_PORT = 3128;
/** How long a destination may take to accept the connection. */
const CONNECT_TIMEOUT_MS = 30_000;

/** Address ranges no build may reach, each with the word the refusal says. */
const REFUSED: Array<[string, net.BlockList]> = [
  ["loopback", subnets([["127.0.0.0", 8, "ipv4"], ["::1", 128, "ipv6"]])],
  ["unspecified", subnets([["0.0.0.0", 8, "ipv4"], ["::", 128, "ipv6"]])],
  ["link-local", subnets([["169.254.0.0", 16, "ipv4"], ["fe80::", 10, "ipv6"]])],
  ["multicast or broadcast", subnets([["224.0.0.0", 4, "ipv4"], ["255.255.255.255", 32, "ipv4"], ["ff00::", 8, "ipv6"]])],
];

function subnets(list: Array<[string, number, "ipv4" | "ipv6"]>): net.BlockList {
  const b = new net.BlockList();
  for (const [addr, prefix, family] of list) b.addSubnet(addr, prefix, family);
  return b;
}

/** `::ffff:127.0.0.1` (and its hex form) is 127.0.0.1: the IPv4 address an IPv4-mapped one reaches. */
function unmapped(ip: string): string {
  const m = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(ip);
  if (!m) return ip;
  if (m[1]) return m[1];
  const hi = parseInt(m[2]!, 16);
  const lo = parseInt(m[3]!, 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join(".");
}

/** Why a build may not reach `ip` ("" when it may). */
export function refusedAddress(ip: string): string {
  const a = unmapped(ip.toLowerCase());
  const family = net.isIP(a) === 6 ? "ipv6" : "ipv4";
  for (const [why, list] of REFUSED) if (list.check(a, family)) return why;
  const own = Object.values(os.networkInterfaces()).flatMap((l) => (l ?? []).map((i) => unmapped(i.address.toLowerCase().split("%")[0]!)));
  if (own.includes(a)) return "an address of this machine";
  return "";
}

/**
 * A lookup answering only the addresses that were checked, so a connection never asks DNS again;
 * with all of them, a connection tries each in turn (autoSelectFamily: an AAAA record on a machine
 * without an IPv6 route still reaches the A record's address).
 */
export function checkedLookup(addresses: string[]): net.LookupFunction {
  const list = addresses.map((address) => ({ address, family: net.isIP(address) }));
  return (_host, options, callback) => {
    if (options.all) (callback as unknown as (e: null, all: typeof list) => void)(null, list);
    else callback(null, list[0]!.address, list[0]!.family);
  };
}

/** host and port of a CONNECT's authority (`host:port`, `[v6]:port`); undefined when it is not one. */
function authority(target: string): { host: string; port: number } | undefined {
  if (!/^[^/?#@\s]+:\d{1,5}$/.test(target)) return undefined;
  return hostPort(`http://${target}`);
}

function hostPort(href: string): { host: string; port: number; url: URL } | undefined {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return undefined;
  }
  const port = Number(url.port || (url.protocol === "http:" ? 80 : 0));
  if (!url.hostname || !(port > 0 && port < 65536)) return undefined;
  return { host: url.hostname.replace(/^\[|\]$/g, ""), port, url };
}

/** Headers of one hop, not forwarded (RFC 9110 7.6.1), plus what the client told the proxy. */
function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const hop = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade"]);
  for (const h of String(headers["connection"] ?? "").split(",")) hop.add(h.trim().toLowerCase());
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (!hop.has(k) && v !== undefined) out[k] = v;
  return out;
}

export class EgressProxy {
  private readonly sockets = new Set<Duplex>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: http.Server,
    readonly socket: string,
    private readonly log: (line: string) => void,
  ) {}

  /** The proxy listening on `socket` (its directory made 0700, the socket 0600). */
  static async open(o: { socket: string; log: (line: string) => void }): Promise<EgressProxy> {
    await fsp.mkdir(path.dirname(o.socket), { recursive: true, mode: 0o700 });
    await fsp.chmod(path.dirname(o.socket), 0o700);
    await fsp.rm(o.socket, { force: true });
    const server = http.createServer();
    const proxy = new EgressProxy(server, o.socket, o.log);
    server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => void proxy.forward(req, res));
    server.on("connect", (req: http.IncomingMessage, client: Duplex, head: Buffer) => void proxy.tunnel(req, client, head));
    server.on("connection", (s: net.Socket) => proxy.track(s));
    server.on("clientError", (_e, s: Duplex) => (s.writable ? s.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n") : s.destroy()));
    await listenOn(server, { socket: o.socket });
    await fsp.chmod(o.socket, 0o600);
    return proxy;
  }

  /** Stops listening and cuts every connection (tunnels included). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const s of this.sockets) s.destroy();
      await closed;
    })();
    return this.closing;
  }

  private track(s: Duplex): void {
    this.sockets.add(s);
    s.once("close", () => this.sockets.delete(s));
    s.on("error", () => undefined);
  }

  /**
   * The address to connect to for `host` (resolved once), or undefined when the request was answered:
   * 403 when any address it resolves to is refused, 502 when it does not resolve.
   */
  private async destination(what: string, host: string, refuse: (status: number, text: string) => void): Promise<net.LookupFunction | undefined> {
    let addresses: string[];
    try {
      addresses = net.isIP(host) ? [host] : (await dns.lookup(host, { all: true, hints: ADDRCONFIG })).map((a) => a.address);
    } catch (e) {
      refuse(502, `cannot resolve ${host}: ${errorMessage(e)}`);
      return undefined;
    }
    for (const a of addresses) {
      const why = refusedAddress(a);
      if (!why) continue;
      this.log(`egress proxy: refused ${what}: ${a} is ${why}`);
      refuse(403, `the build's egress proxy refuses ${a} (${why})`);
      return undefined;
    }
    return checkedLookup(addresses);
  }

  private async tunnel(req: http.IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    this.track(client);
    const answer = (status: number, text: string) => {
      client.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text) + 1}\r\n\r\n${text}\n`);
    };
    const to = authority(req.url ?? "");
    if (!to) return answer(400, "CONNECT wants host:port");
    const lookup = await this.destination(`CONNECT ${req.url}`, to.host, answer);
    if (!lookup || client.destroyed) return;
    const upstream = net.connect({ host: to.host, port: to.port, lookup, autoSelectFamily: true, timeout: CONNECT_TIMEOUT_MS });
    this.track(upstream);
    let open = false;
    upstream.once("timeout", () => upstream.destroy(new Error("timed out")));
    upstream.once("connect", () => {
      open = true;
      upstream.setTimeout(0);
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once("error", (e) => (open ? client.destroy() : answer(502, `cannot connect to ${req.url}: ${e.message}`)));
    upstream.once("close", () => open && client.destroy());
    client.once("close", () => upstream.destroy());
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const answer = (status: number, text: string) => {
      if (!res.headersSent) res.writeHead(status, { "content-type": "text/plain", connection: "close" });
      res.end(`${text}\n`);
    };
    const to = /^http:\/\//i.test(req.url ?? "") ? hostPort(req.url!) : undefined;
    if (!to) return answer(400, "this is a proxy: send an absolute http:// URL, or CONNECT for https");
    const lookup = await this.destination(`${req.method} ${to.url.origin}`, to.host, answer);
    if (!lookup) return;
    // (http.request hands these to the connection; its types do not list autoSelectFamily yet)
    const connect: Pick<net.TcpNetConnectOpts, "lookup" | "autoSelectFamily"> = { lookup, autoSelectFamily: true };
    const upstream = http.request({ host: to.host, port: to.port, ...connect, method: req.method, path: to.url.pathname + to.url.search, headers: { ...endToEnd(req.headers), host: to.url.host }, agent: false, timeout: CONNECT_TIMEOUT_MS });
    upstream.once("socket", (s) => this.track(s));
    upstream.once("response", (r) => {
      upstream.setTimeout(0);
      res.writeHead(r.statusCode ?? 502, r.statusMessage, endToEnd(r.headers));
      r.pipe(res);
    });
    upstream.once("timeout", () => upstream.destroy(new Error("timed out")));
    upstream.once("error", (e) => (res.headersSent ? res.destroy() : answer(502, `cannot reach ${to.url.origin}: ${e.message}`)));
    res.once("close", () => upstream.destroy());
    req.pipe(upstream);
  }
}
