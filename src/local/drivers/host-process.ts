/**
 * An image run as a host process: its environment (the host's basics to find tools, then the
 * image's and the app's), its command line (paths of the image filesystem, host tools standing in
 * for the base image's), and the running process group (output captured, stopped as a group).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { errorMessage } from "../errors.js";
import { exists } from "../atomic-fs.js";
import { RotatingLog } from "./rotating-log.js";
import { DEFAULT_PATH, which } from "./exec.js";
import { killGroup, type ProcessRecords } from "./process-group.js";
import { pathForOthers, type AppSandbox } from "./host-sandbox.js";
import type { AppNetwork } from "./app-network.js";
import type { BuiltImage, ImageConfig, InstanceEndpoint, InstanceExit, RunningInstance, StartOptions } from "./types.js";

const STOP_GRACE_MS = 5_000;
/** Host environment variables a process needs to find the host's tools. */
const HOST_ENV_PASSTHROUGH = [/^PATH$/, /^LANG$/, /^LC_/, /^TZ$/, /^PYENV_/, /^SSL_CERT_/, /^TMPDIR$/, /^NVM_/, /^JAVA_HOME$/, /^GOROOT$/];
const KEEP_LINES = 200;
/** A line longer than this without a newline is passed on as it is. */
const MAX_PARTIAL_LINE = 4096;

/** The command line an image runs: ENTRYPOINT then CMD (a shell-form ENTRYPOINT ignores CMD). */
export function imageArgv(image: BuiltImage): string[] {
  const cfg = image.config;
  const argv = [...(cfg.entrypoint ?? []), ...(cfg.entrypoint && isShellForm(cfg.entrypoint) ? [] : (cfg.cmd ?? []))];
  if (argv.length === 0) throw new Error(`image ${image.ref} has no CMD or ENTRYPOINT`);
  return argv;
}

/** Where an instance's process lives: HOME, the shims directory first on PATH, the sandbox if any. */
export interface ProcessPlace {
  home: string;
  shimDir: string;
  sandbox?: AppSandbox;
}

/**
 * The environment: host basics (to find the host's tools), image ENV, app env, PORT, HOME; PATH is
 * the shims, the image's PATH, then the host's. `hostPath` is the host part alone.
 */
export async function processEnvironment(cfg: ImageConfig, opts: StartOptions, place: ProcessPlace): Promise<{ env: Record<string, string>; hostPath: string }> {
  const { sandbox, home, shimDir } = place;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && HOST_ENV_PASSTHROUGH.some((re) => re.test(k))) env[k] = v;
  }
  if (!sandbox && !env["PYENV_ROOT"] && process.env["HOME"] && (await exists(path.join(process.env["HOME"], ".pyenv")))) {
    env["PYENV_ROOT"] = path.join(process.env["HOME"], ".pyenv");
  }
  // an app of its own user finds the host's tools only where every user may (not root's ~/.pyenv)
  const hostPath = sandbox ? await pathForOthers(env["PATH"] ?? DEFAULT_PATH) : (env["PATH"] ?? DEFAULT_PATH);
  if (sandbox) delete env["PYENV_ROOT"];
  Object.assign(env, cfg.env, opts.env);
  env["PORT"] = String(opts.port);
  env["HOME"] = home;
  // the plane's TMPDIR may be its own; an app in a sandbox keeps temporary files in its home
  if (sandbox) env["TMPDIR"] = home;
  // The image's PATH usually names base-image dirs: keep them, then the host's.
  const imagePath = cfg.env["PATH"] ?? opts.env["PATH"];
  const pathParts = [shimDir, ...(imagePath ? imagePath.split(":") : []), ...hostPath.split(":")].filter((p, i, a) => p && a.indexOf(p) === i);
  env["PATH"] = pathParts.join(":");
  return { env, hostPath };
}

/** python -> python3 (a symlink in the shims directory) when the host has no `python`. */
export async function pythonShim(hostPath: string, shimDir: string, log: (line: string) => void): Promise<void> {
  if (!(await which("python", hostPath)) && (await which("python3", hostPath))) {
    const py3 = (await which("python3", hostPath))!;
    await fsp.rm(path.join(shimDir, "python"), { force: true });
    await fsp.symlink(py3, path.join(shimDir, "python"));
    log(`no 'python' on the host PATH: 'python' runs ${py3}`);
  }
}

/**
 * Absolute paths that exist in the image filesystem are rewritten to it; a program the image does
 * not hold and the host does not have at that path is looked up by name on `pathVar`.
 */
export async function argvInImage(argv: string[], rootfs: string, pathVar: string, log: (line: string) => void): Promise<string[]> {
  return Promise.all(
    argv.map(async (a, i) => {
      if (!a.startsWith("/") || isShellForm(argv)) return a;
      const inImage = path.join(rootfs, a);
      if (await exists(inImage)) return inImage;
      if (i === 0 && !(await exists(a))) {
        const onHost = await which(path.basename(a), pathVar);
        if (onHost) {
          log(`'${a}' is not in the image filesystem: using '${onHost}' from the host`);
          return onHost;
        }
      }
      return a;
    }),
  );
}

/** A directory mounted over another for one sandboxed command (sandboxedCommand). */
export interface SandboxBind {
  from: string;
  to: string;
  readOnly?: boolean;
}

