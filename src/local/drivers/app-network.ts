/**
 * A network of its own for every app instance (issue 14): a network namespace the plane creates
 * (`ip netns add`) holding only a loopback interface. Nothing in it can reach the host's loopback,
 * so an app reaches no other app, nor the plane's gRPC or token listeners. The plane and the app
 * meet through unix sockets, which are not bound to a network namespace:
 *
 * - in: for each declared port, `socat` inside the namespace listens on a unix socket in a
 *   directory only the plane can open (<data-dir>/run/net, 0700) and connects each connection to
 *   127.0.0.1:<port> in the namespace. The plane (gateway, invoke, health probe) connects to that
 *   socket itself (`http.request({ socketPath })`): no host port exists that another app or a
 *   local user could find in /proc/net/tcp, and no hop of the plane's own sits in between.
 * - out: inside the namespace, 127.0.0.1:<gateway port> is the gateway (socat to the gateway's unix
 *   socket), so an app calls another app as an outside client would, through the gateway with a
 *   token, and `http://<app>-<org>.<base-domain>:<port>` works once that name resolves to 127.0.0.1
 *   (the host file of app-hosts.ts).
 * - out of a build's or a compile's namespace (`egress`): 127.0.0.1:<egress port> is the plane's
 *   egress proxy (egress/egress-proxy.ts, socat to its unix socket, as for the gateway), which
 *   refuses this machine's own addresses; `proxyEnv` tells what runs there (HTTP_PROXY and the rest).
 *
 * socat forks a process per connection (no limit of its own on concurrent calls) and listens with
 * a backlog of 1024: a unix socket refuses a connection at once when its backlog is full (TCP
 * would retry), and socat's default of 5 failed 13 of 200 concurrent gateway calls. `-t 60`: a
 * client that half-closes after its request (socket.end) still gets the answer; socat's default
 * 0.5 s after the first EOF cut off a slow app's answer.
 *
 * No address outside loopback and the namespaces is ever used (no veth pair, no bridge).
 * Namespaces are named `ign-<plane>-<id>`, so a plane that was killed has its leftovers removed at
 * the next start.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { errorMessage } from "../errors.js";
import { run, which } from "./exec.js";

/** How long a way out's socat may take to listen before the namespace is used anyway. */
const LISTEN_WAIT_MS = 5_000;
/** Per-namespace files that `ip netns exec` binds over /etc (ip-netns(8)). */
const NETNS_ETC = "/etc/netns";

export interface AppNetworkOptions {
  /** Directory for the forwarders' unix sockets (created 0700). */
  socketDir: string;
  /** A short label of this plane (its data dir's hash) naming its namespaces. */
  planeLabel: string;
  /** The gateway's unix socket and loopback port, for the way out; absent: no way out. */
  gateway?: { socket: string; port: () => number };
  /** The plane's hosts file, the app's /etc/hosts (`ip netns exec` binds /etc/netns/<name>/hosts). */
  hostsFile?: string;
  /** The plane's egress proxy: its unix socket and its port inside a namespace made with `egress`; absent: no way out for builds and compiles. */
  egress?: { socket: string; port: number };
  log?: (line: string) => void;
}

/** One instance's namespace and the host ports that reach its declared ports. */
export interface AppNetwork {
  /** `ip netns` name. */
  name: string;
  /** The namespace file (`podman run --network ns:<path>`). */
  path: string;
  /** Declared port -> the unix socket that reaches it. */
  sockets: Map<number, string>;
  /** HTTP_PROXY, HTTPS_PROXY, NO_PROXY (and lower case) for what runs in it; empty without a way out through the egress proxy. */
  proxyEnv: Record<string, string>;
  /** Stops the forwarders and deletes the namespace (idempotent). */
  close(): Promise<void>;
}

