#!/usr/bin/env node
// The local control plane's runtime (issue 5, "Measured"): build time of the seed greeter
// (examples/greeter) cold (fresh data dir: no layer cache) and cached (second build, one source
// line changed), cold-start latency of the first invoke after scale to zero, the same two for a
// python and a rust managed-runtime app (examples/hello-rs), warm invoke latency of
// `dodil ignite invoke` against `curl` to the gateway in the same run (interleaved), and throughput
// with p50/p99 of N concurrent gateway requests (node http client, loopback), with max_replicas 1
// and 4. Figures only: nothing here asserts a time.
//
// Usage: npm run build && node bench/runtime.mjs [--driver auto|podman|host] [--runs 10] [--concurrency 200] [--managed-only]
// The driver defaults to auto (podman when buildah/podman/runc and the base images work, else host);
// the one used is printed. Everything listens on 127.0.0.1.
import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadClientCode, startBenchPlane } from "./lib/common.mjs";

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const driverWanted = flag("driver", "auto");
const runs = Number(flag("runs", "10"));
const concurrency = Number(flag("concurrency", "200"));
// --managed-only: just the managed runtimes (python, rust, deno), each against python's figures
const managedOnly = args.includes("--managed-only");
const IDLE = "5s"; // short enough to measure cold starts, long enough to keep scaled-out replicas between bursts

const repo = new URL("..", import.meta.url).pathname;
const dodil = join(repo, "bin/dodil.js");
const { GrpcIgniteApi, core } = await loadClientCode();

const work = mkdtempSync(join(tmpdir(), "ignite-runtime-bench-"));
const org = "bench";
const token = "bench-token-0123456789abcdef";
const plane = await startBenchPlane({ work, org, token, driver: driverWanted, extraArgs: ["--auth-listen", "127.0.0.1:0", "--idle-timeout", IDLE] });
process.on("SIGINT", () => {
  void plane.stop();
  process.exit(130);
});
const { ready } = plane;
const gateway = new URL(ready.gateway_url);
if (gateway.hostname !== "127.0.0.1") throw new Error(`gateway not on loopback: ${ready.gateway_url}`);
const api = new GrpcIgniteApi({ endpoint: ready.grpc_endpoint, token, plaintext: true, timeoutMs: 600_000 });

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const percentile = (v, p) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor((v.length * p) / 100))];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function saveAndBuild(app, dir, runtime) {
  const source = runtime
    ? { kind: "directory", path: dir, dockerfilePath: undefined, buildArgs: {}, runtime, ...(runtime === "rust" ? { rust: { target: "native", toolchain: "" } } : {}) }
    : { kind: "directory", path: dir, dockerfilePath: "Dockerfile", buildArgs: {}, runtime: undefined };
  const t0 = performance.now();
  const archive = await core.prepareArchive(source);
  try {
    await core.saveDraft(api, app, { source, archive });
  } finally {
    await archive.cleanup();
  }
  let outcome;
  const lines = [];
  for await (const item of core.streamDraftBuildLog(api, app, { follow: true })) {
    if (item.case === "entry") lines.push(item.value.line);
    if (item.case === "outcome") outcome = item.value;
  }
  const ms = performance.now() - t0;
  if (!outcome || outcome.error || outcome.status !== 3 /* SUCCEEDED */) {
    if (outcome && outcome.status !== 3) throw new Error(`build failed (${outcome.error}):\n${lines.slice(-15).join("\n")}`);
  }
  return { ms, steps: lines.filter((l) => /^STEP \d+\/\d+/.test(l)).length, cached: lines.filter((l) => /Using cache/.test(l)).length };
}

/** Three cold starts: each waits for the app to scale to zero, then times the first invoke. */
async function coldStarts(app) {
  const colds = [];
  for (let i = 0; i < 3; i++) {
    const until = Date.now() + 30_000;
    while ((await core.getAppState(api, app)).readyReplicas > 0) {
      if (Date.now() > until) throw new Error(`${app.name} did not scale to zero`);
      await sleep(100);
    }
    const r = await invokeOnce(app);
    if (!r.coldStart) throw new Error("the first invoke after scale to zero was not a cold start");
    colds.push(r.ms);
  }
  return colds;
}

async function invokeOnce(app) {
  const t0 = performance.now();
  let head;
  for await (const e of core.invokeApp(api, app, { body: Buffer.from('{"name":"bench"}') })) if (e.kind === "head") head = e.head;
  if (head?.statusCode !== 200) throw new Error(`invoke answered ${head?.statusCode}`);
  return { ms: performance.now() - t0, coldStart: head.coldStart };
}

