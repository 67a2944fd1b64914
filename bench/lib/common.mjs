// Shared helpers for the bench scripts: temp trees, the pack command, timing, RSS.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { generateTree } from "./gen-tree.mjs";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(REPO, "bin/dodil.js");
const PACK_ONCE = path.join(REPO, "bench/lib/pack-once.mjs");

/** Parses `--name value` / `--flag` arguments into an object (numbers stay strings). */
export function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) continue;
    const key = a.slice(2);
    if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) out[key] = argv[++i];
    else out[key] = true;
  }
  return out;
}

/** Builds dist/ (tsc) unless told not to; tsc errors elsewhere in the repo only warn. */
export function build(args) {
  if (args["no-build"]) return;
  const r = spawnSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: REPO, encoding: "utf8" });
  if (r.status !== 0) console.error(`warning: tsc reported errors (dist was still emitted):\n${r.stdout}${r.stderr}`.trimEnd());
}

/** Generates a tree into a fresh temp dir; returns it with a remove() that is safe to call twice. */
export function makeTree({ files, bytes, seed }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "dodil-bench-tree-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const onSignal = () => {
    remove();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const t0 = performance.now();
    const info = generateTree(dir, { files, bytes, seed });
    return { dir, remove, ...info, genMs: performance.now() - t0 };
  } catch (err) {
    remove();
    throw err;
  }
}

/** True when `draft save` has the --dry-run flag (the lead adds it). */
export function cliHasDryRun() {
  const r = spawnSync(process.execPath, [CLI, "ignite", "draft", "save", "--help"], { cwd: REPO, encoding: "utf8" });
  return r.status === 0 && r.stdout.includes("--dry-run");
}

/**
 * The command that packs `tree` the way `draft save --dry-run` does: the CLI itself when it
 * has --dry-run, else a small node script calling packBuildContext from dist/.
 */
export function packCommand(tree, { viaCli = cliHasDryRun(), concurrency } = {}) {
  if (viaCli) {
    return {
      label: "dodil ignite draft save --dry-run",
      argv: [process.execPath, CLI, "ignite", "draft", "save", "x:y", "--code", tree, "--dockerfile-path", "Dockerfile", "--dry-run", "-o", "json"],
    };
  }
  return {
    label: "packBuildContext (dist, via bench/lib/pack-once.mjs)",
    argv: [process.execPath, PACK_ONCE, tree, ...(concurrency ? [String(concurrency)] : [])],
  };
}

/**
 * Runs argv, returns wall ms, stdout and (when /usr/bin/time is installed) the CPU ms
 * (user + system, children included: `tar -czf` counts its gzip); throws on a non-zero exit.
 */
export function timed(argv, opts = {}) {
  const cpuFile = existsSync(GNU_TIME) ? path.join(os.tmpdir(), `dodil-bench-cpu-${process.pid}`) : undefined;
  const full = cpuFile ? [GNU_TIME, "-f", "%U %S", "-o", cpuFile, ...argv] : argv;
  const t0 = performance.now();
  const r = spawnSync(full[0], full.slice(1), { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, ...opts });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status}: ${r.stderr}`);
  let cpuMs;
  if (cpuFile) {
    const [user, sys] = readFileSync(cpuFile, "utf8").trim().split(/\s+/).map(Number);
    cpuMs = (user + sys) * 1000;
    rmSync(cpuFile, { force: true });
  }
  return { ms, cpuMs, stdout: r.stdout };
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The digest reported by a pack run's JSON output (CLI or pack-once). */
export function digestOf(stdout) {
  const m = /"digest"\s*:\s*"(sha256:[0-9a-f]{64})"/.exec(stdout);
  return m ? m[1] : undefined;
}

const GNU_TIME = "/usr/bin/time";

/**
 * Peak RSS (KiB) of the process running argv: from `/usr/bin/time -v` when installed,
 * else by polling VmHWM in /proc/<pid>/status every 20 ms.
 */
export async function peakRss(argv, { env } = {}) {
  if (existsSync(GNU_TIME)) {
    const t0 = performance.now();
    const r = spawnSync(GNU_TIME, ["-v", ...argv], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, ...(env ? { env } : {}) });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status}: ${r.stderr}`);
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
    if (!m) throw new Error(`no RSS in /usr/bin/time output: ${r.stderr}`);
    return { kib: Number(m[1]), ms, stdout: r.stdout, method: "/usr/bin/time -v" };
  }
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], ...(env ? { env } : {}) });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    let hwm = 0;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        if (m) hwm = Math.max(hwm, Number(m[1]));
      } catch {
        // exited between polls
      }
    }, 20);
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(poll);
      if (code !== 0) reject(new Error(`${argv.join(" ")} exited ${code}: ${stderr}`));
      else resolve({ kib: hwm, ms: performance.now() - t0, stdout, method: "VmHWM polling (lower bound)" });
    });
  });
}