/** Why per-app network namespaces cannot be made here ("" when they can): root, `ip` and `socat`. */
export async function appNetworkMissing(): Promise<string> {
  if (process.getuid?.() !== 0) return "the control plane does not run as root (network namespaces need it)";
  const missing = [];
  if (!(await which("ip"))) missing.push("ip (iproute2)");
  if (!(await which("socat"))) missing.push("socat");
  return missing.length ? `${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not installed` : "";
}

export class AppNetworks {
  private readonly prefix: string;

  constructor(private readonly o: AppNetworkOptions) {
    this.prefix = `ign-${o.planeLabel.slice(0, 8)}-`;
  }

  /** Removes the namespaces (and whatever still runs in them) that a killed plane left behind. */
  async init(): Promise<void> {
    await fsp.mkdir(this.o.socketDir, { recursive: true, mode: 0o700 });
    await fsp.chmod(this.o.socketDir, 0o700);
    const list = await run("ip", ["netns", "list"], { timeoutMs: 10_000 });
    const left = list.stdout.split("\n").map((l) => l.split(" ")[0]!).filter((n) => n.startsWith(this.prefix));
    for (const name of left) await this.remove(name);
    if (left.length) this.o.log?.(`removed ${left.length} network namespace(s) left by a previous run`);
    const etc = await fsp.readdir(NETNS_ETC).catch(() => []);
    for (const f of etc.filter((n) => n.startsWith(this.prefix))) await fsp.rm(path.join(NETNS_ETC, f), { recursive: true, force: true });
    for (const f of await fsp.readdir(this.o.socketDir)) await fsp.rm(path.join(this.o.socketDir, f), { recursive: true, force: true });
  }

  /** Whether namespaces made with `egress` get a way out through the plane's egress proxy (not with --offline). */
  get hasEgress(): boolean {
    return this.o.egress !== undefined;
  }

