/**
 * Where a managed-runtime compile's toolchain runs (issue 14). `cargo build` runs the app's build
 * scripts and procedural macros, `pip install` a package's setup.py, and every toolchain reads what
 * the sources point it at (`include_bytes!`, a `replace` or `path` dependency, a `file:` import),
 * so a compile is another organization's code. Where the plane runs as root with `ip` and `socat`
 * it gets what the host driver's apps get (host-sandbox.ts, host-process.ts, app-network.ts):
 *
 * - a user of its own per organization (`compile:<org>`: its caches are the org's) and a workspace
 *   only that user can open, `/run/dodil-ignite/<plane>/compiles/<id>/{src,out,home}`, outside the
 *   data dir (0700 root), which it cannot open;
 * - a network namespace of its own for every toolchain command, loopback only: the plane's
 *   listeners and other apps are unreachable; its one way out is the plane's egress proxy
 *   (egress/, HTTP_PROXY and the rest set; not with --offline), which refuses this machine's own
 *   addresses, so deno's remote imports and pip's index are fetched through it (Go and cargo stay
 *   offline: GOPROXY=off, cargo's local registry); whatever the command left running (in it, or
 *   anywhere as the compile's user) is killed before the plane reads the results;
 * - the org's caches (Go build cache, cargo target dir) kept in the data dir
 *   (`cache/compile/<org>`, owned by that user) and bind-mounted at `<workspace>/cache` in the
 *   command's own mount namespace.
 *
 * Elsewhere the toolchain runs as the plane's user in the data dir, and with several organizations
 * served a compile is refused (the host driver's one-organization rule, docs/threat-model.md).
 * Toolchains readable by every user are needed: /usr/lib/go, /usr/share/cargo/registry, deno, python.
 */
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { run, type RunOptions, type RunResult } from "../drivers/exec.js";
import type { AppNetworks } from "../drivers/app-network.js";
import { killUserProcesses, pathForOthers, type HostSandboxes } from "../drivers/host-sandbox.js";
import { sandboxedCommand, type SandboxBind } from "../drivers/host-process.js";
import { BuildFailure } from "../drivers/types.js";
import { KeyedMutex } from "../keyed-mutex.js";
import type { Store } from "../store/store.js";

export interface ToolchainSandboxDeps {
  store: Store;
  /** Users of their own (the plane runs as root); absent with `networks`: tools run as the plane's user. */
  sandboxes?: HostSandboxes;
  networks?: AppNetworks;
  /** More than one organization is served (a compile that cannot be isolated is then refused). */
  severalOrgs: boolean;
  /** Why compiles cannot be isolated here ("" when they can), for the refusal. */
  missing?: string;
  /** The plane's log: told at start when compiles run as the plane's user. */
  log?: (line: string) => void;
}

/** One compile's directories and the way its toolchain commands run. */
export interface ToolchainWorkspace {
  /** The source, where the tools run. */
  src: string;
  /** Where a tool writes what the plane packs (go build -o). */
  out: string;
  home: string;
  /** The org's persistent caches as the tools see them (GOCACHE, CARGO_TARGET_DIR below it). */
  cache: string;
  /** The same directory as the plane sees it (isolated: the data dir's copy, not the mount point). */
  hostCache: string;
  /** Runs a toolchain command with `env` added to the sandbox's own (isolated: not the plane's environment). */
  exec(cmd: string, args: string[], o: RunOptions & { env: NodeJS.ProcessEnv }): Promise<RunResult>;
  /** How the tools run, for the compile log. */
  describe: string;
  close(): Promise<void>;
}

export class ToolchainSandbox {
  /**
   * One toolchain command at a time per compile user (per org): after each, every process of that
   * user is killed, which would also kill a concurrent compile's command of the same org.
   */
  private readonly users = new KeyedMutex();

  constructor(private readonly d: ToolchainSandboxDeps) {
    const why = this.notIsolated;
    if (why) d.log?.(`managed-runtime compiles run as the control plane's user: ${why}${d.severalOrgs ? " (refused while several organizations are served)" : ""}`);
  }

  /** Why compiles here run as the plane's user ("" when they are isolated). */
  get notIsolated(): string {
    if (this.d.sandboxes && this.d.networks) return "";
    return this.d.missing || "the control plane cannot give compiles a user and a network of their own here";
  }

  async open(org: string, log: (line: string) => void): Promise<ToolchainWorkspace> {
    const why = this.notIsolated;
    if (why && this.d.severalOrgs) {
      throw new BuildFailure(`managed-runtime compiles run the toolchain on the control plane's machine, and it cannot keep organizations apart here (${why}), so with several organizations served they are refused: serve one organization, run the plane as root with ip and socat, or build an image (a Dockerfile)`);
    }
    const cacheDir = path.join(this.d.store.dataDir, "cache", "compile", org);
    if (why) return plainWorkspace(this.d.store, cacheDir, why);
    return isolatedWorkspace({ sandboxes: this.d.sandboxes!, networks: this.d.networks!, cacheDir, org, users: this.users }, log);
  }
}

