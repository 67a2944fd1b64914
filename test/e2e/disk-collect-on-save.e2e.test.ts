/**
 * The disk collector also runs after a save supersedes a draft, not only at start-up and every
 * collectIntervalMs: SUPERSEDE_DELAY_MS after the first superseding save (on the plane's clock,
 * here a FakeClock the test moves), one collection for however many saves came in between.
 */
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type RunningControlPlane } from "../../src/local/control-plane.js";
import { BLOB_GRACE_MS, KEEP_BUILDS_PER_APP, SUPERSEDE_DELAY_MS } from "../../src/local/store/disk-collector.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { runCli } from "../helpers/run-cli.js";
import { ACME_TOKEN } from "../helpers/secrets.js";
import { removeDir, tempDir } from "../helpers/temp-dirs.js";

const repo = join(import.meta.dirname, "..", "..");
let work: string;
let dataDir: string;
let plane: RunningControlPlane;
const clock = new FakeClock();
const lines: string[] = [];
const waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
/** The next plane log line matching `re` (from the time of the call). */
const logLine = (re: RegExp) => new Promise<string>((resolve) => waiters.push({ re, resolve }));

const cli = (args: string[]) => runCli(["ignite", ...args], { env: { IGNITE_API_ENDPOINT: plane.grpcEndpoint, IGNITE_TOKEN: ACME_TOKEN, IGNITE_DEBUG: "true" }, cwd: work });
const builds = () => readdirSync(join(dataDir, "builds"));

/** Saves new code and waits until its build has ended (a build in progress is never collected). */
async function save(i: number): Promise<void> {
  const file = join(work, "app", "server.py");
  writeFileSync(file, readFileSync(file, "utf8").replace(/GREETING = ".*"/, `GREETING = "Hi${i}"`));
  const started = logLine(/^build \S+ started for acme-corp\/greeter/);
  const r = await cli(["draft", "save", "acme-corp:greeter", "--code", "app", "--dockerfile-path", "Dockerfile"]);
  expect(r.exitCode, r.stderr).toBe(0);
  const id = /^build (\S+)/.exec(await started)![1]!;
  if (!lines.some((l) => l.startsWith(`build ${id} succeeded`) || l.startsWith(`build ${id} failed`))) await logLine(new RegExp(`^build ${id} (succeeded|failed)`));
}

describe("disk collection after a superseding save", () => {
  beforeAll(async () => {
    work = tempDir("collect-on-save");
    dataDir = join(work, "data");
    cpSync(join(repo, "examples", "greeter"), join(work, "app"), { recursive: true });
    plane = await startControlPlane({
      listen: "127.0.0.1:0",
      gatewayListen: "127.0.0.1:0",
      dataDir,
      driver: "host",
      tokens: { [ACME_TOKEN]: "acme-corp" },
      collectIntervalMs: 0,
      clock,
      log: (line) => {
        lines.push(line);
        for (const w of waiters.splice(0)) (w.re.test(line) ? w.resolve : () => waiters.push(w))(line);
      },
    });
    expect((await cli(["app", "create", "acme-corp:greeter"])).exitCode).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await plane?.stop();
    removeDir(work);
  });

  it("runs once, SUPERSEDE_DELAY_MS after the first superseding save, and removes the superseded builds past the recent ones", async () => {
    const saves = KEEP_BUILDS_PER_APP + 3;
    for (let i = 1; i <= saves; i++) await save(i);
    expect(builds()).toHaveLength(saves);
    // before the delay, nothing runs
    clock.advance(SUPERSEDE_DELAY_MS - 1);
    expect(lines.filter((l) => l.startsWith("disk collection"))).toEqual([]);
    const collected = logLine(/^disk collection: removed/);
    clock.advance(1);
    expect(await collected).toMatch(/removed 3 build\(s\)/);
    expect(builds()).toHaveLength(KEEP_BUILDS_PER_APP);
    // the draft's build is among those kept: it still publishes
    const publish = await cli(["draft", "publish", "acme-corp:greeter"]);
    expect(publish.exitCode, publish.stderr).toBe(0);
    // one collection for all those saves: no second one is pending
    clock.advance(SUPERSEDE_DELAY_MS * 10);
    expect(lines.filter((l) => l.startsWith("disk collection"))).toHaveLength(1);
  }, 240_000);

  it("collects the log and image directories of a build whose record was quarantined, and keeps the quarantined file", async () => {
    const draft = JSON.parse((await cli(["draft", "info", "acme-corp:greeter", "-o", "json"])).stdout).deploy_id as string;
    const named = new Set([draft, ...JSON.parse((await cli(["version", "list", "acme-corp:greeter", "-o", "json"])).stdout).map((v: { deploy_id: string }) => v.deploy_id)]);
    const victim = builds().find((id) => !named.has(id))!;
    expect(victim).toBeDefined();
    writeFileSync(join(dataDir, "builds", victim, "build.json"), '{"id": "trunc');
    // past the grace a starting build has to write its record, then a superseding save
    clock.advance(BLOB_GRACE_MS);
    await save(100);
    const collected = logLine(new RegExp(`^disk collection: build ${victim} had no usable record`));
    clock.advance(SUPERSEDE_DELAY_MS);
    await collected;
    expect(existsSync(join(dataDir, "builds", victim))).toBe(false);
    expect(existsSync(join(dataDir, "images", victim))).toBe(false);
    expect(readdirSync(join(dataDir, "quarantine")).some((n) => n.includes(victim) && !n.endsWith(".why.json"))).toBe(true);
    expect(builds()).toContain(draft);
  }, 240_000);
});
