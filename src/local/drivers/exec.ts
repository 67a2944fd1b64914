/**
 * Running the container tools (buildah, podman, debootstrap): argv only (never a shell), output
 * streamed line by line, bounded waits, cancellation through an AbortSignal.
 */
import { spawn } from "node:child_process";
import { constants as fsc, promises as fsp } from "node:fs";
import * as path from "node:path";

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called with each complete line of stdout and stderr (as they arrive). */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  signal?: AbortSignal;
  /** Kill the process after this long (default: none). */
  timeoutMs?: number;
  /** Data written to stdin (then closed); a function receives the stdin stream. */
  input?: string | Buffer | ((stdin: NodeJS.WritableStream) => void);
  /** Keep at most this many bytes of each stream in the result (default 1 MiB). */
  maxBuffer?: number;
}

export interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The error code when the command could not be started at all (ENOENT: not installed). */
  spawnError?: string;
}

export function run(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
  const max = o.maxBuffer ?? 1024 * 1024;
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const child = spawn(cmd, args, {
      env: o.env ?? process.env,
      ...(o.cwd ? { cwd: o.cwd } : {}),
      stdio: [o.input !== undefined ? "pipe" : "ignore", "pipe", "pipe"],
    });
    const lineSplitter = (stream: "stdout" | "stderr") => {
      let partial = "";
      return {
        data(chunk: Buffer) {
          const text = chunk.toString("utf8");
          if (stream === "stdout") stdout = (stdout + text).slice(-max);
          else stderr = (stderr + text).slice(-max);
          if (!o.onLine) return;
          const lines = (partial + text).split(/\r?\n|\r/);
          partial = lines.pop() ?? "";
          for (const l of lines) o.onLine(l, stream);
        },
        end() {
          if (partial && o.onLine) o.onLine(partial, stream);
          partial = "";
        },
      };
    };
    const so = lineSplitter("stdout");
    const se = lineSplitter("stderr");
    child.stdout!.on("data", so.data);
    child.stderr!.on("data", se.data);
    const kill = () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // gone
      }
      setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // gone
        }
      }, 3_000).unref();
    };
    const onAbort = () => kill();
    o.signal?.addEventListener("abort", onAbort, { once: true });
    const timer = o.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          kill();
        }, o.timeoutMs)
      : undefined;
    if (o.input !== undefined && child.stdin) {
      child.stdin.on("error", () => undefined);
      if (typeof o.input === "function") o.input(child.stdin);
      else child.stdin.end(o.input);
    }
    let settled = false;
    let spawnError: string | undefined;
    const finish = (code: number | null, sig: string | null) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
      so.end();
      se.end();
      resolve({ code, signal: sig, stdout, stderr, timedOut, ...(spawnError ? { spawnError } : {}) });
    };
    child.once("error", (e) => {
      stderr += e.message;
      spawnError = (e as NodeJS.ErrnoException).code ?? "error";
      finish(null, null);
    });
    child.once("close", (code, sig) => finish(code, sig));
  });
}

/** The PATH of a process given none (Docker's default, which base images also set). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Absolute path of an executable on `pathVar` (default: this process's PATH), or undefined. */
export async function which(cmd: string, pathVar = process.env["PATH"] ?? DEFAULT_PATH): Promise<string | undefined> {
  if (cmd.includes("/")) return (await isExecutable(cmd)) ? cmd : undefined;
  for (const dir of pathVar.split(":")) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    if (await isExecutable(p)) return p;
  }
  return undefined;
}

async function isExecutable(p: string): Promise<boolean> {
  try {
    await fsp.access(p, fsc.X_OK);
    return (await fsp.stat(p)).isFile();
  } catch {
    return false;
  }
}

/** The last `n` non-empty lines of a text, joined with " | " (for one-line error messages). */
export function tail(text: string, n = 3): string {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-n)
    .join(" | ");
}
