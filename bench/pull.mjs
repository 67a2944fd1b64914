#!/usr/bin/env node
// Pulls (issue 16, points 2 and 3), figures only. On the podman driver with a fresh storage that
// does NOT see the shared image cache (so every layer crosses the wire), against a loopback
// registry (Debian's docker-registry, started here):
//  1. pull of the seed's image (examples/greeter, FROM python:3.12-slim, built here first) vs
//     `podman load` of the same image from an OCI archive (the same bytes without a registry);
//  2. cold start of a BYOI image, the driver's part of it: start the container and wait for its
//     first HTTP answer, with the image already present vs pulled first (what a cold start after the
//     local copy is gone does), and vs a re-pull of a present image (what a registry-secret image
//     does at every cold start: the layers are local, only the manifest is asked for);
// each as a ratio against the first in the same run, with `node -e 0` as the machine's baseline.
// Needs the python stand-in (dev setup), buildah, podman, runc, docker-registry.
// Usage: node bench/pull.mjs [--runs 3] [--no-build] [--context DIR]
import { execFileSync, spawnSync } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { REPO } from "./lib/common.mjs";
import { buildSeedImage, emptyAuthFile, removeTmp, seedBench, timed } from "./lib/seed-image.mjs";

const setup = await seedBench("pull");
const { runs, tmp, PodmanDriver, startRegistry } = setup;
const { freePort } = await import(path.join(REPO, "dist/local/net.js"));

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const s = (ms) => `${(ms / 1000).toFixed(2)} s`;

/** Resolves once GET / on the port answers (any status): the app is up. */
async function firstAnswer(port, deadlineMs = 60_000) {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const req = http.get({ host: "127.0.0.1", port, path: "/", timeout: 1000 }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on("error", () => resolve(false));
      req.on("timeout", () => req.destroy());
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing answered on port ${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

try {
  // the seed's image, built in a storage that sees the cache (for FROM python:3.12-slim)
  const builder = new PodmanDriver({ dataDir: path.join(tmp, "builder") });
  await builder.init();
  const ref = await buildSeedImage(builder, setup);
  const reg = await startRegistry({ dir: path.join(tmp, "registry") });
  const remote = `${reg.host}/bench/seed:1`;
  const authFile = emptyAuthFile(tmp);
  await builder.pushImage(ref, remote, { authFile });
  const archive = path.join(tmp, "seed.oci.tar");
  execFileSync("podman", ["save", "--format", "oci-archive", "-o", archive, ref], { env: builder.config.env });
  await builder.close();

  // the puller: a storage of its own, no image cache (an empty one), so every layer is pulled
  const driver = new PodmanDriver({ dataDir: path.join(tmp, "puller"), imageCacheDir: path.join(tmp, "no-cache") });
  await driver.init();
  const env = driver.config.env;
  const podman = (...a) => spawnSync("podman", a, { env, encoding: "utf8" });
  const dropAll = () => podman("rmi", "-a", "-f");
  const node = [];
  const pull = [];
  const load = [];
  const coldPresent = [];
  const coldPulled = [];
  const coldRepull = [];
  const startOnce = async (image) => {
    const port = await freePort();
    const inst = await driver.start(image, { env: {}, port, extraPorts: [], instanceDir: path.join(tmp, `inst-${port}`), log: () => undefined });
    await firstAnswer(port);
    await inst.stop();
  };
  for (let i = 0; i < runs; i++) {
    node.push(await timed(async () => spawnSync(process.execPath, ["-e", "0"])));
    dropAll();
    load.push(await timed(async () => podman("load", "-q", "-i", archive)));
    dropAll();
    let image;
    pull.push(await timed(async () => (image = await driver.pullImage({ ref: remote, org: "bench", log: () => undefined }))));
    coldPresent.push(await timed(() => startOnce(image)));
    coldRepull.push(await timed(async () => startOnce(await driver.pullImage({ ref: remote, org: "bench", log: () => undefined }))));
    dropAll();
    coldPulled.push(await timed(async () => startOnce(await driver.pullImage({ ref: remote, org: "bench", log: () => undefined }))));
    console.log(
      `run ${i + 1}: pull ${s(pull[i])} vs load ${s(load[i])}; cold start present ${s(coldPresent[i])}, re-pull+start ${s(coldRepull[i])}, pull+start ${s(coldPulled[i])}; node -e 0 ${s(node[i])}`,
    );
  }
  const size = JSON.parse(execFileSync("podman", ["image", "inspect", remote], { env, encoding: "utf8" }))[0].Size;
  console.log(`image ${(size / 1e6).toFixed(0)} MB, medians of ${runs}:`);
  console.log(`  pull of the seed's image from a loopback registry ${s(median(pull))} = ${(median(pull) / median(load)).toFixed(2)}x podman load of the same image (${s(median(load))})`);
  console.log(
    `  BYOI cold start: present ${s(median(coldPresent))}; pulled first ${s(median(coldPulled))} = ${(median(coldPulled) / median(coldPresent)).toFixed(2)}x; ` +
      `re-pulled with layers present (registry secret) ${s(median(coldRepull))} = ${(median(coldRepull) / median(coldPresent)).toFixed(2)}x`,
  );
  console.log(`  baseline node -e 0 ${s(median(node))}; present cold start = ${(median(coldPresent) / median(node)).toFixed(1)}x node -e 0`);
  await driver.close();
  await reg.stop();
} catch (e) {
  console.error(`bench failed: ${e instanceof Error ? e.stack : String(e)}`);
  process.exitCode = 1;
} finally {
  removeTmp(tmp);
}
