#!/usr/bin/env node
// Peak RSS of the process packing a generated 1 GB tree (half text, half random) with
// `draft save --dry-run` (or packBuildContext when the CLI has no --dry-run yet), or, with
// --upload, of a real `draft save` that packs and uploads it to a local control plane.
// Target: <= 150 MB. Measured with `/usr/bin/time -v` (apt-get install -y time) when
// present, else by polling VmHWM in /proc/<pid>/status. See bench/README.md.
//
// Usage: node bench/pack-rss.mjs [--files 20000] [--mb 1024] [--runs 1] [--no-build] [--api]
//                                [--concurrency N] [--upload] [--strict]
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { build, cliHasDryRun, digestOf, makeTree, median, mib, packCommand, parseArgs, peakRss, REPO, startBenchPlane } from "./lib/common.mjs";

const args = parseArgs(process.argv.slice(2));
const files = Number(args.files ?? 20_000);
const bytes = Number(args.mb ?? 1024) * 1024 * 1024;
const runs = Number(args.runs ?? 1);
const LIMIT_MB = 150;

build(args);
const viaCli = !args.api && cliHasDryRun();
const tree = makeTree({ files, bytes, seed: "dodil-bench-rss" });
let plane;
let work;
try {
  console.log(`tree: ${tree.files} files, ${mib(tree.bytes)} MiB (${mib(tree.textBytes)} text, ${mib(tree.randomBytes)} random), generated in ${(tree.genMs / 1000).toFixed(1)} s`);
  let ours = packCommand(tree.dir, { viaCli, concurrency: args.concurrency });
  let env;
  if (args.upload) {
    // A plane of its own; each run saves to a new app with an empty context cache, so every byte is sent.
    work = mkdtempSync(path.join(os.tmpdir(), "dodil-bench-rss-"));
    plane = await startBenchPlane({ work, org: "bench", token: "rss-token-0123456789" });
    env = { ...process.env, ...plane.env, XDG_CACHE_HOME: path.join(work, "cache") };
    const cli = path.join(REPO, "bin", "dodil.js");
    const { spawnSync } = await import("node:child_process");
    spawnSync(process.execPath, [cli, "ignite", "app", "create", "bench:rss"], { env });
    ours = { label: "dodil ignite draft save (pack + upload to a local control plane)", argv: [process.execPath, cli, "ignite", "draft", "save", "bench:rss", "--code", tree.dir, "--dockerfile-path", "Dockerfile", "--size-warning", "0", "-o", "json"] };
  }
  console.log(`ours: ${ours.label}\ncores: ${os.availableParallelism()}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  const base = await peakRss([process.execPath, "-e", "0"]);
  console.log(`baseline: node -e 0 peak RSS ${(base.kib / 1024).toFixed(1)} MiB (${base.method})`);
  const peaks = [];
  const digests = new Set();
  for (let i = 0; i < runs; i++) {
    if (env) rmSync(env.XDG_CACHE_HOME, { recursive: true, force: true });
    const r = await peakRss(ours.argv, { env });
    peaks.push(r.kib);
    digests.add(digestOf(r.stdout));
    const archive = Number(/"archive_bytes"\s*:\s*(\d+)/.exec(r.stdout)?.[1] ?? NaN);
    const uploaded = /"uploaded_bytes"\s*:\s*(\d+)/.exec(r.stdout)?.[1];
    console.log(`run ${i + 1}: peak RSS ${(r.kib / 1024).toFixed(1)} MiB (${((r.kib * 1024) / 1e6).toFixed(1)} MB), ${(r.ms / 1000).toFixed(1)} s, archive ${mib(archive)} MiB${uploaded ? `, uploaded ${mib(Number(uploaded))} MiB` : ""}, ${digestOf(r.stdout) ?? "no digest"} (${r.method}); load ${os.loadavg()[0].toFixed(2)}`);
  }
  const peak = Math.max(...peaks);
  const mb = (peak * 1024) / 1e6;
  console.log("");
  console.log(`peak RSS: ${mb.toFixed(1)} MB (max of ${runs}; median ${((median(peaks) * 1024) / 1e6).toFixed(1)} MB) - target <= ${LIMIT_MB} MB: ${mb <= LIMIT_MB ? "PASS" : "FAIL"}`);
  if (digests.size !== 1) {
    console.log(`digest DIFFERENT between runs: ${[...digests].join(", ")}`);
    process.exitCode = 2;
  } else if (args.strict && mb > LIMIT_MB) process.exitCode = 1;
} finally {
  await plane?.stop();
  tree.remove();
  if (work) rmSync(work, { recursive: true, force: true });
}