function gatewayRequest(host, agent) {
  return new Promise((resolve, reject) => {
    const body = '{"name":"bench"}';
    const t0 = performance.now();
    const req = http.request(
      { host: "127.0.0.1", port: Number(gateway.port), method: "POST", path: "/", agent, headers: { host, authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function burst(host, n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  await gatewayRequest(host, agent); // warm
  const lat = [];
  let failures = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: n }, () =>
      gatewayRequest(host, agent).then(
        (ms) => lat.push(ms),
        (e) => {
          if (++failures <= 3) console.error(`gateway request failed: ${e.message}`);
        },
      ),
    ),
  );
  const s = (performance.now() - t0) / 1000;
  agent.destroy();
  return { ok: lat.length, failures, perSecond: lat.length / s, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

const out = [];
const say = (l) => {
  out.push(l);
  console.log(l);
};
try {
  say(`runtime bench, driver ${ready.driver}${driverWanted === "auto" ? " (picked by --driver auto)" : ""}, idle timeout ${IDLE}, ${new Date().toISOString()}`);
  const app = { org, name: "greeter" };
  const dir = join(work, "greeter");
  cpSync(join(repo, "examples/greeter"), dir, { recursive: true });
  await core.createApp(api, app, { healthPath: "/health" });

  let colds = [];
  if (!managedOnly) {
  const cold = await saveAndBuild(app, dir);
  say(`build, cold (fresh data dir, no layer cache): ${(cold.ms / 1000).toFixed(2)} s (${cold.steps} steps)`);
  appendFileSync(join(dir, "server.py"), "\n# bench: a changed source line\n");
  const cached = await saveAndBuild(app, dir);
  say(`build, cached (second build, server.py changed): ${(cached.ms / 1000).toFixed(2)} s (${cached.cached} cached steps) -> cold/cached ${(cold.ms / cached.ms).toFixed(1)}x`);
  let t0 = performance.now();
  await core.publishDraft(api, app);
  say(`publish (start + readiness): ${(performance.now() - t0).toFixed(0)} ms`);

  colds = await coldStarts(app);
  say(`cold start, first invoke after scale to zero (gRPC Invoke, in-process client): median ${median(colds).toFixed(0)} ms of ${colds.length} (${colds.map((x) => x.toFixed(0)).join(", ")})`);
  }

  // managed runtimes: the compile path's build (a fresh data dir: Rust compiles its crates the
  // first time) and cold start, against the image build's above
  const figures = {};
  const managed = [
    { name: "py-managed", runtime: "python", files: { "handler.py": 'def handler(payload, ctx):\n    return {"hello": "bench"}\n' } },
    { name: "rs-managed", runtime: "rust", from: "examples/hello-rs" },
    { name: "deno-managed", runtime: "deno", from: "test/fixtures/deno-app" },
  ];
  for (const m of managed) {
    const mapp = { org, name: m.name };
    const mdir = join(work, m.name);
    if (m.from) cpSync(join(repo, m.from), mdir, { recursive: true });
    else {
      mkdirSync(mdir);
      for (const [f, text] of Object.entries(m.files)) writeFileSync(join(mdir, f), text);
    }
    await core.createApp(api, mapp, {});
    const first = await saveAndBuild(mapp, mdir, m.runtime);
    const [file, comment] = { rust: ["src/lib.rs", "//"], deno: ["main.ts", "//"], python: ["handler.py", "#"] }[m.runtime];
    appendFileSync(join(mdir, file), `\n${comment} bench: a changed source line\n`);
    const second = await saveAndBuild(mapp, mdir, m.runtime);
    await core.publishDraft(api, mapp);
    const mcolds = await coldStarts(mapp);
    await invokeOnce(mapp);
    const warm = [];
    for (let i = 0; i < runs; i++) warm.push((await invokeOnce(mapp)).ms);
    figures[m.runtime] = { cold: median(mcolds), warm: median(warm) };
    const base = figures.python;
    say(
      `${m.runtime} managed runtime: compile + build ${(first.ms / 1000).toFixed(2)} s first, ${(second.ms / 1000).toFixed(2)} s after a source change; ` +
        `cold start median ${median(mcolds).toFixed(0)} ms (${mcolds.map((x) => x.toFixed(0)).join(", ")})` +
        (colds.length ? ` -> ${(median(colds) / median(mcolds)).toFixed(1)}x faster than the greeter image's` : "") +
        `; warm invoke (in-process gRPC) median of ${runs} ${median(warm).toFixed(1)} ms` +
        (m.runtime !== "python" ? `; vs python: cold ${(median(mcolds) / base.cold).toFixed(2)}x, warm ${(median(warm) / base.warm).toFixed(2)}x` : " (the baseline of the others)"),
    );
  }
  if (!managedOnly) {

  // warm: CLI invoke vs curl, interleaved
  const host = `${app.name}-${org}.ignite.localhost`;
  const env = { PATH: process.env.PATH, HOME: work, IGNITE_API_ENDPOINT: ready.grpc_endpoint, IGNITE_TOKEN: token, IGNITE_DEBUG: "1" };
  const cliMs = [];
  const curlMs = [];
  const hasCurl = spawnSync("curl", ["--version"]).status === 0;
  await invokeOnce(app);
  for (let i = 0; i < runs + 1; i++) {
    let t = performance.now();
    const c = spawnSync(process.execPath, [dodil, "ignite", "invoke", `${org}:${app.name}`, "--payload", '{"name":"bench"}'], { env, encoding: "utf8" });
    const cli = performance.now() - t;
    if (c.status !== 0) throw new Error(`dodil ignite invoke failed: ${c.stderr}`);
    let curl = NaN;
    if (hasCurl) {
      t = performance.now();
      const k = spawnSync("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", `Host: ${host}`, "-H", `Authorization: Bearer ${token}`, "-H", "content-type: application/json", "--data", '{"name":"bench"}', `http://127.0.0.1:${gateway.port}/`], { encoding: "utf8" });
      curl = performance.now() - t;
      if (k.stdout !== "200") throw new Error(`curl answered ${k.stdout} ${k.stderr}`);
    }
    if (i > 0) {
      cliMs.push(cli);
      curlMs.push(curl);
    }
  }
  say(
    `warm invoke, median of ${runs}: \`dodil ignite invoke\` ${median(cliMs).toFixed(0)} ms (process start included)` +
      (hasCurl ? `, curl to the gateway ${median(curlMs).toFixed(1)} ms -> ratio ${(median(cliMs) / median(curlMs)).toFixed(1)}x` : ", curl not installed"),
  );
  const inproc = [];
  for (let i = 0; i < runs; i++) inproc.push((await invokeOnce(app)).ms);
  say(`warm invoke, median of ${runs}: gRPC Invoke from an in-process client ${median(inproc).toFixed(1)} ms`);

  // throughput: one replica, then max_replicas 4 (max_concurrency 50)
  const r1 = await burst(host, concurrency);
  say(`${concurrency} concurrent gateway requests, max_replicas 1: ${r1.ok} ok, ${r1.failures} failed, ${r1.perSecond.toFixed(0)} req/s, p50 ${r1.p50.toFixed(0)} ms, p99 ${r1.p99.toFixed(0)} ms`);
  const app4 = { org, name: "greeter4" };
  await core.createApp(api, app4, { healthPath: "/health", maxConcurrency: 50, scaling: { maxReplicas: 4, reservedCapacity: 0 } });
  await saveAndBuild(app4, dir);
  await core.publishDraft(api, app4);
  const host4 = `${app4.name}-${org}.ignite.localhost`;
  const first = await burst(host4, concurrency);
  // the scale-out the first burst started finishes (replicas idle for the idle timeout are scaled in again)
  let replicas = 0;
  for (const until = Date.now() + 10_000; Date.now() < until && replicas < 4; await sleep(100)) replicas = (await core.getAppState(api, app4)).readyReplicas;
  const r4 = await burst(host4, concurrency);
  say(
    `${concurrency} concurrent gateway requests, max_replicas 4 (max_concurrency 50): first burst ${first.perSecond.toFixed(0)} req/s (scaling out); ` +
      `then with ${replicas} replicas ${r4.ok} ok, ${r4.failures} failed, ${r4.perSecond.toFixed(0)} req/s, p50 ${r4.p50.toFixed(0)} ms, p99 ${r4.p99.toFixed(0)} ms`,
  );
  if (process.env.BENCH_DEBUG) console.error(plane.stderr());
  if (r1.failures || r4.failures) process.exitCode = 1;
  }
} finally {
  api.close();
  await plane.stop();
  rmSync(work, { recursive: true, force: true });
}
