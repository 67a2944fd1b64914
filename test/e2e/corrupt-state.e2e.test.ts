import { cpSync, existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dirs.js";

/**
 * Unusable state files (a truncated app.json, a corrupt build.json, a truncated version record, a
 * corrupt secret): the plane starts, names each file and what is wrong, moves it into the
 * quarantine (never deletes it), serves everything else, and `dev doctor` lists it.
 */
const repo = join(import.meta.dirname, "..", "..");

let work: string;
let dataDir: string;
let plane: TestControlPlane | undefined;
let logs: string[] = [];

async function start(): Promise<TestControlPlane> {
  logs = [];
  plane = await startTestControlPlane({ dataDir, log: (line) => logs.push(line) });
  return plane;
}

function cli(args: string[]) {
  return runCli(["ignite", ...args], { env: plane!.env, cwd: work });
}

const appDir = (app: string) => join(dataDir, "orgs", "acme-corp", "apps", app);

beforeAll(async () => {
  work = tempDir("corrupt");
  dataDir = join(work, "data");
  cpSync(join(repo, "examples", "greeter"), join(work, "app"), { recursive: true });
  await start();
  for (const app of ["broken", "intact"]) {
    expect((await cli(["app", "create", `acme-corp:${app}`, "--reserved", "1"])).exitCode).toBe(0);
    expect((await cli(["draft", "save", `acme-corp:${app}`, "--code", "app", "--dockerfile-path", "Dockerfile"])).exitCode).toBe(0);
    expect((await cli(["draft", "publish", `acme-corp:${app}`])).exitCode).toBe(0);
  }
  // a second version of "intact", so one version record can go bad while the other serves
  expect((await cli(["draft", "publish", "acme-corp:intact"])).exitCode).toBe(0);
  expect((await cli(["secret", "create", "git-ok", "--type", "git", "--token", "t0ken-ok"])).exitCode).toBe(0);
  expect((await cli(["secret", "create", "git-bad", "--type", "git", "--token", "t0ken-bad"])).exitCode).toBe(0);
  await plane!.stop();
  plane = undefined;

  const appJson = join(appDir("broken"), "app.json");
  truncateSync(appJson, Math.floor(readFileSync(appJson).length / 2));
  const buildId = readdirSync(join(dataDir, "builds"))[0]!;
  writeFileSync(join(dataDir, "builds", buildId, "build.json"), '{"id": 42, "status": "done"}');
  const v1 = join(appDir("intact"), "versions", "1.json");
  truncateSync(v1, 40);
  // garbage around the value: JSON.parse's message would quote it
  writeFileSync(join(dataDir, "orgs", "acme-corp", "secrets", "git-bad.json"), 'x{"token": "t0ken-bad"');
  await start();
}, 180_000);

afterAll(async () => {
  await plane?.stop();
});

describe("unusable state files", () => {
  it("are each reported with the path and what is wrong, before the plane is ready", () => {
    const quarantined = logs.filter((l) => l.startsWith("state file "));
    expect(quarantined.some((l) => l.includes(join(appDir("broken"), "app.json")) && /not valid JSON/.test(l))).toBe(true);
    expect(quarantined.some((l) => /builds\/bld_\w+\/build\.json is unusable \(field '\w+' (is missing|must be string)\)/.test(l))).toBe(true);
    expect(quarantined.some((l) => l.includes(join(appDir("intact"), "versions", "1.json")))).toBe(true);
    expect(quarantined.some((l) => l.includes("secrets/git-bad.json") && /not valid JSON/.test(l))).toBe(true);
    expect(quarantined).toHaveLength(4);
    // nothing of a secret's value reaches the log
    expect(logs.join("\n")).not.toContain("t0ken");
  });

  it("are moved into the quarantine, not deleted", () => {
    const kept = readdirSync(join(dataDir, "quarantine"));
    expect(kept.filter((n) => !n.endsWith(".why.json"))).toHaveLength(4);
    const secret = kept.find((n) => n.endsWith("git-bad.json"))!;
    expect(readFileSync(join(dataDir, "quarantine", secret), "utf8")).toBe('x{"token": "t0ken-bad"');
    expect(existsSync(join(appDir("broken"), "app.json"))).toBe(false);
  });

  it("leave the rest of the plane serving: other apps, versions and secrets", async () => {
    const apps = await cli(["app", "list", "-o", "json"]);
    expect(apps.exitCode, apps.stderr).toBe(0);
    expect(JSON.parse(apps.stdout).map((a: { name: string }) => a.name)).toEqual(["intact"]);
    const versions = await cli(["version", "list", "acme-corp:intact", "-o", "json"]);
    expect(versions.exitCode, versions.stderr).toBe(0);
    expect(JSON.parse(versions.stdout).map((v: { version: number }) => v.version)).toEqual([2]);
    const invoked = await cli(["invoke", "acme-corp:intact", "-p", '{"name": "q"}']);
    expect(invoked.exitCode, invoked.stderr).toBe(0);
    const secrets = await cli(["secret", "list", "-o", "json"]);
    expect(secrets.exitCode, secrets.stderr).toBe(0);
    expect(JSON.parse(secrets.stdout).map((s: { name: string }) => s.name)).toEqual(["git-ok"]);
  });

  it("are listed by dev doctor with the reason", async () => {
    const doctor = await runCli(["ignite", "dev", "doctor", "--data-dir", dataDir, "-o", "json"]);
    expect(doctor.exitCode, doctor.stderr).toBe(0);
    const report = JSON.parse(doctor.stdout);
    const paths = report.dataDir.quarantined.map((q: { path: string }) => q.path);
    expect(paths.sort()).toEqual(
      [join("orgs", "acme-corp", "apps", "broken", "app.json"), join("orgs", "acme-corp", "apps", "intact", "versions", "1.json"), join("orgs", "acme-corp", "secrets", "git-bad.json"), expect.stringMatching(/^builds\/bld_\w+\/build\.json$/)].sort(),
    );
    const human = await runCli(["ignite", "dev", "doctor", "--data-dir", dataDir]);
    expect(human.stdout).toMatch(/quarantined\s+orgs\/acme-corp\/apps\/broken\/app\.json\s+not valid JSON/);
    // doctor also probes every driver and toolchain, which on a loaded machine takes its time
  }, 180_000);
});
