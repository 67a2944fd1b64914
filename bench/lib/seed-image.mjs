// The setup bench/pull.mjs and bench/registry.mjs share: a temp dir removed on exit (with any
// overlay a failed build left mounted under it), the seed's image (examples/greeter, FROM
// python:3.12-slim) built with the podman driver, an empty auth file for the loopback registry,
// and timing. Needs dist/ (built here unless --no-build).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { build, parseArgs, REPO } from "./common.mjs";

export const SEED_REF = "local.ignite/bench/seed:1";

/** Arguments (--runs, --context, --verbose, --no-build), dist/ built, a temp dir and the modules used. */
export async function seedBench(label) {
  const args = parseArgs(process.argv.slice(2));
  build(args);
  const tmp = mkdtempSync(path.join(os.tmpdir(), `dodil-bench-${label}-`));
  process.on("SIGINT", () => {
    removeTmp(tmp);
    process.exit(130);
  });
  const { PodmanDriver } = await import(path.join(REPO, "dist/local/drivers/podman.js"));
  const { startRegistry } = await import(path.join(REPO, "dist/local/registry/registry-server.js"));
  return { args, runs: Number(args.runs ?? 3), context: path.resolve(args.context ?? path.join(REPO, "examples/greeter")), tmp, PodmanDriver, startRegistry };
}

/** Builds the seed's image as SEED_REF with `driver` (its storage must see the base image). */
export async function buildSeedImage(driver, { tmp, context, args }) {
  const contextFile = path.join(tmp, "context.tar.gz");
  execFileSync("tar", ["-czf", contextFile, "-C", context, "."]);
  const imageDir = path.join(tmp, "image");
  mkdirSync(imageDir, { recursive: true });
  await driver.build(
    { buildId: "bld_bench", org: "bench", contextFile, dockerfilePath: "Dockerfile", buildArgs: {}, imageDir, imageRef: SEED_REF },
    (line) => args.verbose && console.log(`  ${line}`),
    new AbortController().signal,
  );
  return SEED_REF;
}

/** An auth file with no credentials (the loopback registries here have no auth). */
export function emptyAuthFile(tmp) {
  const file = path.join(tmp, "auth.json");
  writeFileSync(file, JSON.stringify({ auths: {} }), { mode: 0o600 });
  return file;
}

export async function timed(f) {
  const s = performance.now();
  await f();
  return performance.now() - s;
}

/** Removes the temp dir, unmounting first what a failed build can leave mounted under it. */
export function removeTmp(tmp) {
  for (const line of execFileSync("findmnt", ["-rn", "-o", "TARGET"], { encoding: "utf8" }).split("\n").reverse()) {
    if (line.startsWith(tmp)) spawnSync("umount", ["-l", line]);
  }
  rmSync(tmp, { recursive: true, force: true });
}
