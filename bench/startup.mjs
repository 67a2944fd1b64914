#!/usr/bin/env node
// Start-up time of the CLI as ratios against `node -e 0`, measured in the same run, interleaved
// so machine load hits every command alike. Usage: npm run build && node bench/startup.mjs [runs]
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const runs = Number(process.argv[2] ?? 15);
const repo = new URL("..", import.meta.url).pathname;
const dodil = join(repo, "bin", "dodil.js");
const work = mkdtempSync(join(tmpdir(), "ignite-bench-"));
const token = "bench-token-0123456789";

const plane = spawn(process.execPath, [dodil, "ignite", "dev", "--listen", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--data-dir", join(work, "data"), "--driver", "host", "--token", `bench=${token}`, "-o", "json"], {
  stdio: ["ignore", "pipe", "ignore"],
});
const ready = JSON.parse(await new Promise((resolve) => createInterface({ input: plane.stdout }).once("line", resolve)));
const env = { PATH: process.env.PATH, HOME: work, IGNITE_API_ENDPOINT: ready.grpc_endpoint, IGNITE_TOKEN: token, IGNITE_DEBUG: "1" };
spawnSync(process.execPath, [dodil, "ignite", "app", "create", "bench:one"], { env });

const cases = [
  { name: "node -e 0 (baseline)", args: ["-e", "0"] },
  { name: "dodil --version", args: [dodil, "--version"], target: 1.3 },
  { name: "dodil ignite --help", args: [dodil, "ignite", "--help"], target: 1.6 },
  { name: "dodil ignite app list -o json", args: [dodil, "ignite", "app", "list", "-o", "json"], target: 2.5 },
];
const samples = cases.map(() => []);
for (let i = 0; i < runs + 2; i += 1) {
  cases.forEach((c, index) => {
    const started = process.hrtime.bigint();
    const result = spawnSync(process.execPath, c.args, { env, stdio: ["ignore", "ignore", "pipe"] });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (result.status !== 0) throw new Error(`${c.name} failed: ${result.stderr}`);
    if (i >= 2) samples[index].push(ms); // two warm-up rounds
  });
}
plane.kill("SIGTERM");
await new Promise((resolve) => plane.once("exit", resolve));
rmSync(work, { recursive: true, force: true });

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const base = median(samples[0]);
console.log(`start-up, median of ${runs} runs each (interleaved), against node -e 0 in the same run`);
console.log("command                           median ms   ratio   target");
cases.forEach((c, index) => {
  const ms = median(samples[index]);
  const ratio = ms / base;
  const verdict = c.target === undefined ? "" : `${ratio <= c.target ? "ok  " : "OVER"} <= ${c.target}x`;
  console.log(`${c.name.padEnd(32)}  ${ms.toFixed(0).padStart(9)}   ${ratio.toFixed(2).padStart(5)}x  ${verdict}`);
});
