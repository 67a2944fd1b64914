import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type RunningControlPlane } from "../../src/local/control-plane.js";
import { ACME_TOKEN } from "../helpers/secrets.js";
import { runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dirs.js";
import { FakeClock } from "../helpers/fake-clock.js";

/**
 * Saves and deployments leave builds, archives and instance directories behind; the disk collector
 * removes what no draft or version refers to (keeping a few recent ones) and nothing that one does.
 */
const repo = join(import.meta.dirname, "..", "..");

let work: string;
let dataDir: string;
let plane: RunningControlPlane | undefined;
const waiters: { re: RegExp; resolve: (line: string) => void }[] = [];

async function start(): Promise<void> {
  plane = await startControlPlane({
    listen: "127.0.0.1:0",
    gatewayListen: "127.0.0.1:0",
    dataDir,
    driver: "host",
    tokens: { [ACME_TOKEN]: "acme-corp" },
    collectIntervalMs: 0,
    // never advanced: only the start-up collection runs (not the one a superseding save schedules)
    clock: new FakeClock(),
    log: (line) => {
      for (const w of waiters.splice(0)) (w.re.test(line) ? w.resolve : () => waiters.push(w))(line);
    },
  });
}
const logLine = (re: RegExp) => new Promise<string>((resolve) => waiters.push({ re, resolve }));

function cli(args: string[]) {
  return runCli(["ignite", ...args], { env: { IGNITE_API_ENDPOINT: plane!.grpcEndpoint, IGNITE_TOKEN: ACME_TOKEN, IGNITE_DEBUG: "true" }, cwd: work });
}
async function ok(args: string[]) {
  const r = await cli(args);
  expect(r.exitCode, `${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r;
}
function save(i: number) {
  const file = join(work, "app", "server.py");
  writeFileSync(file, readFileSync(file, "utf8").replace(/GREETING = ".*"/, `GREETING = "Hi${i}"`));
  return ok(["draft", "save", "acme-corp:greeter", "--code", "app", "--dockerfile-path", "Dockerfile", "-o", "json"]);
}
const builds = () => readdirSync(join(dataDir, "builds")).sort();
const blobs = () => readdirSync(join(dataDir, "blobs", "sha256")).sort();
const instanceDirs = () => readdirSync(join(dataDir, "instances", "acme-corp", "greeter"));

interface Version {
  version: number;
  deploy_id: string;
}
let versions: Version[];
let draftBuild: string;

beforeAll(async () => {
  work = tempDir("disk");
  dataDir = join(work, "data");
  cpSync(join(repo, "examples", "greeter"), join(work, "app"), { recursive: true });
  await start();
  await ok(["app", "create", "acme-corp:greeter"]);
  await save(1);
  await ok(["draft", "publish", "acme-corp:greeter"]);
  for (let i = 2; i <= 6; i++) await save(i);
  await ok(["draft", "publish", "acme-corp:greeter"]);
  await ok(["version", "rollback", "acme-corp:greeter", "1"]);
  await ok(["version", "rollback", "acme-corp:greeter", "2"]);
  versions = JSON.parse((await ok(["version", "list", "acme-corp:greeter", "-o", "json"])).stdout);
  draftBuild = JSON.parse((await ok(["draft", "info", "acme-corp:greeter", "-o", "json"])).stdout).deploy_id;
  expect(builds()).toHaveLength(6);
  expect(blobs()).toHaveLength(6);
  expect(instanceDirs().length).toBeGreaterThanOrEqual(4);
  await plane!.stop();
  // uploads older than the collector's grace, as if the saves were an hour ago
  const contexts = join(dataDir, "orgs", "acme-corp", "contexts");
  for (const n of readdirSync(contexts)) {
    const rec = JSON.parse(readFileSync(join(contexts, n), "utf8"));
    writeFileSync(join(contexts, n), JSON.stringify({ ...rec, createdAtMs: rec.createdAtMs - 3_600_000 }));
  }
  // a restart collects at start-up (and so would the periodic run)
  const collected = logLine(/^disk collection: removed/);
  await start();
  await collected;
}, 300_000);

afterAll(async () => {
  await plane?.stop();
});

describe("disk collection", () => {
  it("removes builds and archives nothing refers to, keeping the recent ones", () => {
    const kept = builds();
    // 6 builds: v1's, then 5 saves (the last is v2's and the draft's); the newest 3 stay for `build logs`
    expect(kept).toHaveLength(4);
    for (const v of versions) expect(kept).toContain(v.deploy_id);
    expect(kept).toContain(draftBuild);
    expect(blobs()).toHaveLength(4);
    for (const id of kept) expect(existsSync(join(dataDir, "images", id))).toBe(true);
    expect(readdirSync(join(dataDir, "images")).sort()).toEqual(kept);
  });

  it("removes stopped instances' directories but the newest two", () => {
    expect(instanceDirs()).toHaveLength(2);
  });

  it("leaves everything a version or the draft needs: both versions run, the draft publishes", async () => {
    const invoked = await ok(["invoke", "acme-corp:greeter", "-p", '{"name": "disk"}']);
    expect(JSON.parse(invoked.stdout).greeting).toMatch(/^Hi6, disk!$/);
    await ok(["version", "rollback", "acme-corp:greeter", "1"]);
    expect(JSON.parse((await ok(["invoke", "acme-corp:greeter", "-p", '{"name": "disk"}'])).stdout).greeting).toMatch(/^Hi1, disk!$/);
    await ok(["version", "code", "acme-corp:greeter", "--version", "1", "--output-file", join(work, "v1.tar.gz")]);
    await ok(["draft", "publish", "acme-corp:greeter"]);
  });
});
