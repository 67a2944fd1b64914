import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { containersOf, ensureBusybox, imageCache, inCI, podmanMissing } from "../local/container-helpers.js";
import { runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dirs.js";

/**
 * Stopping a control plane on the podman driver: SIGTERM with several apps running exits and
 * leaves no container and no overlay mount; after a SIGKILL of the plane's whole process group (a
 * supervisor giving up) its containers and a build's mounts stay, and the next start on the data
 * dir reaps them. Deadlines here only detect a hang; bench/stop.mjs measures the time.
 */
const repo = join(import.meta.dirname, "..", "..");
const dodil = join(repo, "bin", "dodil.js");
const TOKEN = "shutdown-token-0123456789";
const skip = !!podmanMissing && !inCI;

let work: string;
const planes: ChildProcess[] = [];

interface Plane {
  child: ChildProcess;
  exited: Promise<number | null>;
  env: Record<string, string>;
}

async function startPlane(dataDir: string): Promise<Plane> {
  // its own process group, as under a supervisor: a group SIGKILL reaches podman and buildah too
  const child = spawn(process.execPath, [dodil, "ignite", "dev", "--listen", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--auth-listen", "127.0.0.1:0", "--data-dir", dataDir, "--driver", "podman", "--token", `acme-corp=${TOKEN}`, "-o", "json"], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, IGNITE_IMAGE_CACHE: imageCache },
  });
  planes.push(child);
  child.stderr!.resume();
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    void exited.then((code) => reject(new Error(`dev exited with ${code}`)));
  });
  const endpoint = JSON.parse(line).grpc_endpoint as string;
  return { child, exited, env: { IGNITE_API_ENDPOINT: endpoint, IGNITE_TOKEN: TOKEN, IGNITE_DEBUG: "1", IGNITE_TIMEOUT: "300s" } };
}

const mountsUnder = (dir: string) =>
  readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(`${dir}/`));

function buildContainers(dataDir: string): string[] {
  const env = { ...process.env, CONTAINERS_CONF: `${dataDir}/containers/containers.conf`, CONTAINERS_STORAGE_CONF: `${dataDir}/containers/storage.conf` };
  return execFileSync("buildah", ["containers", "-q"], { env, encoding: "utf8" }).split("\n").filter(Boolean);
}

async function publishApps(plane: Plane, names: string[]): Promise<void> {
  for (const name of names) {
    for (const args of [["app", "create", `acme-corp:${name}`], ["draft", "save", `acme-corp:${name}`, "--code", join(work, "app"), "--dockerfile-path", "Dockerfile"], ["draft", "publish", `acme-corp:${name}`]]) {
      const r = await runCli(["ignite", ...args], { env: plane.env, cwd: work });
      expect(r.exitCode, `${args.join(" ")}: ${r.stderr}`).toBe(0);
    }
  }
}

/** Polls until `ready()` (a mount appearing has no event to wait for); fails the test after `ms`. */
async function until(ready: () => boolean, what: string, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  if (skip) return;
  await ensureBusybox();
  work = tempDir("shutdown");
  mkdirSync(join(work, "app"));
  writeFileSync(join(work, "app", "Dockerfile"), 'FROM busybox\nWORKDIR /www\nCOPY index.html healthz /www/\nUSER 65534\nCMD ["sh", "-c", "exec httpd -f -p 127.0.0.1:$PORT -h /www"]\n');
  writeFileSync(join(work, "app", "index.html"), "ok\n");
  // readiness needs a 2xx from the health path (/healthz), as on the platform
  writeFileSync(join(work, "app", "healthz"), "ok\n");
  mkdirSync(join(work, "slow"));
  writeFileSync(join(work, "slow", "Dockerfile"), 'FROM busybox\nRUN sleep 300\nCMD ["true"]\n');
}, 120_000);

afterEach(async () => {
  for (const p of planes.splice(0)) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    const exited = new Promise((resolve) => p.once("exit", resolve));
    p.kill("SIGTERM");
    await exited;
  }
});

describe.skipIf(skip)(`stopping a podman control plane${podmanMissing ? ` (skipped: ${podmanMissing})` : ""}`, () => {
  it("SIGTERM with 3 apps running exits 0 and leaves no container and no mount", async () => {
    const dataDir = join(work, "term");
    const plane = await startPlane(dataDir);
    await publishApps(plane, ["one", "two", "three"]);
    expect(containersOf(dataDir)).toHaveLength(3);
    plane.child.kill("SIGTERM");
    expect(await plane.exited).toBe(0);
    expect(containersOf(dataDir)).toEqual([]);
    expect(mountsUnder(dataDir)).toEqual([]);
  }, 300_000);

  it("after a SIGKILL of the plane's process group, the next start reaps its containers, a build's container and their mounts", async () => {
    const dataDir = join(work, "kill");
    const plane = await startPlane(dataDir);
    await publishApps(plane, ["app"]);
    // a build killed in its RUN step keeps a working container with its root filesystem mounted
    const create = await runCli(["ignite", "app", "create", "acme-corp:slow"], { env: plane.env, cwd: work });
    expect(create.exitCode).toBe(0);
    const saving = runCli(["ignite", "draft", "save", "acme-corp:slow", "--code", join(work, "slow"), "--dockerfile-path", "Dockerfile"], { env: plane.env, cwd: work });
    const storage = join(dataDir, "containers");
    await until(() => buildContainers(dataDir).length > 0 && mountsUnder(storage).length >= 2, "the build's mount");
    process.kill(-plane.child.pid!, "SIGKILL");
    await plane.exited;
    await saving;
    expect(containersOf(dataDir).length).toBeGreaterThan(0);
    expect(buildContainers(dataDir).length).toBeGreaterThan(0);
    expect(mountsUnder(storage).length).toBeGreaterThan(0);

    const again = await startPlane(dataDir);
    expect(containersOf(dataDir)).toEqual([]);
    expect(buildContainers(dataDir)).toEqual([]);
    expect(mountsUnder(storage)).toEqual([]);
    // and the app still serves (a cold start after the restart)
    const invoked = await runCli(["ignite", "invoke", "acme-corp:app", "-X", "GET", "--path", "/index.html"], { env: again.env, cwd: work });
    expect(invoked.exitCode, invoked.stderr).toBe(0);
  }, 300_000);
});
