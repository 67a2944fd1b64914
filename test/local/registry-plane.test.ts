/**
 * The plane's image registry end to end on podman: a built version's image_ref is a pullable
 * `<registry>/<org>/<app>@sha256:…` that skopeo can inspect with the owner's token and not with
 * another organization's (nor push into the owner's namespace); a restart keeps the registry's port,
 * and an image removed from local storage is pulled back from the registry at the next cold start;
 * when the port was taken meanwhile, refs naming it are resolved to the new one (shown and pulled).
 * The registry token endpoint's hostile-input cases are in registry-token.test.ts.
 */
import { execFileSync } from "node:child_process";
import * as net from "node:net";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { BuildService } from "../../src/gen/dodil/ignite/v1/build_pb.js";
import { BuildStatus } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import { ComputeService, CreateAppRequestSchema, GetAppVersionRequestSchema, GetDraftInfoRequestSchema, ListAppVersionsRequestSchema, SaveDraftRequestSchema } from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { grpcCode } from "../helpers/rpc-client.js";
import { ACME_TOKEN, OTHER_TOKEN, startTestControlPlane } from "../helpers/control-plane.js";
import { copyToRegistry, ociLayoutImage, registryToolsInstalled, skopeoInspect } from "../helpers/registry.js";
import { tempDir } from "../helpers/temp-dirs.js";
import { busyboxAppFiles, createApp, ensureBusybox, expectBuildSucceeds, followBuild, imageCache, inCI, invoke, podmanMissing, publish, saveContext } from "./container-helpers.js";
import { makeTarGz } from "./helpers.js";

const tools = await registryToolsInstalled();
const skip = (!!podmanMissing || !tools) && !inCI;
if (skip) console.warn(`[registry plane tests skipped] ${podmanMissing || "docker-registry or skopeo is not installed"}`);

