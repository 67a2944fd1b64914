/**
 * `dodil ignite dev --offline` as a user runs it (a real process, the podman driver): an image in a
 * registry that answers (a loopback docker-registry holding busybox) is never pulled. A `FROM` of it
 * fails the build (`app deploy`: exit 1, a failed build) and an `--image-ref` of it fails the publish
 * (exit 1, FAILED_PRECONDITION), both with the one line "image X is not available offline: the
 * local control plane runs with --offline … Local (base) images: …" naming what is local, no stack
 * trace; nothing was pulled into the data dir's storage.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_IMAGES } from "../../src/local/drivers/base-images.js";
import { copyToRegistry, imageCacheSource, registryToolsInstalled, startTestRegistry, type TestRegistry } from "../helpers/registry.js";
import { tempDir } from "../helpers/temp-dirs.js";
import { ensureBusybox, imageCache, inCI, podmanMissing } from "../local/container-helpers.js";

const repo = join(import.meta.dirname, "..", "..");
const dodil = join(repo, "bin", "dodil.js");
const execFileP = promisify(execFile);
const tools = await registryToolsInstalled();
const skip = (!!podmanMissing || !tools) && !inCI;
if (skip) console.warn(`[dev --offline e2e skipped] ${podmanMissing || "docker-registry or skopeo is not installed"}`);

const TOKEN = "offline-e2e-token-1234567890";

describe.skipIf(skip)("e2e: dodil ignite dev --offline (podman)", () => {
  let registry: TestRegistry | undefined;
  let plane: ChildProcess | undefined;
  let env: NodeJS.ProcessEnv = {};
  let remote = "";
  const home = tempDir("dev-offline");
  const dataDir = join(home, "data");

  async function cli(args: string[], cwd = home): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await execFileP(process.execPath, [dodil, "ignite", ...args], { env, cwd, timeout: 240_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  beforeAll(async () => {
    await ensureBusybox();
    registry = await startTestRegistry({ label: "offline-registry" });
    const busybox = await imageCacheSource(BASE_IMAGES.busybox.refs[0]!);
    remote = `${registry.host}/base/busybox:1`;
    await copyToRegistry(busybox.src, remote, { env: busybox.env });
    plane = spawn(
      process.execPath,
      [dodil, "ignite", "dev", "--offline", "--driver", "podman", "--listen", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--auth-listen", "127.0.0.1:0", "--data-dir", dataDir, "--token", `acme-corp=${TOKEN}`, "-o", "json"],
      { env: { PATH: process.env["PATH"], HOME: home, IGNITE_IMAGE_CACHE: imageCache }, stdio: ["ignore", "pipe", "pipe"] },
    );
    const ready = await new Promise<{ grpc_endpoint: string }>((resolve, reject) => {
      createInterface({ input: plane!.stdout! }).once("line", (l) => resolve(JSON.parse(l) as { grpc_endpoint: string }));
      plane!.once("exit", (code) => reject(new Error(`dev exited early with ${code}`)));
    });
    env = { PATH: process.env["PATH"], HOME: home, DODIL_CONFIG_DIR: join(home, "config"), IGNITE_API_ENDPOINT: ready.grpc_endpoint, IGNITE_TOKEN: TOKEN, IGNITE_DEBUG: "true" };
  }, 180_000);

  afterAll(async () => {
    if (plane && plane.exitCode === null && plane.signalCode === null) {
      const exited = new Promise((resolve) => plane!.once("exit", resolve));
      plane.kill("SIGTERM");
      await exited;
    }
    await registry?.stop();
  }, 90_000);

  const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const offlineLine = (ref: string, rest: string) => new RegExp(`image ${esc(ref)} is not available offline: the local control plane runs with --offline${rest}: .*busybox`);

  it("a FROM image its registry has is not pulled: the build fails with the offline error, exit 1", async () => {
    const app = join(home, "from-app");
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, "Dockerfile"), `FROM ${remote}\nCMD ["sh", "-c", "exec httpd -f -p 127.0.0.1:$PORT -h /"]\n`);
    expect((await cli(["app", "create", "acme-corp:from-app"])).code).toBe(0);
    const r = await cli(["app", "deploy", "acme-corp:from-app", "--code", app, "--dockerfile-path", "Dockerfile"]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(offlineLine(remote, "\\. Local base images"));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 240_000);

  it("an --image-ref its registry has is not pulled: publish fails with the offline error, exit 1", async () => {
    expect((await cli(["app", "create", "acme-corp:ref-app"])).code).toBe(0);
    const saved = await cli(["draft", "save", "acme-corp:ref-app", "--image-ref", remote]);
    expect(saved.code, saved.stderr).toBe(0);
    const r = await cli(["draft", "publish", "acme-corp:ref-app"]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(offlineLine(remote, ", and the podman driver has no local image with that reference\\. Local images"));
    expect(r.stderr.trim().split("\n").filter((l) => l.startsWith("Error"))).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // nothing was pulled into the plane's storage
    const images = await execFileP("podman", ["images", "--format", "{{.Repository}}:{{.Tag}}"], {
      env: { ...process.env, CONTAINERS_CONF: `${dataDir}/containers/containers.conf`, CONTAINERS_STORAGE_CONF: `${dataDir}/containers/storage.conf` },
    });
    expect(images.stdout).not.toContain(registry!.host);
  }, 240_000);
});
