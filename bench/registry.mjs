#!/usr/bin/env node
// Push and pull times of the seed's image (examples/greeter, FROM python:3.12-slim) between
// the podman driver's storage and the plane's registry (Debian's docker-registry on loopback), each
// against a local baseline in the same run: push vs `podman save` of the same image to an OCI
// archive, pull vs `podman load` of that archive. A fresh registry per run (so every push sends
// every layer) and the image removed before each pull/load. Needs the python stand-in (dev setup),
// buildah, podman, docker-registry. Usage: node bench/registry.mjs [--runs 3] [--no-build] [--context DIR]
import { execFileSync, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import { buildSeedImage, emptyAuthFile, removeTmp, seedBench, timed } from "./lib/seed-image.mjs";

const setup = await seedBench("registry");
const { runs, tmp, PodmanDriver, startRegistry } = setup;
const stats = [];
try {
  const driver = new PodmanDriver({ dataDir: tmp });
  await driver.init();
  const env = driver.config.env;
  const t0 = performance.now();
  const ref = await buildSeedImage(driver, setup);
  const size = JSON.parse(execFileSync("podman", ["image", "inspect", ref], { env, encoding: "utf8" }))[0].Size;
  console.log(`built ${ref} (${(size / 1e6).toFixed(0)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const authFile = emptyAuthFile(tmp);
  const podman = (...a) => {
    const r = spawnSync("podman", a, { env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`podman ${a[0]}: ${r.stderr}`);
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
  removeTmp(tmp);
}
