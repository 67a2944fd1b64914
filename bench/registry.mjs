#!/usr/bin/env node
// Push and pull times of the seed's image (examples/greeter, FROM python:3.12-slim) between
// the podman driver's storage and the plane's registry (Debian's docker-registry on loopback), each
// against a local baseline in the same run: push vs `podman save` of the same image to an OCI
// archive, pull vs `podman load` of that archive. A fresh registry per run (so every push sends
// every layer) and the image removed before each pull/load. Needs the python stand-in (dev setup),
// buildah, podman, docker-registry. Usage: node bench/registry.mjs [--runs 3] [--no-build] [--context DIR]
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { build, parseArgs, REPO } from "./lib/common.mjs";

const args = parseArgs(process.argv.slice(2));
const runs = Number(args.runs ?? 3);
const context = path.resolve(args.context ?? path.join(REPO, "examples/greeter"));
build(args);
const { PodmanDriver } = await import(path.join(REPO, "dist/local/drivers/podman.js"));
const { startRegistry } = await import(path.join(REPO, "dist/local/registry/registry-server.js"));

const tmp = mkdtempSync(path.join(os.tmpdir(), "dodil-bench-registry-"));
process.on("SIGINT", () => {
  rmSync(tmp, { recursive: true, force: true });
  process.exit(130);
});
const stats = [];
try {
  const driver = new PodmanDriver({ dataDir: tmp });
  await driver.init();
  const env = driver.config.env;
  const contextFile = path.join(tmp, "context.tar.gz");
  execFileSync("tar", ["-czf", contextFile, "-C", context, "."]);
  const ref = "local.ignite/bench/seed:1";
  const t0 = performance.now();
  await driver.build(
    { buildId: "bld_bench", org: "bench", contextFile, dockerfilePath: "Dockerfile", buildArgs: {}, imageDir: path.join(tmp, "image"), imageRef: ref },
    (line) => args.verbose && console.log(`  ${line}`),
    new AbortController().signal,
  );
  const size = JSON.parse(execFileSync("podman", ["image", "inspect", ref], { env, encoding: "utf8" }))[0].Size;
  console.log(`built ${ref} (${(size / 1e6).toFixed(0)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const authFile = path.join(tmp, "auth.json");
  writeFileSync(authFile, JSON.stringify({ auths: {} }), { mode: 0o600 });
  const podman = (...a) => {
    const r = spawnSync("podman", a, { env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`podman ${a[0]}: ${r.stderr}`);
  };
  const timed = async (f) => {
    const s = performance.now();
    await f();
    return performance.now() - s;
  };
  for (let i = 0; i < runs; i++) {
    const reg = await startRegistry({ dir: path.join(tmp, `registry-${i}`) });
    const dest = `${reg.host}/bench/seed:1`;
    const archive = path.join(tmp, `seed-${i}.oci.tar`);
    const save = await timed(() => podman("save", "--format", "oci-archive", "-o", archive, ref));
    let digest = "";
    const push = await timed(async () => (digest = await driver.pushImage(ref, dest, { authFile })));
    podman("rmi", "-f", ref);
    const load = await timed(() => podman("load", "-q", "-i", archive));
    podman("rmi", "-f", ref);
    const pull = await timed(() => driver.pullImageAs(`${reg.host}/bench/seed@${digest}`, ref, { authFile }));
    await reg.stop();
    rmSync(archive, { force: true });
    stats.push({ save, push, load, pull });
    console.log(`run ${i + 1}: push ${(push / 1000).toFixed(2)} s vs save ${(save / 1000).toFixed(2)} s; pull ${(pull / 1000).toFixed(2)} s vs load ${(load / 1000).toFixed(2)} s`);
  }
  const median = (k) => stats.map((s) => s[k]).sort((a, b) => a - b)[Math.floor(stats.length / 2)];
  console.log(
    `median: push ${(median("push") / 1000).toFixed(2)} s = ${(median("push") / median("save")).toFixed(2)}x podman save; ` +
      `pull ${(median("pull") / 1000).toFixed(2)} s = ${(median("pull") / median("load")).toFixed(2)}x podman load`,
  );
  await driver.close?.();
} catch (e) {
  console.error(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  // a failed build can leave its overlay mounted under the storage
  for (const line of execFileSync("findmnt", ["-rn", "-o", "TARGET"], { encoding: "utf8" }).split("\n").reverse()) {
    if (line.startsWith(tmp)) spawnSync("umount", ["-l", line]);
  }
  rmSync(tmp, { recursive: true, force: true });
}
