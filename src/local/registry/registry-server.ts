/**
 * The distribution registry (Debian's `docker-registry` package, distribution 2.8) as a child
 * process: a generated config (a loopback listen address, storage, optional htpasswd or token auth)
 * under one directory, started, waited for (its own "listening on" log line, which also names the
 * port when asked for port 0) and stopped. Plain HTTP, so only loopback addresses are accepted.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promises as fsp, readFileSync } from "node:fs";
import * as path from "node:path";
import bcrypt from "bcryptjs";
import { stringify } from "yaml";
import { atomicWrite } from "../atomic-fs.js";
import { run, tail, which } from "../drivers/exec.js";
import { isLoopbackHost, parseListen } from "../net.js";

/** Debian's package installs the registry under this name (upstream's binary is `registry`). */
export const REGISTRY_BINARIES = ["docker-registry", "registry"];

export type RegistryAuth =
  /** Basic auth against bcrypt hashes of these users (distribution accepts bcrypt only). */
  | { kind: "htpasswd"; users: Record<string, string>; realm?: string }
  /**
   * Bearer tokens (distribution's `auth: token`): clients get a JWT from `realm` and the registry
   * verifies its signature against the certificates in `rootCertBundleFile`, its `iss` against
   * `issuer` and its `aud` against `service`.
   */
  | { kind: "token"; realm: string; service: string; issuer: string; rootCertBundleFile: string };

export interface RegistryServerOptions {
  /** Holds config.yml, storage/, htpasswd and registry.pid; created (0700) if missing. */
  dir: string;
  /** Loopback HOST:PORT (default "127.0.0.1:0": a free port). */
  listen?: string;
  auth?: RegistryAuth;
  /** The registry binary (default: the first of REGISTRY_BINARIES on PATH). */
  binary?: string;
  /** Receives the registry's warnings and errors (one line each). */
  log?: (line: string) => void;
  /** How long the registry may take to listen (default 30 s). */
  readyTimeoutMs?: number;
}

export interface RunningRegistry {
  /** HOST:PORT as it appears in image references, e.g. "127.0.0.1:41234". */
  host: string;
  /** "http://HOST:PORT". */
  url: string;
  /** The storage root (filesystem driver). */
  storageDir: string;
  pid: number;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone (idempotent). */
  stop(): Promise<void>;
}

export class RegistryUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegistryUnavailableError";
  }
}

/** The registry binary on PATH, or undefined when the package is not installed. */
export async function findRegistryBinary(pathVar?: string): Promise<string | undefined> {
  for (const name of REGISTRY_BINARIES) {
    const p = await which(name, pathVar);
    if (p) return p;
  }
  return undefined;
}

// The plain-HTTP rule is shared with the pull policy (drivers/image-pull.ts).
export { isLoopbackHost };

const STOP_KILL_AFTER_MS = 5_000;

export async function startRegistry(o: RegistryServerOptions): Promise<RunningRegistry> {
  const listen = parseListen(o.listen ?? "127.0.0.1:0");
  if (!isLoopbackHost(listen.host)) throw new Error(`the registry serves plain HTTP, so it listens on loopback only (not ${listen.host})`);
  const binary = o.binary ?? (await findRegistryBinary());
  if (!binary) throw new RegistryUnavailableError("the registry is not installed (apt-get install -y docker-registry)");
  const dir = path.resolve(o.dir);
  const storageDir = path.join(dir, "storage");
  await fsp.mkdir(storageDir, { recursive: true, mode: 0o700 });
  await fsp.chmod(dir, 0o700);
  const configFile = path.join(dir, "config.yml");
  const pidFile = path.join(dir, "registry.pid");
  await killLeftover(pidFile, configFile);

  const addr = listen.host.includes(":") ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
  const config: Record<string, unknown> = {
    version: 0.1,
    // JSON lines: the start-up line carries the bound address; request logs stay out (accesslog).
    log: { level: "info", formatter: "json", accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: storageDir },
      delete: { enabled: true },
      // The plane removes what it no longer references; nothing runs behind its back.
      maintenance: { uploadpurging: { enabled: false }, readonly: { enabled: false } },
    },
    http: {
      addr,
      // Signs upload-session state between requests; a new one each start is fine (uploads do not
      // outlive the process).
      secret: randomBytes(24).toString("hex"),
      headers: { "X-Content-Type-Options": ["nosniff"] },
    },
  };
  if (o.auth?.kind === "htpasswd") {
    const htpasswd = path.join(dir, "htpasswd");
    const lines = Object.entries(o.auth.users).map(([user, password]) => {
      if (!user || /[:\s]/.test(user)) throw new Error(`registry user name '${user}' is not allowed`);
      return `${user}:${bcrypt.hashSync(password, 10)}`;
    });
    await atomicWrite(htpasswd, lines.join("\n") + "\n");
    config["auth"] = { htpasswd: { realm: o.auth.realm ?? "dodil-ignite", path: htpasswd } };
  } else if (o.auth?.kind === "token") {
    config["auth"] = {
      token: { realm: o.auth.realm, service: o.auth.service, issuer: o.auth.issuer, rootcertbundle: o.auth.rootCertBundleFile },
    };
  }
  await atomicWrite(configFile, stringify(config));

  const child = spawn(binary, ["serve", configFile], { cwd: dir, stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env["PATH"] ?? "" } });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    const bound = await waitListening(child, o.log ?? (() => undefined), o.readyTimeoutMs ?? 30_000);
    await atomicWrite(pidFile, `${child.pid}\n`);
    // Go prints the address as net.JoinHostPort does: "[::1]:5000" for IPv6, as image refs need it.
    const host = bound;
    let stopping: Promise<void> | undefined;
    return {
      host,
      url: `http://${host}`,
      storageDir,
      pid: child.pid!,
      stop: () => {
        stopping ??= (async () => {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill("SIGTERM");
            const t = setTimeout(() => child.kill("SIGKILL"), STOP_KILL_AFTER_MS);
            await exited;
            clearTimeout(t);
          }
          await fsp.rm(pidFile, { force: true });
        })();
        return stopping;
      },
    };
  } catch (e) {
    child.kill("SIGKILL");
    await exited;
    throw e;
  }
}

