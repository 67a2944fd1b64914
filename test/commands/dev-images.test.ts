/**
 * `dodil ignite dev images` against a data dir's real podman store: a docker-archive and an OCI
 * archive (made with skopeo from an OCI layout made here) load, list with ref, digest, size and
 * created (-o json), tag and rm round-trip; bad input gets one line and its exit code (not an
 * archive: 2, the plane's own namespace: 2, a missing image: 5) and changes nothing.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/run-cli.js";
import { ociLayoutImage, registryToolsInstalled } from "../helpers/registry.js";
import { tempDir } from "../helpers/temp-dirs.js";
import { podmanMissing, inCI } from "../local/container-helpers.js";

const skip = (!!podmanMissing || !(await registryToolsInstalled())) && !inCI;

interface Listed {
  images: { refs: string[]; id: string; digest: string; size_bytes: number; created_at: string; store: string }[];
}

describe.skipIf(skip)("dev images", () => {
  const dataDir = tempDir("dev-images");
  const cacheDir = tempDir("dev-images-cache");
  const env = { IGNITE_IMAGE_CACHE: cacheDir };
  const cli = (...args: string[]) => runCli(["dev", "images", ...args, "--data-dir", dataDir], { env: { ...process.env, ...env }, binary: "ignite" });
  const list = async () => JSON.parse((await cli("list", "-o", "json")).stdout) as Listed;

  it("loads a docker save archive and an OCI archive, lists, tags and removes", async () => {
    const layout = tempDir("oci");
    const src = await ociLayoutImage(layout, { files: { "greeting.txt": "hi\n" }, tag: "1" });
    const dockerArchive = path.join(tempDir("archives"), "app.tar");
    execFileSync("skopeo", ["copy", "--quiet", src, `docker-archive:${dockerArchive}:example.test/team/app:1`]);
    const ociArchive = path.join(tempDir("archives"), "app.oci.tar");
    const other = await ociLayoutImage(tempDir("oci2"), { files: { "other.txt": "other\n" }, tag: "2" });
    execFileSync("skopeo", ["copy", "--quiet", other, `oci-archive:${ociArchive}:example.test/team/other:2`]);

    const loaded = await cli("load", dockerArchive, "-o", "json");
    expect(loaded.exitCode, loaded.stderr).toBe(0);
    expect(JSON.parse(loaded.stdout).loaded).toEqual(["example.test/team/app:1"]);
    expect((await cli("load", ociArchive)).exitCode).toBe(0);

    let images = (await list()).images;
    const app = images.find((i) => i.refs.includes("example.test/team/app:1"));
    expect(app).toBeDefined();
    expect(app!.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(app!.size_bytes).toBeGreaterThan(0);
    expect(Date.parse(app!.created_at)).toBe(0); // the layout's created time
    expect(app!.store).toBe("data-dir");
    expect(images.some((i) => i.refs.some((r) => r.includes("team/other")))).toBe(true);
    const human = await cli("list");
    expect(human.stdout).toMatch(/REF\s+DIGEST\s+SIZE\s+CREATED/);

    const tagged = await cli("tag", "example.test/team/app:1", "node:22-alpine");
    expect(tagged.exitCode, tagged.stderr).toBe(0);
    images = (await list()).images;
    expect(images.find((i) => i.id === app!.id)!.refs).toContain("docker.io/library/node:22-alpine");

    expect((await cli("rm", "node:22-alpine")).exitCode).toBe(0);
    images = (await list()).images;
    expect(images.find((i) => i.id === app!.id)!.refs).not.toContain("docker.io/library/node:22-alpine");
    expect((await cli("rm", "example.test/team/app:1")).exitCode).toBe(0);
    expect((await list()).images.some((i) => i.id === app!.id)).toBe(false);
  }, 120_000);

  it("refuses bad input with one line and its exit code, changing nothing", async () => {
    const before = (await list()).images.map((i) => i.id).sort();
    const junk = path.join(tempDir("junk"), "junk.tar");
    writeFileSync(junk, "this is not an image archive\n");
    const notArchive = await cli("load", junk);
    expect(notArchive.exitCode).toBe(2);
    expect(notArchive.stderr.trim().split("\n")).toHaveLength(1);
    expect(notArchive.stderr).toMatch(/not an image archive/);
    expect((await cli("load", path.join(dataDir, "missing.tar"))).exitCode).toBe(2);
    const missing = await cli("tag", "no-such/image:1", "x:1");
    expect(missing.exitCode).toBe(5);
    expect((await cli("rm", "no-such/image:1")).exitCode).toBe(5);
    // the builds' namespace is not writable from here
    const own = await cli("tag", "busybox", "local.ignite/acme-corp/greeter:v1");
    expect(own.exitCode).toBe(2);
    expect(own.stderr).toMatch(/plane's own namespace/);
    expect((await cli("tag", "bad ref\n", "x:1")).exitCode).toBe(2);
    expect((await list()).images.map((i) => i.id).sort()).toEqual(before);
  }, 60_000);
});
