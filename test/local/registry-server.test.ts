// The registry child process (src/local/registry/registry-server.ts) and the test helper that fills
// it: start on a free loopback port, push an OCI layout with skopeo, read it back, htpasswd refuses
// wrong credentials, stop leaves no process, a leftover from a killed run is replaced.
import { existsSync, readFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultImageCacheDir } from "../../src/local/drivers/containers.js";
import { startRegistry } from "../../src/local/registry/registry-server.js";
import { copyToRegistry, findRegistryBinary, imageCacheSource, ociLayoutImage, registryToolsInstalled, skopeoInspect, startTestRegistry, type TestRegistry } from "../helpers/registry.js";
import { isRunning } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp-dirs.js";

const installed = await registryToolsInstalled();
const started: TestRegistry[] = [];
afterAll(async () => {
  for (const r of started) await r.stop();
});

describe.skipIf(!installed)("registry server", () => {
  it("serves an image pushed with skopeo by digest, without auth", async () => {
    const reg = await startTestRegistry();
    started.push(reg);
    expect(reg.host).toMatch(/^127\.0\.0\.1:\d+$/);
    const src = await ociLayoutImage(tempDir("oci"), { files: { "a.txt": "one\n" } });
    const digest = await copyToRegistry(src, `${reg.host}/base/one:1`);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const r = await skopeoInspect(`${reg.host}/base/one@${digest}`);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).Digest).toBe(digest);
    // the storage is under the given dir
    expect(reg.storageDir.startsWith(reg.dir)).toBe(true);
  });

  it("with htpasswd users, takes the right password and refuses a wrong one or none", async () => {
    const reg = await startTestRegistry({ users: { alice: "right-password-1" } });
    started.push(reg);
    const src = await ociLayoutImage(tempDir("oci"), { files: { "b.txt": "two\n" } });
    await expect(copyToRegistry(src, `${reg.host}/private/two:1`, { creds: "alice:wrong-password" })).rejects.toThrow(/unauthorized|authentication required|401/i);
    const digest = await copyToRegistry(src, `${reg.host}/private/two:1`, { creds: "alice:right-password-1" });
    expect((await skopeoInspect(`${reg.host}/private/two@${digest}`, { creds: "alice:right-password-1" })).code).toBe(0);
    const none = await skopeoInspect(`${reg.host}/private/two@${digest}`);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/unauthorized|authentication required/i);
    const wrong = await skopeoInspect(`${reg.host}/private/two:1`, { creds: "alice:wrong-password" });
    expect(wrong.code).not.toBe(0);
    // the htpasswd file holds a bcrypt hash, never the password
    const htpasswd = readFileSync(path.join(reg.dir, "htpasswd"), "utf8");
    expect(htpasswd).toMatch(/^alice:\$2[aby]\$10\$/);
    expect(htpasswd).not.toContain("right-password-1");
  });

  it("stops its process; a leftover of a killed run in the same dir is stopped before a new one starts", async () => {
    const dir = tempDir("registry-restart");
    const first = await startRegistry({ dir });
    expect(isRunning(first.pid)).toBe(true);
    // a second start in the same dir (the plane restarted after being killed) replaces the first
    const second = await startRegistry({ dir });
    expect(isRunning(first.pid)).toBe(false);
    expect(isRunning(second.pid)).toBe(true);
    await second.stop();
    expect(isRunning(second.pid)).toBe(false);
    await first.stop(); // idempotent on a process already gone
  });

  it("serves on after hostile bytes and malformed requests on its socket", async () => {
    const reg = await startTestRegistry();
    started.push(reg);
    const [host, port] = [reg.host.split(":")[0]!, Number(reg.host.split(":")[1])];
    for (const bytes of [Buffer.from([0, 255, 13, 10, 13, 10]), Buffer.from("GET /v2/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"), Buffer.from(`PUT /v2/a/blobs/uploads/${"x".repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`)]) {
      await new Promise<void>((resolve) => {
        const s = net.connect(port, host, () => s.end(bytes));
        s.on("close", () => resolve());
        s.on("error", () => resolve());
        s.resume();
      });
    }
    const bad = await fetch(`${reg.url}/v2/UPPER/case/manifests/latest`);
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect((await fetch(`${reg.url}/v2/`)).status).toBe(200);
  });

  it("refuses a listen address that is not loopback (plain HTTP)", async () => {
    await expect(startRegistry({ dir: tempDir("registry-bad"), listen: "0.0.0.0:0" })).rejects.toThrow(/loopback only/);
  });
});

describe.skipIf(!installed || !existsSync(path.join(process.env["IGNITE_IMAGE_CACHE"] ?? defaultImageCacheDir(), "storage", "graph", "overlay-images")))("registry server and the image cache", () => {
  it("takes a stand-in base image from the shared image cache (dev setup's busybox)", async () => {
    const reg = await startTestRegistry();
    started.push(reg);
    const { src, env } = await imageCacheSource("docker.io/library/busybox:latest");
    const digest = await copyToRegistry(src, `${reg.host}/base/busybox:latest`, { env });
    const r = await skopeoInspect(`${reg.host}/base/busybox@${digest}`);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).Labels["org.dodil.ignite.stand-in"]).toMatch(/busybox/);
  });
});

describe("without the registry package", () => {
  it("dev doctor says builds stay local, and the plane would not start one", async () => {
    const { doctor } = await import("../../src/local/doctor.js");
    const report = await doctor({ env: { ...process.env, PATH: tempDir("empty-path") } });
    expect(report.registry.binary).toBe("");
    expect(report.registry.why).toMatch(/not installed: built images stay in the driver's local storage/);
    expect(report.registry.fix).toBe("apt-get install -y docker-registry");
    expect(await findRegistryBinary(tempDir("empty-path"))).toBeUndefined();
  });
});