async function plainWorkspace(store: Store, cache: string, why: string): Promise<ToolchainWorkspace> {
  const root = store.tmpPath("compile");
  const [src, out, home] = ["src", "out", "home"].map((d) => path.join(root, d)) as [string, string, string];
  for (const d of [src, out, home, cache]) await fsp.mkdir(d, { recursive: true });
  return {
    src,
    out,
    home,
    cache,
    hostCache: cache,
    exec: (cmd, args, o) => run(cmd, args, { ...o, env: { ...process.env, ...o.env } }),
    describe: `as the control plane's user (${why})`,
    close: () => fsp.rm(root, { recursive: true, force: true }),
  };
}

async function isolatedWorkspace(o: { sandboxes: HostSandboxes; networks: AppNetworks; cacheDir: string; org: string; users: KeyedMutex }, log: (line: string) => void): Promise<ToolchainWorkspace> {
  const ws = await o.sandboxes.workspace(`compile:${o.org}`, randomBytes(6).toString("hex"));
  const [src, out, home, cache] = ["src", "out", "home", "cache"].map((d) => path.join(ws.dir, d)) as [string, string, string, string];
  for (const d of [src, out, home, cache]) await fsp.mkdir(d, { mode: 0o700 });
  await fsp.mkdir(o.cacheDir, { recursive: true, mode: 0o700 });
  // the caches of an org compiled before as the plane's user become its compile user's
  await chownTree(o.cacheDir, ws.uid);
  const rustup = await rustupToolchain(path.join(ws.dir, "toolchain"));
  // the plane's environment stays the plane's ($IGNITE_DEV_TOKENS holds every org's tokens)
  const hostPath = await pathForOthers(process.env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin");
  const base: NodeJS.ProcessEnv = { PATH: [...(rustup ? [rustup.path] : []), hostPath].join(":"), HOME: home, TMPDIR: home, LANG: process.env["LANG"] ?? "C.UTF-8", ...rustup?.env };
  // the operator's choice of package sources (a pip mirror, deno's JSR and npm registries) holds for compiles too
  for (const [k, v] of Object.entries(process.env)) if (/^PIP_|^SSL_CERT_|^LC_|^TZ$|^JSR_URL$|^NPM_CONFIG_REGISTRY$/.test(k) && v !== undefined) base[k] = v;
  const binds: SandboxBind[] = [{ from: o.cacheDir, to: cache }, ...(rustup?.binds ?? [])];
  return {
    src,
    out,
    home,
    cache,
    hostCache: o.cacheDir,
    exec: (cmd, args, opts) =>
      o.users.run(String(ws.uid), async () => {
        // what the plane wrote since (the source, the SDK, manifests) becomes the compile user's
        for (const d of [src, out, home]) await chownTree(d, ws.uid);
        const network = await o.networks.create([], log, { gateway: false, egress: true });
        try {
          const [c, ...argv] = sandboxedCommand([cmd, ...args], ws, network, binds);
          return await run(c!, argv, { ...opts, env: { ...base, ...network.proxyEnv, ...opts.env } });
        } finally {
          // anything the command left running goes before the plane reads what it wrote (in the
          // namespace, and anywhere else as the compile's user: a user namespace of its own escapes the first)
          await network.close();
          await killUserProcesses(ws.uid);
        }
      }),
    describe: `as uid ${ws.uid} (the organization's compile user) in a network namespace of its own (loopback only${o.networks.hasEgress ? ", HTTP(S) out through the plane's egress proxy" : ", offline"})`,
    close: ws.remove,
  };
}

/**
 * A rustup toolchain under a home other users cannot enter (root's ~/.cargo/bin and ~/.rustup),
 * mounted read-only below `dir` for the compile user; undefined when cargo is reachable as it is.
 */
async function rustupToolchain(dir: string): Promise<{ path: string; env: NodeJS.ProcessEnv; binds: SandboxBind[] } | undefined> {
  const home = process.env["HOME"] ?? "";
  const cargoBin = path.join(process.env["CARGO_HOME"] ?? path.join(home, ".cargo"), "bin");
  const rustupHome = process.env["RUSTUP_HOME"] ?? path.join(home, ".rustup");
  const present = async (p: string) => !!(await fsp.stat(p).catch(() => undefined));
  if (!(await present(cargoBin)) || !(await present(rustupHome)) || (await pathForOthers(cargoBin))) return undefined;
  const bin = path.join(dir, "cargo-bin");
  const rustupDir = path.join(dir, "rustup");
  for (const d of [dir, bin, rustupDir]) await fsp.mkdir(d, { mode: 0o755 });
  return {
    path: bin,
    env: { RUSTUP_HOME: rustupDir, RUSTUP_AUTO_INSTALL: "0" },
    binds: [
      { from: cargoBin, to: bin, readOnly: true },
      { from: rustupHome, to: rustupDir, readOnly: true },
    ],
  };
}

/** chown -R, never following a link (the tree may hold links the compile made). */
async function chownTree(dir: string, uid: number): Promise<void> {
  const r = await run("chown", ["-R", "-h", "-P", `${uid}:${uid}`, "--", dir], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`cannot hand ${dir} to the compile's user: ${r.stderr.trim()}`);
}