describe.skipIf(skip)("the plane's image registry (podman)", () => {
  const dataDir = tempDir("registry-plane");
  let fixture: Awaited<ReturnType<typeof startTestControlPlane>> | undefined;
  let imageRef = "";
  let registryHost = "";

  beforeAll(async () => {
    await ensureBusybox();
    fixture = await startTestControlPlane({ dataDir, driver: "podman", imageCacheDir: imageCache });
  }, 120_000);
  afterAll(async () => {
    await fixture?.stop();
  }, 60_000);

  it("pushes a build to <registry>/<org>/<app>; the version's image_ref is its digest reference", async () => {
    const { compute: c, build: b, plane } = fixture!;
    expect(plane.registryHost).toMatch(/^127\.0\.0\.1:\d+$/);
    registryHost = plane.registryHost!;
    await createApp(c, "reg-app", { healthPath: "/cgi-bin/app" });
    const saved = await saveContext(c, b, "reg-app", await makeTarGz(busyboxAppFiles()));
    const build = await expectBuildSucceeds(c, saved.draft!.deployId);
    expect(build.lines.some((l) => l.startsWith(`Pushed ${registryHost}/acme-corp/reg-app@sha256:`))).toBe(true);
    await publish(c, "reg-app");
    const versions = await c.listAppVersions(create(ListAppVersionsRequestSchema, { appName: "reg-app" }));
    imageRef = versions.versions[0]!.imageRef;
    expect(imageRef).toMatch(new RegExp(`^${registryHost.replace(/\./g, "\\.")}/acme-corp/reg-app@sha256:[0-9a-f]{64}$`));
    const got = await c.getAppVersion(create(GetAppVersionRequestSchema, { appName: "reg-app", version: 1 }));
    expect(got.app?.imageRef).toBe(imageRef);
    // the built draft (written once its build ended; publish waited for that) names the same
    // pullable reference, not the local one
    const draft = (await c.getDraftInfo(create(GetDraftInfoRequestSchema, { appName: "reg-app" }))).draft!;
    expect(draft.imageRef).toBe(imageRef);
    expect(build.imageRef).toBe(imageRef);
    expect((await invoke(c, "reg-app", {}, "/cgi-bin/app")).json["uid"]).toBe("65534");
  }, 240_000);

  it("lets the owner's token pull it through the registry, and not another organization's", async () => {
    const owner = await skopeoInspect(imageRef, { creds: `acme-corp:${ACME_TOKEN}` });
    expect(owner.code, owner.stderr).toBe(0);
    expect(JSON.parse(owner.stdout).Digest).toBe(imageRef.split("@")[1]);
    // another organization's token, as itself or naming the owner
    for (const creds of [`other-org:${OTHER_TOKEN}`, `acme-corp:${OTHER_TOKEN}`, "acme-corp:not-a-token"]) {
      const r = await skopeoInspect(imageRef, { creds });
      expect(r.code, creds.split(":")[0]).not.toBe(0);
      expect(r.stderr).toMatch(/unauthorized|denied|authentication required/i);
      expect(r.stderr + r.stdout).not.toContain(OTHER_TOKEN);
    }
    expect((await skopeoInspect(imageRef)).code).not.toBe(0);
    // nor push into the owner's namespace; its own namespace is fine
    const src = await ociLayoutImage(tempDir("oci"), { files: { "evil.txt": "x\n" } });
    await expect(copyToRegistry(src, `${registryHost}/acme-corp/reg-app:evil`, { creds: `other-org:${OTHER_TOKEN}` })).rejects.toThrow(/unauthorized|denied|authentication required/i);
    const own = await copyToRegistry(src, `${registryHost}/other-org/mine:1`, { creds: `other-org:${OTHER_TOKEN}` });
    expect((await skopeoInspect(`${registryHost}/other-org/mine@${own}`, { creds: `acme-corp:${ACME_TOKEN}` })).code).not.toBe(0);
  }, 120_000);

  it("treats the registry's <org>/ repositories as org namespaces: another org may not name them as --image-ref or FROM", async () => {
    const { client } = fixture!;
    const other = client(ComputeService, OTHER_TOKEN);
    await other.createApp(create(CreateAppRequestSchema, { name: "thief" }));
    const err = await other
      .saveDraft(create(SaveDraftRequestSchema, { appName: "thief", code: { source: { case: "image", value: { source: { case: "prebuilt", value: { imageRef } } } } } }))
      .then(() => undefined, (e: unknown) => e);
    expect(grpcCode(err)).toBe(grpc.status.PERMISSION_DENIED);
    expect(String(err)).toMatch(/not in organization other-org's local namespace/);
    // FROM the owner's image in a build of another org
    const otherBuild = client(BuildService, OTHER_TOKEN);
    const saved = await saveContext(other, otherBuild, "thief", await makeTarGz(busyboxAppFiles({ from: imageRef })));
    const build = await followBuild(other, saved.draft!.deployId);
    expect(build.status).toBe(BuildStatus.FAILED);
    expect(build.error).toMatch(/not in organization other-org's local namespace/);
  }, 120_000);

  it("keeps its port across a restart and pulls an image removed locally back at the next cold start", async () => {
    await fixture!.stop();
    // the local image goes (as with `dev images rm` or a storage reset)
    const env = { ...process.env, CONTAINERS_CONF: `${dataDir}/containers/containers.conf`, CONTAINERS_STORAGE_CONF: `${dataDir}/containers/storage.conf` };
    const names = execFileSync("podman", ["images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=local.ignite/acme-corp/reg-app"], { env, encoding: "utf8" }).split("\n").filter(Boolean);
    expect(names.length).toBeGreaterThan(0);
    execFileSync("podman", ["rmi", "-f", ...names], { env, stdio: "ignore" });
    fixture = await startTestControlPlane({ dataDir, driver: "podman", imageCacheDir: imageCache });
    expect(fixture.plane.registryHost).toBe(registryHost);
    const r = await invoke(fixture.compute, "reg-app", {}, "/cgi-bin/app");
    expect(r.json["uid"]).toBe("65534");
    const after = execFileSync("podman", ["images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=local.ignite/acme-corp/reg-app"], { env, encoding: "utf8" });
    expect(after).toContain("local.ignite/acme-corp/reg-app");
    // only the plane's local name: the registry's name is not kept locally
    expect(execFileSync("podman", ["images", "--format", "{{.Repository}}"], { env, encoding: "utf8" })).not.toContain(registryHost);
  }, 240_000);

  it("resolves refs naming its former port when that port was taken at a restart: shown and cold-started by the current one", async () => {
    await fixture!.stop();
    const env = { ...process.env, CONTAINERS_CONF: `${dataDir}/containers/containers.conf`, CONTAINERS_STORAGE_CONF: `${dataDir}/containers/storage.conf` };
    const names = execFileSync("podman", ["images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=local.ignite/acme-corp/reg-app"], { env, encoding: "utf8" }).split("\n").filter(Boolean);
    execFileSync("podman", ["rmi", "-f", ...names], { env, stdio: "ignore" });
    // something else holds the registry's port meanwhile
    const blocker = net.createServer();
    const [host, port] = [registryHost.split(":")[0]!, Number(registryHost.split(":")[1])];
    await new Promise<void>((resolve, reject) => blocker.once("error", reject).listen(port, host, resolve));
    try {
      fixture = await startTestControlPlane({ dataDir, driver: "podman", imageCacheDir: imageCache });
      const now = fixture.plane.registryHost!;
      expect(now).not.toBe(registryHost);
      const resolved = `${now}/acme-corp/reg-app@${imageRef.split("@")[1]}`;
      const c = fixture.compute;
      expect((await c.getAppVersion(create(GetAppVersionRequestSchema, { appName: "reg-app", version: 1 }))).app?.imageRef).toBe(resolved);
      expect((await c.listAppVersions(create(ListAppVersionsRequestSchema, { appName: "reg-app" }))).versions[0]!.imageRef).toBe(resolved);
      const draft = (await c.getDraftInfo(create(GetDraftInfoRequestSchema, { appName: "reg-app" }))).draft!;
      expect(draft.imageRef).toBe(resolved);
      // the stored build's compile-logs outcome, from before the restart, says the same
      expect((await expectBuildSucceeds(c, draft.deployId)).imageRef).toBe(resolved);
      expect((await skopeoInspect(resolved, { creds: `acme-corp:${ACME_TOKEN}` })).code).toBe(0);
      // the cold start of the version stored under the old port pulls from the current one
      expect((await invoke(c, "reg-app", {}, "/cgi-bin/app")).json["uid"]).toBe("65534");
      expect(execFileSync("podman", ["images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=local.ignite/acme-corp/reg-app"], { env, encoding: "utf8" })).toContain("local.ignite/acme-corp/reg-app");
      // the former port's <org>/ names stay org namespaces
      const other = fixture.client(ComputeService, OTHER_TOKEN);
      const err = await other
        .saveDraft(create(SaveDraftRequestSchema, { appName: "thief", code: { source: { case: "image", value: { source: { case: "prebuilt", value: { imageRef } } } } } }))
        .then(() => undefined, (e: unknown) => e);
      expect(grpcCode(err)).toBe(grpc.status.PERMISSION_DENIED);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  }, 240_000);
});