/**
 * `registry garbage-collect` over the storage of `dir` (its config.yml): removes the blobs no
 * manifest refers to any more. Distribution requires that nothing writes meanwhile (the registry
 * stopped or read-only): the caller runs it with no registry serving `dir`. Resolves to the number
 * of blobs removed.
 */
export async function garbageCollect(dir: string, o: { binary?: string; timeoutMs?: number } = {}): Promise<number> {
  const binary = o.binary ?? (await findRegistryBinary());
  if (!binary) throw new RegistryUnavailableError("the registry is not installed (apt-get install -y docker-registry)");
  const configFile = path.join(path.resolve(dir), "config.yml");
  const r = await run(binary, ["garbage-collect", configFile], { cwd: dir, env: { PATH: process.env["PATH"] ?? "" }, timeoutMs: o.timeoutMs ?? 10 * 60_000 });
  if (r.code !== 0) throw new Error(`registry garbage-collect failed: ${tail(r.stderr || r.stdout, 2) || `exit ${r.code ?? r.signal}`}`);
  // one "blob eligible for deletion: sha256:…" line per blob it then deletes
  return (r.stdout + r.stderr).split("\n").filter((l) => /blob eligible for deletion/.test(l)).length;
}

/**
 * Reads the registry's JSON log lines from stderr until "listening on ADDR" (the bound address),
 * forwarding warnings and errors to `log` for as long as the process lives.
 */
function waitListening(child: ChildProcess, log: (l: string) => void, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let partial = "";
    let recent: string[] = [];
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
    };
    const timer = setTimeout(() => settle(() => reject(new Error(`the registry did not listen within ${timeoutMs / 1000} s: ${recent.join(" | ")}`))), timeoutMs);
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.trim()) continue;
        let entry: { level?: string; msg?: string; err?: string } | undefined;
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          entry = { level: "error", msg: line };
        }
        const msg = String(entry?.msg ?? "") + (entry?.err ? `: ${entry.err}` : "");
        recent = [...recent, msg].slice(-3);
        const m = /^listening on (\S+)$/.exec(msg);
        if (m) settle(() => resolve(m[1]!));
        else if (entry?.level === "error" || entry?.level === "warning" || entry?.level === "fatal" || entry?.level === "panic") log(`registry: ${msg}`);
      }
    });
    child.once("error", (e) => settle(() => reject(new RegistryUnavailableError(`the registry could not be started: ${e.message}`))));
    child.once("exit", (code, sig) => settle(() => reject(new Error(`the registry exited (${code ?? sig}) before listening: ${recent.join(" | ") || "no output"}`))));
  });
}

/** A registry a previous run of this directory left (the plane was killed): stopped before a new one starts. */
async function killLeftover(pidFile: string, configFile: string): Promise<void> {
  const pid = Number((await fsp.readFile(pidFile, "utf8").catch(() => "")).trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  let cmdline = "";
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    // gone
  }
  // Only a registry serving this very config: the pid may have been reused by anything else.
  if (cmdline.split("\0").includes(configFile)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
    for (let i = 0; i < 100 && (await fsp.stat(`/proc/${pid}`).catch(() => undefined)); i++) await new Promise((r) => setTimeout(r, 20));
  }
  await fsp.rm(pidFile, { force: true });
}
