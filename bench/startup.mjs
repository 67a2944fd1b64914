#!/usr/bin/env node
// Start-up time of the CLI as ratios against `node -e 0`, measured in the same run, interleaved
// so machine load hits every command alike. Usage: npm run build && node bench/startup.mjs [runs]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO, interleavedMedians, startBenchPlane } from "./lib/common.mjs";

const runs = Number(process.argv[2] ?? 15);
const dodil = join(REPO, "bin", "dodil.js");
const work = mkdtempSync(join(tmpdir(), "ignite-bench-"));
const plane = await startBenchPlane({ work, org: "bench", token: "bench-token-0123456789" });
spawnSync(process.execPath, [dodil, "ignite", "app", "create", "bench:one"], { env: plane.env });

const cases = [
  { name: "node -e 0 (baseline)", args: ["-e", "0"] },
  { name: "dodil --version", args: [dodil, "--version"], target: 1.3 },
  { name: "dodil ignite --help", args: [dodil, "ignite", "--help"], target: 1.6 },
  { name: "dodil ignite app list -o json", args: [dodil, "ignite", "app", "list", "-o", "json"], target: 2.5, check: (out) => out.includes('"bench/one"') },
];
// The warm-up rounds also write the CLI's code cache (HOME is the work directory).
const medians = interleavedMedians(cases, runs, plane.env);
await plane.stop();
rmSync(work, { recursive: true, force: true });

const base = medians[0];
console.log(`start-up, median of ${runs} runs each (interleaved), against node -e 0 in the same run`);
console.log("command                           median ms   ratio   target");
cases.forEach((c, index) => {
  const ratio = medians[index] / base;
  const verdict = c.target === undefined ? "" : `${ratio <= c.target ? "ok  " : "OVER"} <= ${c.target}x`;
  console.log(`${c.name.padEnd(32)}  ${medians[index].toFixed(0).padStart(9)}   ${ratio.toFixed(2).padStart(5)}x  ${verdict}`);
});
