/**
 * The window of a credentialed FROM: a build of org A pulls its base image with A's build registry
 * credentials, and the image carries the registry's name for as long as that build runs (buildah
 * needs it). Meanwhile org B — with no credentials — names the same image in a FROM and as an
 * --image-ref: both must be answered as if it were absent (B pulls, and the registry asks B for
 * credentials), never served from A's private pull. A's build is held inside a RUN step (a request
 * to a loopback server the test answers last), so the window is open while B tries.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildService, SaveBuildSecretsRequestSchema } from "../../src/gen/dodil/ignite/v1/build_pb.js";
import { BuildStatus } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import { ComputeService, SaveDraftRequestSchema } from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { BASE_IMAGES } from "../../src/local/drivers/base-images.js";
import { OTHER_TOKEN, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { copyToRegistry, imageCacheSource, registryToolsInstalled, startTestRegistry, type TestRegistry } from "../helpers/registry.js";
import { grpcCode } from "../helpers/rpc-client.js";
import { busyboxAppFiles, createApp, ensureBusybox, followBuild, imageCache, inCI, podmanMissing, publish, saveContext } from "./container-helpers.js";
import { makeTarGz } from "./helpers.js";

const PASSWORD = "window-pw-9Lq3-never-printed";
const toolsMissing = podmanMissing || ((await registryToolsInstalled()) ? "" : "docker-registry or skopeo is not installed");
const skip = !!toolsMissing && !inCI;
if (skip) console.warn(`[private pull window tests skipped] ${toolsMissing}`);

describe.skipIf(skip)("a credentialed FROM's pull is not another org's while the build runs (podman)", () => {
  let priv: TestRegistry;
  let t: TestControlPlane;
  let gate: http.Server;
  let arrived!: Promise<void>;
  let release!: () => void;

  beforeAll(async () => {
    await ensureBusybox();
    priv = await startTestRegistry({ label: "window-private", users: { puller: PASSWORD } });
    const busybox = await imageCacheSource(BASE_IMAGES.busybox.refs[0]!);
    await copyToRegistry(busybox.src, `${priv.host}/base/busybox:1`, { env: busybox.env, creds: `puller:${PASSWORD}` });
    // answers the held build's request only once release() is called
    let arrive!: () => void;
    arrived = new Promise<void>((r) => (arrive = r));
    const held = new Promise<void>((r) => (release = r));
    gate = http.createServer((req, res) => {
      arrive();
      void held.then(() => res.end("go\n"));
    });
    await new Promise<void>((r) => gate.listen(0, "127.0.0.1", r));
    t = await startTestControlPlane({ label: "private-window", driver: "podman", imageCacheDir: imageCache, offline: false });
  }, 180_000);
  afterAll(async () => {
    release?.();
    await t?.stop();
    await new Promise<void>((r) => gate?.close(() => r()));
    await priv?.stop();
  }, 90_000);

  it("another org's FROM and --image-ref of the same image must pull (and are asked for credentials) while A's build holds it", async () => {
    const from = `${priv.host}/base/busybox:1`;
    await t.build.saveBuildSecrets(create(SaveBuildSecretsRequestSchema, { registryCredentials: { [priv.host]: Buffer.from(`puller:${PASSWORD}`).toString("base64") } }));
    await createApp(t.compute, "holder", { healthPath: "/cgi-bin/app" });
    const port = (gate.address() as AddressInfo).port;
    const saved = await saveContext(t.compute, t.build, "holder", await makeTarGz(busyboxAppFiles({ from, extra: `RUN wget -q -O - http://127.0.0.1:${port}/` })));
    const holder = followBuild(t.compute, saved.draft!.deployId);
    // A's build is in its RUN step: the pulled image carries the registry's name now
    await arrived;

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

    // A's own build is unaffected
    release();
    const mine = await holder;
    expect(mine.status, mine.lines.slice(-5).join("\n")).toBe(BuildStatus.SUCCEEDED);
  }, 300_000);
});
