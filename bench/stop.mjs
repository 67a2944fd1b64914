#!/usr/bin/env node
// Time from SIGTERM to exit of `dodil ignite dev --driver podman` with --apps (default 3) busybox
// apps running, and what it left behind (containers, overlay mounts under the data dir); then the
// same after SIGKILL: what a restart on the data dir reaps. Baseline, measured in this run: one
// `podman ps -a` (the floor of any podman call) and one `podman stop` of a running container.
// Usage: node bench/stop.mjs [--apps N] [--runs N] [--repo DIR] [--no-build]
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { build, median, parseArgs, REPO } from "./lib/common.mjs";

const args = parseArgs(process.argv.slice(2));
const apps = Number(args.apps ?? 3);
const runs = Number(args.runs ?? 3);
const repo = path.resolve(args.repo ?? REPO);
if (!args["no-build"] && repo === REPO) build(args);
const cli = path.join(repo, "bin", "dodil.js");
const token = "stop-bench-token-0123456789";

const work = mkdtempSync(path.join(os.tmpdir(), "dodil-bench-stop-"));
process.on("SIGINT", () => process.exit(130));

const app = path.join(work, "app");
mkdirSync(app);
writeFileSync(path.join(app, "Dockerfile"), 'FROM busybox\nWORKDIR /www\nCOPY index.html /www/index.html\nUSER 65534\nCMD ["sh", "-c", "exec httpd -f -p 127.0.0.1:$PORT -h /www"]\n');
writeFileSync(path.join(app, "index.html"), "ok\n");

const mounts = (dir) => readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "").filter((m) => m.startsWith(`${dir}/`));
function podmanEnv(dataDir) {
  return { ...process.env, CONTAINERS_CONF: `${dataDir}/containers/containers.conf`, CONTAINERS_STORAGE_CONF: `${dataDir}/containers/storage.conf` };
}
const containers = (dataDir) => execFileSync("podman", ["ps", "-a", "-q"], { env: podmanEnv(dataDir), encoding: "utf8" }).split("\n").filter(Boolean);

async function startPlane(dataDir) {
  const child = spawn(process.execPath, [cli, "ignite", "dev", "--listen", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--auth-listen", "127.0.0.1:0", "--data-dir", dataDir, "--driver", "podman", "--token", `bench=${token}`, "-o", "json"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stderr = [];
  createInterface({ input: child.stderr }).on("line", (l) => stderr.push(l));
  const ready = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", (l) => resolve(JSON.parse(l)));
    child.once("exit", (code) => reject(new Error(`the control plane exited (${code}): ${stderr.slice(-20).join("\n")}`)));
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return { child, exited, stderr, env: { PATH: process.env.PATH, HOME: work, XDG_CACHE_HOME: path.join(work, "cache"), IGNITE_API_ENDPOINT: ready.grpc_endpoint, IGNITE_TOKEN: token, IGNITE_DEBUG: "1", IGNITE_TIMEOUT: "300s" } };
}

function run(env, argv) {
  const r = spawnSync(process.execPath, [cli, "ignite", ...argv], { env, encoding: "utf8", cwd: work });
  if (r.status !== 0) throw new Error(`${argv.join(" ")}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** A plane with `apps` apps published and answering (one container each). */
async function planeWithApps(dataDir) {
  const plane = await startPlane(dataDir);
  for (let i = 0; i < apps; i++) {
    run(plane.env, ["app", "create", `bench:app${i}`]);
    run(plane.env, ["draft", "save", `bench:app${i}`, "--code", app, "--dockerfile-path", "Dockerfile"]);
    run(plane.env, ["draft", "publish", `bench:app${i}`]);
  }
  return plane;
}

function timeMs(fn) {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const stopMs = [];
const left = [];
const reaped = [];
const baselinePs = [];
const baselineStop = [];
try {
  for (let r = 0; r < runs; r++) {
    const dataDir = path.join(work, `data${r}`);
    const plane = await planeWithApps(dataDir);
    if (containers(dataDir).length !== apps) throw new Error(`expected ${apps} containers, found ${containers(dataDir).length}`);
    baselinePs.push(timeMs(() => containers(dataDir)));
    const t = process.hrtime.bigint();
    plane.child.kill("SIGTERM");
    await plane.exited;
    stopMs.push(Number(process.hrtime.bigint() - t) / 1e6);
    left.push({ containers: containers(dataDir).length, mounts: mounts(dataDir).length });

    // SIGKILL: what is left, and what a restart reaps
    const killed = await planeWithApps(path.join(work, `kill${r}`));
    killed.child.kill("SIGKILL");
    await killed.exited;
    const kdir = path.join(work, `kill${r}`);
    const before = { containers: containers(kdir).length, mounts: mounts(kdir).length };
    // one container stopped directly, as the baseline of a container stop
    const one = containers(kdir)[0];
    if (one) baselineStop.push(timeMs(() => spawnSync("podman", ["stop", "-t", "5", one], { env: podmanEnv(kdir) })));
    const again = await startPlane(kdir);
    const after = { containers: containers(kdir).length, mounts: mounts(kdir).length };
    again.child.kill("SIGTERM");
    await again.exited;
    reaped.push({ before, after });
  }
} finally {
  for (const m of mounts(work).reverse()) spawnSync("umount", ["-l", m]);
  rmSync(work, { recursive: true, force: true });
}

console.log(`repo ${repo}, ${apps} podman apps, ${runs} runs (load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")})`);
console.log(`SIGTERM to exit: median ${(median(stopMs) / 1000).toFixed(2)} s (runs: ${stopMs.map((m) => (m / 1000).toFixed(2)).join(", ")} s)`);
console.log(`  left after SIGTERM: ${left.map((l) => `${l.containers} containers, ${l.mounts} mounts`).join("; ")}`);
console.log(`baseline: podman ps -a ${median(baselinePs).toFixed(0)} ms, podman stop -t 5 of one container ${(median(baselineStop) / 1000).toFixed(2)} s`);
console.log(`ratio: stop / podman ps ${(median(stopMs) / median(baselinePs)).toFixed(1)}x, stop / one podman stop ${(median(stopMs) / median(baselineStop)).toFixed(2)}x, stop / 10 s bound ${(median(stopMs) / 10_000).toFixed(2)}`);
console.log(`SIGKILL, then a restart: ${reaped.map((x) => `${x.before.containers} containers + ${x.before.mounts} mounts left -> ${x.after.containers} + ${x.after.mounts} after the restart`).join("; ")}`);
