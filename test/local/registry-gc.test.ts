/**
 * The registry's disk is reclaimed with the builds that used it: when the disk collector removes
 * the builds of a deleted app, their manifests are deleted from the plane's registry and
 * `registry garbage-collect` (run with the registry stopped, as distribution requires) removes the
 * blobs only they referred to. Blobs another app's image still refers to (the shared base layer)
 * stay, and that app's image is still pulled back from the registry afterwards.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeleteAppRequestSchema, GetDraftInfoRequestSchema } from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { ACME_TOKEN, startTestControlPlane } from "../helpers/control-plane.js";
import { registryToolsInstalled, skopeoInspect } from "../helpers/registry.js";
import { tempDir } from "../helpers/temp-dirs.js";
import { busyboxAppFiles, createApp, ensureBusybox, expectBuildSucceeds, imageCache, inCI, invoke, podmanMissing, publish, saveContext } from "./container-helpers.js";
import { makeTarGz } from "./helpers.js";

const tools = await registryToolsInstalled();
const skip = (!!podmanMissing || !tools) && !inCI;
if (skip) console.warn(`[registry gc tests skipped] ${podmanMissing || "docker-registry or skopeo is not installed"}`);

describe.skipIf(skip)("registry garbage collection (podman)", () => {
  const dataDir = tempDir("registry-gc");
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  /** The next plane log line matching `re` (from the time of the call). */
  const logLine = (re: RegExp) => new Promise<string>((resolve) => waiters.push({ re, resolve }));
  const start = () =>
    startTestControlPlane({
      dataDir,
      driver: "podman",
      imageCacheDir: imageCache,
      collectIntervalMs: 0,
      log: (line) => {
        lines.push(line);
        for (const w of waiters.splice(0)) (w.re.test(line) ? w.resolve : () => waiters.push(w))(line);
      },
    });
  let fixture: Awaited<ReturnType<typeof startTestControlPlane>> | undefined;

  beforeAll(async () => {
    await ensureBusybox();
    fixture = await start();
  }, 120_000);
  afterAll(async () => {
    await fixture?.stop();
  }, 60_000);

  const blob = (digest: string) => path.join(dataDir, "registry", "storage", "docker", "registry", "v2", "blobs", "sha256", digest.slice(7, 9), digest.slice(7), "data");
  const inspect = async (ref: string) => {
    const r = await skopeoInspect(ref, { creds: `acme-corp:${ACME_TOKEN}` });
    return { code: r.code, stderr: r.stderr, layers: r.code === 0 ? (JSON.parse(r.stdout) as { Layers: string[] }).Layers : [] };
  };

  /** Builds an app whose image has a layer of its own; resolves to the draft's registry ref. */
  async function buildApp(name: string): Promise<string> {
    const { compute: c, build: b } = fixture!;
    await createApp(c, name, { healthPath: "/cgi-bin/app" });
    const saved = await saveContext(c, b, name, await makeTarGz(busyboxAppFiles({ extra: `RUN echo ${name}-${Date.now()} > /www/mark` })));
    const build = await expectBuildSucceeds(c, saved.draft!.deployId);
    expect(build.imageRef).toMatch(/@sha256:[0-9a-f]{64}$/);
    return build.imageRef;
  }

  it("deletes a deleted app's manifests and the blobs only they used; another app's stay and still pull", async () => {
    const goneRef = await buildApp("gc-gone");
    const keptRef = await buildApp("gc-kept");
    await publish(fixture!.compute, "gc-kept");
    const gone = await inspect(goneRef);
    const kept = await inspect(keptRef);
    expect(gone.code, gone.stderr).toBe(0);
    const onlyGone = gone.layers.filter((l) => !kept.layers.includes(l));
    const shared = gone.layers.filter((l) => kept.layers.includes(l));
    expect(onlyGone.length).toBeGreaterThan(0);
    expect(shared.length).toBeGreaterThan(0);
    for (const d of [...gone.layers, ...kept.layers, goneRef.split("@")[1]!]) expect(existsSync(blob(d)), d).toBe(true);

    await fixture!.compute.deleteApp(create(DeleteAppRequestSchema, { appName: "gc-gone" }));
    // a collection runs at start-up
    await fixture!.stop();
    const collected = logLine(/^disk collection: removed/);
    fixture = await start();
    expect(await collected).toMatch(/1 registry manifest\(s\) and [1-9]\d* registry blob\(s\)/);
    expect(lines.some((l) => /^registry: garbage collection removed [1-9]\d* blob\(s\)$/.test(l))).toBe(true);

    for (const d of [...onlyGone, goneRef.split("@")[1]!]) expect(existsSync(blob(d)), `${d} of the deleted app`).toBe(false);
    for (const d of [...kept.layers, keptRef.split("@")[1]!]) expect(existsSync(blob(d)), `${d} still referenced`).toBe(true);
    const after = await inspect(goneRef);
    expect(after.code).not.toBe(0);
    expect(after.stderr).toMatch(/manifest unknown|not found/i);
    expect((await inspect(keptRef)).code).toBe(0);

    // the registry serves again after its collection: the kept app's image, removed locally, is pulled back
    const env = { ...process.env, CONTAINERS_CONF: `${dataDir}/containers/containers.conf`, CONTAINERS_STORAGE_CONF: `${dataDir}/containers/storage.conf` };
    const names = execFileSync("podman", ["images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=local.ignite/acme-corp/gc-kept"], { env, encoding: "utf8" }).split("\n").filter(Boolean);
    expect(names.length).toBeGreaterThan(0);
    execFileSync("podman", ["rmi", "-f", ...names], { env, stdio: "ignore" });
    expect((await invoke(fixture!.compute, "gc-kept", {}, "/cgi-bin/app")).json["uid"]).toBe("65534");
    expect((await fixture!.compute.getDraftInfo(create(GetDraftInfoRequestSchema, { appName: "gc-kept" }))).draft!.imageRef).toBe(keptRef);
  }, 300_000);
});