  /**
   * A new namespace with loopback up, forwarders in for `ports` and out to the gateway (with
   * `gateway: false`, as a build or a compile gets it: no way to the gateway and no hosts file;
   * with `egress`, as they get it, the way out through the egress proxy, listening once this returns).
   */
  async create(ports: readonly number[], log: (line: string) => void, o: { gateway?: boolean; egress?: boolean } = {}): Promise<AppNetwork> {
    const wayOut = o.gateway !== false;
    const name = this.prefix + randomBytes(5).toString("hex");
    const nsPath = `/run/netns/${name}`;
    const socks = path.join(this.o.socketDir, name);
    const children: ChildProcess[] = [];
    let closed: Promise<void> | undefined;
    const close = () => {
      closed ??= (async () => {
        for (const c of children) c.kill("SIGKILL");
        await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once("exit", r)) : undefined)));
        await this.remove(name);
        await fsp.rm(socks, { recursive: true, force: true });
      })();
      return closed;
    };
    try {
      await this.ip(["netns", "add", name]);
      await this.ip(["-n", name, "link", "set", "lo", "up"]);
      if (this.o.hostsFile && wayOut) {
        // `ip netns exec` bind-mounts what /etc/netns/<name>/ holds over /etc: the link's target
        // (its inode, which HostNames rewrites in place) becomes the app's /etc/hosts
        await fsp.mkdir(path.join(NETNS_ETC, name), { recursive: true });
        await fsp.symlink(this.o.hostsFile, path.join(NETNS_ETC, name, "hosts"));
      }
      await fsp.mkdir(socks, { mode: 0o700 });
      const sockets = new Map<number, string>();
      for (const port of ports) {
        const sock = path.join(socks, `${port}.sock`);
        children.push(this.socat(name, ["-t", "60", `UNIX-LISTEN:${sock},fork,mode=600,unlink-early,backlog=1024`, `TCP4:127.0.0.1:${port}`], log));
        sockets.set(port, sock);
      }
      const gw = this.o.gateway;
      const gwPort = gw?.port() ?? 0;
      if (wayOut && gw && gwPort > 0) {
        if (ports.includes(gwPort)) log(`no way out to the gateway: the app declares port ${gwPort}, the gateway's`);
        else children.push(this.wayOut(name, { port: gwPort, socket: gw.socket }, log).child);
      }
      const egress = o.egress ? this.o.egress : undefined;
      if (egress) {
        const out = this.wayOut(name, egress, log, { waitListening: true });
        children.push(out.child);
        // a toolchain command starts at once: the forwarder must listen before it does
        await out.listening;
      }
      return { name, path: nsPath, sockets, proxyEnv: egress ? proxyEnvironment(`http://127.0.0.1:${egress.port}`) : {}, close };
    } catch (e) {
      await close();
      throw new Error(`cannot make the app's network namespace: ${errorMessage(e)}`);
    }
  }

  private async ip(args: string[]): Promise<void> {
    const r = await run("ip", args, { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }

  /**
   * The way out of a namespace: 127.0.0.1:<port> in it connects to the plane's unix socket. With
   * `waitListening`, socat says what it does (-d -d) and `listening` resolves once it listens (or
   * has ended, or has not said so within LISTEN_WAIT_MS, logged); its notices are not logged, only
   * warnings and errors.
   */
  private wayOut(ns: string, to: { port: number; socket: string }, log: (line: string) => void, o: { waitListening?: boolean } = {}): { child: ChildProcess; listening: Promise<void> } {
    let listened = () => undefined as void;
    const listening = new Promise<void>((resolve) => (listened = resolve));
    const args = [`TCP4-LISTEN:${to.port},bind=127.0.0.1,fork,reuseaddr,backlog=1024`, `UNIX-CONNECT:${to.socket}`];
    const child = this.socat(ns, o.waitListening ? ["-d", "-d", ...args] : args, log, o.waitListening ? (l) => / listening on /.test(l) && listened() : undefined);
    child.once("exit", () => listened());
    child.once("error", () => listened());
    if (!o.waitListening) listened();
    const late = setTimeout(() => {
      log(`socat: no word of listening on 127.0.0.1:${to.port} after ${LISTEN_WAIT_MS / 1000} s; going on`);
      listened();
    }, LISTEN_WAIT_MS);
    void listening.then(() => clearTimeout(late));
    return { child, listening };
  }

  /** socat in the namespace, its stderr logged by line (with `notice`, socat's notice lines go there instead). */
  private socat(ns: string, args: string[], log: (line: string) => void, notice?: (line: string) => void): ChildProcess {
    const child = spawn("ip", ["netns", "exec", ns, "socat", ...args], { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr!.on("data", (d: Buffer) => {
      for (const line of d.toString().split("\n").map((l) => l.trim()).filter(Boolean)) {
        if (notice && / socat\[\d+\] [NID] /.test(line)) notice(line);
        else log(`socat: ${line}`);
      }
    });
    child.on("error", (e) => log(`socat: ${e.message}`));
    return child;
  }

  /** Kills what still runs in a namespace, then deletes it. */
  private async remove(name: string): Promise<void> {
    const pids = await run("ip", ["netns", "pids", name], { timeoutMs: 10_000 });
    for (const p of pids.stdout.split("\n").map(Number).filter((n) => n > 1)) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // gone already
      }
    }
    await run("ip", ["netns", "del", name], { timeoutMs: 10_000 });
    await fsp.rm(path.join(NETNS_ETC, name), { recursive: true, force: true });
  }
}

/**
 * What a build's RUN steps or a compile's toolchain are told of the way out: curl, wget, pip, npm,
 * deno, go and cargo read these. Local names go direct, to the namespace's own loopback (a RUN step
 * testing a server it started), where the proxy would refuse them anyway.
 */
function proxyEnvironment(url: string): Record<string, string> {
  const local = "localhost,127.0.0.1,::1";
  return { HTTP_PROXY: url, HTTPS_PROXY: url, http_proxy: url, https_proxy: url, NO_PROXY: local, no_proxy: local };
}