/**
 * In a sandbox: enter the namespace as root, then drop to the user for good (an app's, or a
 * compile's: managed-runtime/toolchain-sandbox.ts). `binds` mount directories the user could not
 * reach (a compile's cache inside the data dir, a toolchain under root's home) over ones it can, in
 * the mount namespace that `ip netns exec` makes for the command alone.
 */
export function sandboxedCommand(argv: string[], sandbox: Pick<AppSandbox, "uid" | "gid"> | undefined, network: AppNetwork | undefined, binds: readonly SandboxBind[] = []): string[] {
  if (!sandbox) return argv;
  const asUser = ["setpriv", `--reuid=${sandbox.uid}`, `--regid=${sandbox.gid}`, "--clear-groups", "--no-new-privs", "--", ...argv];
  if (!network) return asUser;
  const mounts = binds.flatMap((b) => [b.from, b.to, b.readOnly ? "ro" : "rw"]);
  const mounted = binds.length ? ["sh", "-c", MOUNT_THEN_EXEC, "sh", ...mounts, "--", ...asUser] : asUser;
  return ["ip", "netns", "exec", network.name, ...mounted];
}

/** `from to ro|rw` triples, then `--` and the command: bind-mounts each, then execs the command. */
const MOUNT_THEN_EXEC = 'while [ "$1" != "--" ]; do mount --bind -- "$1" "$2" || exit 125; if [ "$3" = ro ]; then mount -o remount,bind,ro -- "$2" || exit 125; fi; shift 3; done; shift; exec "$@"';

/** One process group to start. */
export interface GroupLaunch {
  /** What is executed (the app's argv, possibly wrapped by sandboxedCommand). */
  command: string[];
  /** The app's own argv, for messages. */
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  stopSignal: NodeJS.Signals;
  opts: StartOptions;
  endpoints: Map<number, InstanceEndpoint>;
  records?: ProcessRecords;
  /** What goes with the process once it exited, or when it cannot start (the namespace, the sandbox). */
  release: () => Promise<void>;
}

/** Starts the process as the leader of its own group and returns the running instance. */
export async function launchGroup(l: GroupLaunch): Promise<RunningInstance> {
  const { command, argv, opts } = l;
  const out = new RotatingLog(path.join(opts.instanceDir, "output.log"));
  const ring: string[] = [];
  let child: ChildProcess;
  try {
    child = spawn(command[0]!, command.slice(1), { cwd: l.cwd, env: l.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    out.end();
    await l.release();
    throw new Error(`cannot start '${argv[0]}': ${errorMessage(e)}`);
  }
  child.stdout!.on("data", lineCapture("stdout", { out, ring, opts }));
  child.stderr!.on("data", lineCapture("stderr", { out, ring, opts }));
  let running = true;
  const exited = new Promise<InstanceExit>((resolve) => {
    child.once("error", (e) => {
      ring.push(`cannot start '${argv[0]}': ${e.message}`);
      running = false;
      out.end();
      resolve({ code: null, signal: null });
    });
    child.once("exit", (code, sig) => {
      running = false;
      // give the pipes a moment to flush into the ring
      setTimeout(() => {
        out.end();
        resolve({ code, signal: sig });
      }, 20);
    });
  });
  void exited.then(l.release);
  const pid = child.pid;
  if (pid !== undefined) await l.records?.keep({ pid, command: argv.join(" "), exited }, opts.log);
  return {
    id: `host-${pid ?? "x"}`,
    endpoint: l.endpoints.get(opts.port)!,
    endpoints: l.endpoints,
    startedAtMs: Date.now(),
    exited,
    alive: () => running,
    recentOutput: (n = 20) => ring.slice(-n),
    stop: groupStop({ pid, running: () => running, exited, stopSignal: l.stopSignal }),
  };
}

/** Splits a stream's chunks into lines for the ring and onOutput; every byte goes to the log file. */
function lineCapture(stream: "stdout" | "stderr", to: { out: RotatingLog; ring: string[]; opts: StartOptions }): (chunk: Buffer) => void {
  const { out, ring, opts } = to;
  let partial = "";
  return (chunk) => {
    out.write(chunk);
    const lines = (partial + chunk.toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    for (const l of lines) {
      ring.push(l);
      if (ring.length > KEEP_LINES) ring.shift();
      opts.onOutput?.(stream, l);
    }
    if (partial.length > MAX_PARTIAL_LINE) {
      ring.push(partial);
      opts.onOutput?.(stream, partial);
      partial = "";
    }
  };
}

/**
 * Stops the group: its stop signal, SIGKILL after a grace period, then SIGKILL for what is left of
 * the group. Once; later calls wait for the same stop.
 */
function groupStop(g: { pid: number | undefined; running: () => boolean; exited: Promise<InstanceExit>; stopSignal: NodeJS.Signals }): () => Promise<void> {
  const { pid, exited } = g;
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      if (!g.running() || pid === undefined) {
        // the leader is gone; children in its group may not be
        if (pid !== undefined) killGroup(pid, "SIGKILL");
        await exited;
        return;
      }
      killGroup(pid, g.stopSignal);
      const t = setTimeout(() => killGroup(pid, "SIGKILL"), STOP_GRACE_MS);
      await exited;
      clearTimeout(t);
      killGroup(pid, "SIGKILL"); // leftovers of the group
    })();
    return stopping;
  };
}

function isShellForm(argv: string[]): boolean {
  return argv.length === 3 && argv[0] === "/bin/sh" && argv[1] === "-c";
}
