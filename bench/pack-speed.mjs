#!/usr/bin/env node
// Wall and CPU time of packing a generated tree (20,000 files / 200 MB, half text, half random)
// with `draft save --dry-run` (or packBuildContext when the CLI has no --dry-run yet) against
// GNU `tar -czf` (one gzip process) and `tar -I pigz -cf` (parallel gzip, level 6 like ours) of
// the same tree, measured in the same run, interleaved. Targets: <= 1.0x pigz's wall time
// (moonshot 0.8x), archive <= 1.02x pigz's size. See bench/README.md.
//
// Usage: node bench/pack-speed.mjs [--files 20000] [--mb 200] [--runs 5] [--no-build]
//                                  [--api] [--concurrency N] [--strict]
//   --api          time packBuildContext via bench/lib/pack-once.mjs even if the CLI has --dry-run
//   --concurrency  gzipConcurrency for the --api path (default: the library's default)
//   --strict       exit 1 when the median wall ratio against pigz is above 1.0
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { build, cliHasDryRun, digestOf, gnuTarVersion, makeTree, median, mib, packCommand, parseArgs, timed } from "./lib/common.mjs";

const args = parseArgs(process.argv.slice(2));
const files = Number(args.files ?? 20_000);
const bytes = Number(args.mb ?? 200) * 1024 * 1024;
const runs = Number(args.runs ?? 5);
const load = () => os.loadavg()[0].toFixed(2);

const pigzVersion = spawnSync("pigz", ["--version"], { encoding: "utf8" });
if (pigzVersion.status !== 0) {
  console.error("pigz is not installed (apt-get install -y pigz): it is the baseline this bench compares with");
  process.exit(2);
}

build(args);
const viaCli = !args.api && cliHasDryRun();
const out = mkdtempSync(path.join(os.tmpdir(), "dodil-bench-out-"));
const tree = makeTree({ files, bytes, seed: "dodil-bench" });
try {
  console.log(`tree: ${tree.files} files, ${mib(tree.bytes)} MiB (${mib(tree.textBytes)} text, ${mib(tree.randomBytes)} random), generated in ${(tree.genMs / 1000).toFixed(1)} s`);
  const ours = packCommand(tree.dir, { viaCli, concurrency: args.concurrency });
  const gnuArchive = path.join(out, "gnu.tar.gz");
  const pigzArchive = path.join(out, "pigz.tar.gz");
  const cases = {
    gnu: { label: `${gnuTarVersion()} -czf`, argv: ["tar", "-czf", gnuArchive, "-C", tree.dir, "."], archive: gnuArchive },
    pigz: { label: `tar -I 'pigz -6' -cf (${(pigzVersion.stdout || pigzVersion.stderr).trim()}, ${os.availableParallelism()} threads)`, argv: ["tar", "-I", "pigz -6", "-cf", pigzArchive, "-C", tree.dir, "."], archive: pigzArchive },
    ours: { label: ours.label, argv: ours.argv },
  };
  console.log(`ours: ${cases.ours.label}\ngnu:  ${cases.gnu.label}\npigz: ${cases.pigz.label}\ncores: ${os.availableParallelism()}, load average: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);

  // Warm-up: page cache, node's compile cache; also the archive sizes.
  const sizes = {};
  for (const name of ["gnu", "pigz"]) {
    timed(cases[name].argv);
    sizes[name] = statSync(cases[name].archive).size;
    rmSync(cases[name].archive);
  }
  const warm = timed(ours.argv);
  const digests = new Set([digestOf(warm.stdout)]);
  sizes.ours = Number(/"archive_bytes"\s*:\s*(\d+)/.exec(warm.stdout)?.[1] ?? NaN);

  const names = ["gnu", "pigz", "ours"];
  const wall = { gnu: [], pigz: [], ours: [] };
  const cpu = { gnu: [], pigz: [], ours: [] };
  const perRun = { gnu: [], pigz: [] };
  const loads = [];
  for (let i = 0; i < runs; i++) {
    // Rotate which goes first, so a drift in machine load hits all three alike.
    const order = names.map((_, k) => names[(k + i) % names.length]);
    const t = {};
    for (const name of order) {
      const r = timed(cases[name].argv);
      t[name] = r.ms;
      wall[name].push(r.ms);
      if (r.cpuMs !== undefined) cpu[name].push(r.cpuMs);
      if (cases[name].archive) rmSync(cases[name].archive);
      else digests.add(digestOf(r.stdout));
    }
    perRun.gnu.push(t.ours / t.gnu);
    perRun.pigz.push(t.ours / t.pigz);
    loads.push(Number(load()));
    console.log(
      `run ${i + 1}: gnu ${(t.gnu / 1000).toFixed(2)} s, pigz ${(t.pigz / 1000).toFixed(2)} s, ours ${(t.ours / 1000).toFixed(2)} s; ours/gnu ${(t.ours / t.gnu).toFixed(2)}, ours/pigz ${(t.ours / t.pigz).toFixed(2)}; load ${load()}`,
    );
  }
  const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
  const m = (xs) => median(xs);
  console.log("");
  console.log(`median wall: gnu ${s(m(wall.gnu))}, pigz ${s(m(wall.pigz))}, ours ${s(m(wall.ours))} (load average during the runs ${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)})`);
  const vsPigz = m(wall.ours) / m(wall.pigz);
  console.log(`wall ratio ours/gnu:  ${(m(wall.ours) / m(wall.gnu)).toFixed(2)} (median of per-run ratios ${m(perRun.gnu).toFixed(2)})`);
  console.log(`wall ratio ours/pigz: ${vsPigz.toFixed(2)} (median of per-run ratios ${m(perRun.pigz).toFixed(2)}) - target <= 1.00: ${vsPigz <= 1 ? "PASS" : "FAIL"}; moonshot <= 0.80: ${vsPigz <= 0.8 ? "PASS" : "no"}`);
  if (cpu.ours.length > 0) {
    // CPU time (user + sys, children included) is less sensitive to other load than wall time.
    console.log(
      `median CPU: gnu ${s(m(cpu.gnu))}, pigz ${s(m(cpu.pigz))}, ours ${s(m(cpu.ours))}; CPU ratio ours/gnu ${(m(cpu.ours) / m(cpu.gnu)).toFixed(2)}, ours/pigz ${(m(cpu.ours) / m(cpu.pigz)).toFixed(2)}`,
    );
  }
  const sizeRatio = sizes.ours / sizes.pigz;
  console.log(`archive: gnu ${mib(sizes.gnu)} MiB, pigz ${mib(sizes.pigz)} MiB, ours ${mib(sizes.ours)} MiB (ours/pigz ${sizeRatio.toFixed(3)} - target <= 1.020: ${sizeRatio <= 1.02 ? "PASS" : "FAIL"})`);
  console.log(`digest: ${[...digests].join(", ")} (${digests.size === 1 ? "identical in every run" : "DIFFERENT between runs"})`);
  if (digests.size !== 1) process.exitCode = 2;
  else if (args.strict && vsPigz > 1) process.exitCode = 1;
} finally {
  tree.remove();
  rmSync(out, { recursive: true, force: true });
}
