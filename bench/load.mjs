#!/usr/bin/env node
// Load on one local control plane: N concurrent invokes and M concurrent 20 MB draft saves, through
// the CLI's own client code (dist/), reporting throughput, p50/p99 latency and the control plane's
// peak RSS (VmHWM). Usage: npm run build && node bench/load.mjs [invokes=200] [saves=20] [mb=20]
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadClientCode, startBenchPlane } from "./lib/common.mjs";

const [invokes = 200, saves = 20, mb = 20] = process.argv.slice(2).map(Number);
const repo = new URL("..", import.meta.url).pathname;
const { GrpcIgniteApi, core } = await loadClientCode();
const work = mkdtempSync(join(tmpdir(), "ignite-load-"));
const token = "load-token-0123456789abcdef";
const plane = await startBenchPlane({ work, org: "load", token });
const { ready } = plane;
let peakRss = 0;
const sampler = setInterval(() => {
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${plane.pid}/status`, "utf8"));
    if (hwm) peakRss = Math.max(peakRss, Number(hwm[1]) * 1024);
  } catch {}
}, 100);

const api = new GrpcIgniteApi({ endpoint: ready.grpc_endpoint, token, plaintext: true, timeoutMs: 300_000 });
const app = { org: "load", name: "greeter" };
cpSync(join(repo, "examples/greeter"), join(work, "app"), { recursive: true });
await core.createApp(api, app, {});
const archive = await core.prepareArchive({ kind: "directory", path: join(work, "app"), dockerfilePath: "Dockerfile", buildArgs: {}, runtime: undefined });
await core.saveDraft(api, app, { source: { kind: "directory", path: join(work, "app"), dockerfilePath: "Dockerfile", buildArgs: {}, runtime: undefined }, archive });
await archive.cleanup();
await core.publishDraft(api, app);

const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))];
async function timed(count, task) {
  const latencies = [];
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const t0 = performance.now();
      try {
        await task(i);
        latencies.push(performance.now() - t0);
      } catch (error) {
        failures += 1;
        if (failures <= 3) console.error(`failure: ${error.message}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { ok: latencies.length, failures, seconds, perSecond: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

const body = Buffer.from(JSON.stringify({ name: "load" }));
const invokeResult = await timed(invokes, async () => {
  let status = 0;
  for await (const event of core.invokeApp(api, app, { body })) if (event.kind === "head") status = event.head.statusCode;
  if (status !== 200) throw new Error(`HTTP ${status}`);
});

for (let i = 0; i < saves; i += 1) {
  const dir = join(work, `ctx${i}`);
  mkdirSync(dir);
  writeFileSync(join(dir, "Dockerfile"), 'FROM python:3.12-slim\nCOPY . /app\nUSER 65534\nCMD ["python", "/app/x.py"]\n');
  writeFileSync(join(dir, "blob.bin"), randomBytes(mb * 1024 * 1024));
  await core.createApp(api, { org: "load", name: `saver-${i}` }, {});
}
const saveResult = await timed(saves, async (i) => {
  const source = { kind: "directory", path: join(work, `ctx${i}`), dockerfilePath: "Dockerfile", buildArgs: {}, runtime: undefined };
  const packed = await core.prepareArchive(source);
  try {
    const saved = await core.saveDraft(api, { org: "load", name: `saver-${i}` }, { source, archive: packed });
    if (saved.archive.uploadedBytes !== packed.sizeBytes) throw new Error("partial upload");
  } finally {
    await packed.cleanup();
  }
});

clearInterval(sampler);
api.close();
await plane.stop();
rmSync(work, { recursive: true, force: true });

const row = (name, r) => `${name.padEnd(28)} ${String(r.ok).padStart(5)} ok ${String(r.failures).padStart(3)} failed  ${r.perSecond.toFixed(1).padStart(7)}/s  p50 ${r.p50.toFixed(0).padStart(6)} ms  p99 ${r.p99.toFixed(0).padStart(6)} ms`;
console.log(`load against one local control plane (host driver), ${new Date().toISOString()}`);
console.log(row(`${invokes} concurrent invokes`, invokeResult));
console.log(row(`${saves} concurrent ${mb} MB saves`, saveResult));
console.log(`control plane peak RSS: ${(peakRss / 1024 / 1024).toFixed(0)} MB`);
if (invokeResult.failures || saveResult.failures) process.exitCode = 1;
