#!/usr/bin/env node
// Disk used by a local control plane's data dir (issue 12, "bounded disk"): after an app printed
// --lines lines (default 1 000 000, ~100 MB), and after --saves draft saves (default 100) of
// examples/greeter, each with different code; then after a restart (start-up runs the disk
// collector). The baseline is what was written: the bytes the app printed, and one save's growth.
// Usage: node bench/disk.mjs [--lines N] [--saves N] [--driver host|podman] [--repo DIR] [--no-build]
// --repo runs another checkout's build (e.g. a worktree of an older commit) for a before/after.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, cpSync, existsSync, openSync, readSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { build, parseArgs, REPO } from "./lib/common.mjs";

const args = parseArgs(process.argv.slice(2));
const lines = Number(args.lines ?? 1_000_000);
const saves = Number(args.saves ?? 100);
const repo = path.resolve(args.repo ?? REPO);
const driver = args.driver ?? "host";
if (!args["no-build"] && repo === REPO) build(args);
const cli = path.join(repo, "bin", "dodil.js");
const hasCollector = existsSync(path.join(repo, "dist", "local", "store", "disk-collector.js"));

const work = mkdtempSync(path.join(os.tmpdir(), "dodil-bench-disk-"));
const dataDir = path.join(work, "data");
const token = "disk-bench-token-0123456789";
process.on("SIGINT", () => process.exit(130));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

/** Disk used (allocated blocks) under p, without following links or crossing filesystems. */
function du(p, dev) {
  let st;
  try {
    st = lstatSync(p);
  } catch {
    return 0;
  }
  if (dev !== undefined && st.dev !== dev) return 0;
  let n = st.blocks * 512;
  if (st.isDirectory()) for (const e of readdirSync(p)) n += du(path.join(p, e), st.dev);
  return n;
}
const usage = () => Object.fromEntries(readdirSync(dataDir).map((k) => [k, du(path.join(dataDir, k))]));
const mb = (n) => (n / 1e6).toFixed(1);

async function startPlane() {
  const child = spawn(process.execPath, [cli, "ignite", "dev", "--listen", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--auth-listen", "127.0.0.1:0", "--data-dir", dataDir, "--driver", driver, "--token", `bench=${token}`, "-o", "json"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stderr = [];
  const waiters = [];
  createInterface({ input: child.stderr }).on("line", (l) => {
    stderr.push(l);
    for (const w of waiters.splice(0)) (w.re.test(l) ? w.resolve : () => waiters.push(w))(l);
  });
  const ready = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", (l) => resolve(JSON.parse(l)));
    child.once("exit", (code) => reject(new Error(`the control plane exited (${code}): ${stderr.slice(-20).join("\n")}`)));
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return {
    env: { PATH: process.env.PATH, HOME: work, XDG_CACHE_HOME: path.join(work, "cache"), IGNITE_API_ENDPOINT: ready.grpc_endpoint, IGNITE_TOKEN: token, IGNITE_DEBUG: "1" },
    line: (re) => (stderr.some((l) => re.test(l)) ? Promise.resolve() : new Promise((resolve) => waiters.push({ re, resolve }))),
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

function run(env, argv) {
  const r = spawnSync(process.execPath, [cli, "ignite", ...argv], { env, encoding: "utf8", cwd: work });
  if (r.status !== 0) throw new Error(`${argv.join(" ")}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

// The logging app: prints `lines` lines of 100 bytes in a background thread, then LOGGING-DONE.
const logger = path.join(work, "logger");
mkdirSync(logger);
writeFileSync(path.join(logger, "Dockerfile"), 'FROM python:3.12-slim\nCOPY server.py .\nUSER 65534\nCMD ["python", "server.py"]\n');
writeFileSync(
  path.join(logger, "server.py"),
  `import os, sys, threading
from http.server import BaseHTTPRequestHandler, HTTPServer
def spam():
    pad = "x" * 83
    for start in range(0, ${lines}, 1000):
        sys.stdout.write("".join(f"line {i:09d} {pad}\\n" for i in range(start, min(start + 1000, ${lines}))))
        sys.stdout.flush()
    sys.stdout.write("LOGGING-DONE\\n")
    sys.stdout.flush()
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")
    do_POST = do_GET
    def log_message(self, *a):
        pass
threading.Thread(target=spam, daemon=True).start()
HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8080"))), H).serve_forever()
`,
);
const printed = lines * 100;

function logDone() {
  const root = path.join(dataDir, "instances", "bench", "logger");
  for (const inst of existsSync(root) ? readdirSync(root) : []) {
    for (const f of ["output.log", "output.log.1"]) {
      const file = path.join(root, inst, f);
      if (!existsSync(file)) continue;
      const size = lstatSync(file).size;
      const fd = openSync(file, "r");
      const tail = Buffer.alloc(200);
      const n = readSync(fd, tail, 0, 200, Math.max(0, size - 200));
      closeSync(fd);
      if (tail.subarray(0, n).toString("latin1").includes("LOGGING-DONE")) return true;
    }
  }
  return false;
}

const rows = [];
const record = (phase) => {
  const u = usage();
  rows.push({ phase, total: Object.values(u).reduce((a, b) => a + b, 0), ...u });
};

let plane = await startPlane();
try {
  run(plane.env, ["app", "create", "bench:logger"]);
  run(plane.env, ["draft", "save", "bench:logger", "--code", logger, "--dockerfile-path", "Dockerfile"]);
  record("empty app");
  const t0 = Date.now();
  run(plane.env, ["draft", "publish", "bench:logger"]);
  while (!logDone()) await new Promise((r) => setTimeout(r, 500));
  console.log(`${lines} lines (${mb(printed)} MB) printed and captured in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  record(`after ${lines} log lines`);

  cpSync(path.join(REPO, "examples", "greeter"), path.join(work, "greeter"), { recursive: true });
  run(plane.env, ["app", "create", "bench:greeter"]);
  const server = path.join(work, "greeter", "server.py");
  const t1 = Date.now();
  for (let i = 0; i < saves; i++) {
    writeFileSync(server, readFileSync(server, "utf8").replace(/GREETING = ".*"/, `GREETING = "Hi${i}"`));
    run(plane.env, ["draft", "save", "bench:greeter", "--code", path.join(work, "greeter"), "--dockerfile-path", "Dockerfile"]);
    if (i === 0) record("after 1 save");
  }
  console.log(`${saves} saves in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  record(`after ${saves} saves`);
  await plane.stop();
  plane = await startPlane();
  if (hasCollector) await plane.line(/^disk collection: removed|disk collection failed/);
  record("after a restart");
} finally {
  await plane.stop();
}

const kinds = ["instances", "builds", "images", "blobs", "orgs"];
console.log(`\nrepo ${repo}${hasCollector ? "" : " (no disk collector)"}\n`);
console.log(["phase".padEnd(26), "total MB", ...kinds.map((k) => k.padStart(10))].join(" "));
for (const r of rows) console.log([r.phase.padEnd(26), mb(r.total).padStart(8), ...kinds.map((k) => mb(r[k] ?? 0).padStart(10))].join(" "));
const logs = rows[1].instances;
const one = rows[2].total - rows[1].total;
const all = rows[3].total - rows[1].total;
const restarted = rows[4].total - rows[1].total;
console.log(`\ninstance logs on disk / bytes printed: ${(logs / printed).toFixed(3)}`);
console.log(`growth after ${saves} saves / growth after 1 save: ${(all / one).toFixed(1)} (after a restart: ${(restarted / one).toFixed(1)})`);
