#!/usr/bin/env node
// Wall time of packing a generated tree (20,000 files / 200 MB, half text, half random)
// with `draft save --dry-run` (or packBuildContext when the CLI has no --dry-run yet)
// against GNU `tar -czf` of the same tree, measured in the same run, interleaved.
// Target: ratio <= 1.0. See bench/README.md.
//
// Usage: node bench/pack-speed.mjs [--files 20000] [--mb 200] [--runs 5] [--no-build]
//                                  [--api] [--concurrency N] [--strict]
//   --api          time packBuildContext via bench/lib/pack-once.mjs even if the CLI has --dry-run
//   --concurrency  gzipConcurrency for the --api path (default: the library's default)
//   --strict       exit 1 when the median ratio is above 1.0
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { build, cliHasDryRun, digestOf, gnuTarVersion, makeTree, median, mib, packCommand, parseArgs, timed } from "./lib/common.mjs";

const args = parseArgs(process.argv.slice(2));
const files = Number(args.files ?? 20_000);
const bytes = Number(args.mb ?? 200) * 1024 * 1024;
const runs = Number(args.runs ?? 5);

build(args);
const viaCli = !args.api && cliHasDryRun();
const out = mkdtempSync(path.join(os.tmpdir(), "dodil-bench-out-"));
const tree = makeTree({ files, bytes, seed: "dodil-bench" });
try {
  console.log(`tree: ${tree.files} files, ${mib(tree.bytes)} MiB (${mib(tree.textBytes)} text, ${mib(tree.randomBytes)} random), generated in ${(tree.genMs / 1000).toFixed(1)} s`);
  const ours = packCommand(tree.dir, { viaCli, concurrency: args.concurrency });
  const gnuArchive = path.join(out, "gnu.tar.gz");
  const gnu = { label: `${gnuTarVersion()} -czf`, argv: ["tar", "-czf", gnuArchive, "-C", tree.dir, "."] };
  console.log(`ours: ${ours.label}\ngnu:  ${gnu.label}\ncores: ${os.availableParallelism()}, load average: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);

  // Warm-up: page cache, node's compile cache; also the archive sizes.
  timed(gnu.argv);
  const gnuBytes = statSync(gnuArchive).size;
  rmSync(gnuArchive);
  const warm = timed(ours.argv);
  const digest = digestOf(warm.stdout);
  const oursBytes = Number(/"archive_bytes"\s*:\s*(\d+)/.exec(warm.stdout)?.[1] ?? NaN);

  const gnuMs = [];
  const oursMs = [];
  const gnuCpu = [];
  const oursCpu = [];
  const ratios = [];
  const digests = new Set([digest]);
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so a drift in machine load hits both alike.
    const order = i % 2 === 0 ? ["gnu", "ours"] : ["ours", "gnu"];
    const t = {};
    for (const which of order) {
      if (which === "gnu") {
        const r = timed(gnu.argv);
        t.gnu = r.ms;
        if (r.cpuMs !== undefined) gnuCpu.push(r.cpuMs);
        rmSync(gnuArchive);
      } else {
        const r = timed(ours.argv);
        t.ours = r.ms;
        if (r.cpuMs !== undefined) oursCpu.push(r.cpuMs);
        digests.add(digestOf(r.stdout));
      }
    }
    gnuMs.push(t.gnu);
    oursMs.push(t.ours);
    ratios.push(t.ours / t.gnu);
    console.log(`run ${i + 1}: gnu ${(t.gnu / 1000).toFixed(2)} s, ours ${(t.ours / 1000).toFixed(2)} s, ratio ${(t.ours / t.gnu).toFixed(2)}, load ${os.loadavg()[0].toFixed(2)}`);
  }
  const ratio = median(oursMs) / median(gnuMs);
  console.log("");
  console.log(`median wall: gnu ${(median(gnuMs) / 1000).toFixed(2)} s, ours ${(median(oursMs) / 1000).toFixed(2)} s`);
  console.log(`ratio of medians: ${ratio.toFixed(2)} (median of per-run ratios ${median(ratios).toFixed(2)}) - target <= 1.00: ${ratio <= 1 ? "PASS" : "FAIL"}`);
  if (gnuCpu.length > 0) {
    // CPU time (user + sys) is less sensitive to other load on the machine than wall time.
    console.log(`median CPU: gnu ${(median(gnuCpu) / 1000).toFixed(2)} s, ours ${(median(oursCpu) / 1000).toFixed(2)} s (ratio ${(median(oursCpu) / median(gnuCpu)).toFixed(2)})`);
  }
  console.log(`archive: gnu ${mib(gnuBytes)} MiB, ours ${mib(oursBytes)} MiB`);
  console.log(`digest: ${[...digests].join(", ")} (${digests.size === 1 ? "identical in every run" : "DIFFERENT between runs"})`);
  if (digests.size !== 1) process.exitCode = 2;
  else if (args.strict && ratio > 1) process.exitCode = 1;
} finally {
  tree.remove();
  rmSync(out, { recursive: true, force: true });
}
