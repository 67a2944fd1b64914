/**
 * The window of a credentialed FROM: a build of org A pulls its base image with A's build registry
 * credentials, and the image carries the registry's name for as long as that build runs (buildah
 * needs it). Meanwhile org B — with no credentials — names the same image in a FROM and as an
 * --image-ref: both must be answered as if it were absent (B pulls, and the registry asks B for
 * credentials), never served from A's private pull. A's build is held inside a long RUN step
 * (build steps reach no network: it is cancelled once B has tried), so the window is open while B
 * tries; after it, the image is named only in A's namespace and B is still asked for credentials.
 */
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildService, CancelBuildRequestSchema, SaveBuildSecretsRequestSchema } from "../../src/gen/dodil/ignite/v1/build_pb.js";
import { BuildStatus } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import { ComputeService, SaveDraftRequestSchema } from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { BASE_IMAGES } from "../../src/local/drivers/base-images.js";
import { OTHER_TOKEN, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { copyToRegistry, imageCacheSource, registryToolsInstalled, startTestRegistry, type TestRegistry } from "../helpers/registry.js";
import { grpcCode } from "../helpers/rpc-client.js";
import { busyboxAppFiles, createApp, ensureBusybox, followBuild, imageCache, inCI, podmanMissing, publish, saveContext, untilBuildLine } from "./container-helpers.js";
import { makeTarGz } from "./helpers.js";

const PASSWORD = "window-pw-9Lq3-never-printed";
const toolsMissing = podmanMissing || ((await registryToolsInstalled()) ? "" : "docker-registry or skopeo is not installed");
const skip = !!toolsMissing && !inCI;
if (skip) console.warn(`[private pull window tests skipped] ${toolsMissing}`);

describe.skipIf(skip)("a credentialed FROM's pull is not another org's while the build runs (podman)", () => {
  let priv: TestRegistry;
  let t: TestControlPlane;

  beforeAll(async () => {
    await ensureBusybox();
    priv = await startTestRegistry({ label: "window-private", users: { puller: PASSWORD } });
    const busybox = await imageCacheSource(BASE_IMAGES.busybox.refs[0]!);
    await copyToRegistry(busybox.src, `${priv.host}/base/busybox:1`, { env: busybox.env, creds: `puller:${PASSWORD}` });
    t = await startTestControlPlane({ label: "private-window", driver: "podman", imageCacheDir: imageCache, offline: false });
  }, 180_000);
  afterAll(async () => {
    await t?.stop();
    await priv?.stop();
  }, 90_000);

  it("another org's FROM and --image-ref of the same image must pull (and are asked for credentials) while A's build holds it", async () => {
    const from = `${priv.host}/base/busybox:1`;
    await t.build.saveBuildSecrets(create(SaveBuildSecretsRequestSchema, { registryCredentials: { [priv.host]: Buffer.from(`puller:${PASSWORD}`).toString("base64") } }));
    await createApp(t.compute, "holder", { healthPath: "/cgi-bin/app" });
    const saved = await saveContext(t.compute, t.build, "holder", await makeTarGz(busyboxAppFiles({ from, extra: 'RUN echo "holding step started" && sleep 600' })));
    const holder = saved.draft!.deployId;
    // A's build is in its RUN step: the pulled image carries the registry's name now
    await untilBuildLine(t.compute, holder, /^holding step started$/);

    const other = t.client(ComputeService, OTHER_TOKEN);
    await createApp(other, "taker");
    const theirs = await followBuild(other, (await saveContext(other, t.client(BuildService, OTHER_TOKEN), "taker", await makeTarGz(busyboxAppFiles({ from })))).draft!.deployId);
    expect(theirs.status).toBe(BuildStatus.FAILED);
    expect(theirs.lines.join("\n")).toContain(`Pulling base image ${from} from ${priv.host}`);
    expect(theirs.lines.join("\n")).toContain(`registry ${priv.host} requires credentials for ${from}`);

    await createApp(other, "taker-ref");
    await other.saveDraft(create(SaveDraftRequestSchema, { appName: "taker-ref", code: { source: { case: "image", value: { source: { case: "prebuilt", value: { imageRef: from } } } } } }));
    const denied = await publish(other, "taker-ref").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(grpcCode(denied)).toBe(grpc.status.PERMISSION_DENIED);
    expect(String((denied as Error).message)).toContain(`registry ${priv.host} requires credentials for ${from}`);

    // once A's build has ended, what A's credentials pulled is named only in A's namespace
    await t.build.cancelBuild(create(CancelBuildRequestSchema, { buildId: holder }));
    expect((await followBuild(t.compute, holder)).status).toBe(BuildStatus.CANCELLED);
    const after = await followBuild(other, (await saveContext(other, t.client(BuildService, OTHER_TOKEN), "taker", await makeTarGz(busyboxAppFiles({ from, extra: "ENV AFTER=1" })))).draft!.deployId);
    expect(after.status).toBe(BuildStatus.FAILED);
    expect(after.lines.join("\n")).toContain(`registry ${priv.host} requires credentials for ${from}`);
  }, 300_000);
});