export const mib = (bytes) => (bytes / 1024 / 1024).toFixed(1);

export function gnuTarVersion() {
  try {
    return execFileSync("tar", ["--version"], { encoding: "utf8" }).split("\n")[0];
  } catch {
    return "tar (unknown version)";
  }
}

/**
 * Starts `dodil ignite dev` on free loopback ports with its data under `work`, for one org and
 * token; resolves once it prints its ready line. `stop()` ends it and waits for it to exit.
 */
export async function startBenchPlane({ work, org, token, driver = "host", extraArgs = [] }) {
  const plane = spawn(
    process.execPath,
    [CLI, "ignite", "dev", "--listen", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--data-dir", path.join(work, "data"), "--driver", driver, "--token", `${org}=${token}`, ...extraArgs, "-o", "json"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  plane.stderr.on("data", (d) => (stderr = (stderr + d).slice(-20000)));
  const ready = await new Promise((resolve, reject) => {
    createInterface({ input: plane.stdout }).once("line", (line) => resolve(JSON.parse(line)));
    plane.once("exit", (code) => reject(new Error(`the control plane exited (${code}): ${stderr}`)));
  });
  const exited = new Promise((resolve) => plane.once("exit", resolve));
  return {
    ready,
    pid: plane.pid,
    /** The last 20 kB the plane wrote on stderr. */
    stderr: () => stderr,
    /** The environment a CLI run needs to reach this plane (plaintext: debug). */
    env: { PATH: process.env.PATH, HOME: work, IGNITE_API_ENDPOINT: ready.grpc_endpoint, IGNITE_TOKEN: token, IGNITE_DEBUG: "1" },
    async stop() {
      if (plane.exitCode === null) plane.kill("SIGTERM");
      await exited;
    },
  };
}

/**
 * Runs each case (`{ name, args }`, node arguments) `runs` times, interleaved so machine load hits
 * every case alike, after two warm-up rounds; returns the median milliseconds per case. A case may
 * give `check(stdout)` to refuse a run that did not do its job.
 */
export function interleavedMedians(cases, runs, env) {
  const samples = cases.map(() => []);
  for (let i = 0; i < runs + 2; i += 1) {
    cases.forEach((c, index) => {
      const started = process.hrtime.bigint();
      const result = spawnSync(process.execPath, c.args, { env, stdio: ["ignore", "pipe", "pipe"] });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (result.status !== 0) throw new Error(`${c.name} failed: ${result.stderr}`);
      if (c.check && !c.check(String(result.stdout))) throw new Error(`${c.name} printed something else: ${result.stdout}`);
      if (i >= 2) samples[index].push(ms);
    });
  }
  return samples.map((values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]);
}

/** The CLI's own gRPC client and use cases, from the tsc output in dist/ (npm run build). */
export async function loadClientCode() {
  const from = (module) => import(path.join(REPO, "dist", module));
  const { GrpcIgniteApi } = await from("api/grpc-ignite-api.js");
  const parts = await Promise.all(["apps", "drafts", "draft-runs", "invoke", "prepare-archive"].map((name) => from(`core/${name}.js`)));
  return { GrpcIgniteApi, core: Object.assign({}, ...parts) };
}
