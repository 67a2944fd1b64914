#!/usr/bin/env node
// A second `draft save` of an unchanged tree: bytes uploaded (target 0) and its wall time as a
// ratio of the first save's (target <= 0.3x), both measured in this run against one local control
// plane. Usage: node bench/resave.mjs [--files 20000] [--mb 200] [--no-build]
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { build, makeTree, parseArgs, REPO, startBenchPlane, timed } from "./lib/common.mjs";

const args = parseArgs(process.argv.slice(2));
const files = Number(args.files ?? 20000);
const megabytes = Number(args.mb ?? 200);
if (!args["no-build"]) build(args);

const cli = path.join(REPO, "bin", "dodil.js");
const work = mkdtempSync(path.join(os.tmpdir(), "dodil-bench-resave-"));
const tree = makeTree({ files, bytes: megabytes * 1024 * 1024, seed: "resave" });
// The cache trusts no file modified in the last 2 s, as git's index does; let the tree settle.
await new Promise((resolve) => setTimeout(resolve, 2500));
const token = "resave-token-0123456789";
const plane = await startBenchPlane({ work, org: "bench", token });
try {
  const env = { ...process.env, ...plane.env, XDG_CACHE_HOME: path.join(work, "cache") };
  timed([process.execPath, cli, "ignite", "app", "create", "bench:resave"], { env });
  const save = () => timed([process.execPath, cli, "ignite", "draft", "save", "bench:resave", "--code", tree.dir, "--dockerfile-path", "Dockerfile", "--size-warning", "0", "-o", "json"], { env });
  const first = save();
  const second = save();
  const a = JSON.parse(first.stdout);
  const b = JSON.parse(second.stdout);
  console.log(`tree: ${files} files, ${megabytes} MiB (archive ${(a.archive_bytes / 1e6).toFixed(1)} MB, ${a.digest.slice(0, 19)}…)`);
  console.log(`first save:  ${(first.ms / 1000).toFixed(2)} s, uploaded ${a.uploaded_bytes} bytes, packed ${a.packed}`);
  console.log(`second save: ${(second.ms / 1000).toFixed(2)} s, uploaded ${b.uploaded_bytes} bytes, packed ${b.packed}, same digest ${a.digest === b.digest}`);
  const ratio = second.ms / first.ms;
  console.log(`second/first: ${ratio.toFixed(2)}x (target <= 0.3x): ${ratio <= 0.3 && b.uploaded_bytes === 0 ? "ok" : "OVER"}`);
} finally {
  await plane.stop();
  tree.remove();
  rmSync(work, { recursive: true, force: true });
}
