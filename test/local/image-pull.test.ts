/**
 * Pulls on the podman driver, end to end against real registries (Debian's docker-registry on
 * loopback ports, filled with skopeo): a FROM image that is not local is pulled and built, with the
 * org's build registry credentials when its registry wants them; a private --image-ref with a
 * registry secret serves, a wrong password is PERMISSION_DENIED naming the registry (exit 4 in the
 * CLI) without the password anywhere, and a cold start after scale to zero pulls again with the
 * secret as it is then; another org neither uses the first org's secret by name nor its pulled
 * copy; offline, and a registry that does not answer, give "not available offline".
 * Nothing here reaches a registry that is not on loopback.
 */
import { execFileSync } from "node:child_process";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildStatus, DeploymentState } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import { GetAppStateRequestSchema, SaveDraftRequestSchema } from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { ComputeService } from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { CreateSecretRequestSchema, SecretService } from "../../src/gen/dodil/ignite/v1/secret_pb.js";
import { BuildService, SaveBuildSecretsRequestSchema } from "../../src/gen/dodil/ignite/v1/build_pb.js";
import { OTHER_TOKEN, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { copyToRegistry, imageCacheSource, registryToolsInstalled, skopeoInspect, startTestRegistry, type TestRegistry } from "../helpers/registry.js";
import { grpcCode } from "../helpers/rpc-client.js";
import { runCli } from "../helpers/run-cli.js";
import { busyboxAppFiles, containersOf, createApp, ensureBusybox, expectBuildSucceeds, followBuild, imageCache, inCI, invoke, podmanMissing, publish, pythonImagePresent, saveContext } from "./container-helpers.js";
import { cleanup, makeTarGz } from "./helpers.js";
import { BASE_IMAGES } from "../../src/local/drivers/base-images.js";

/** The error a call must fail with (a call that succeeds fails the test, typed as an Error). */
async function failure(call: Promise<unknown>): Promise<Error> {
  try {
    await call;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected the call to fail");
}

const IDLE_MS = 1_500;
const clock = new FakeClock();
const PASSWORD = "pull-pw-7Qk2-never-printed";
const WRONG = "wrong-pw-Zx81-never-printed";
const toolsMissing = podmanMissing || ((await registryToolsInstalled()) ? "" : "docker-registry or skopeo is not installed");
const skip = !!toolsMissing && !inCI;
if (skip) console.warn(`[image pull tests skipped] ${toolsMissing}`);

describe.skipIf(skip)(`podman driver: pulls from registries${toolsMissing ? ` (skipped: ${toolsMissing})` : ""}`, () => {
  let open: TestRegistry;
  let priv: TestRegistry;
  let t: TestControlPlane;
  let storageEnv: NodeJS.ProcessEnv;
  const podmanEnv = () => ({ ...process.env, CONTAINERS_CONF: `${t.dataDir}/containers/containers.conf`, CONTAINERS_STORAGE_CONF: `${t.dataDir}/containers/storage.conf` });
  const prebuilt = (c: typeof t.compute, app: string, imageRef: string, registrySecretRef = "") =>
    c.saveDraft(create(SaveDraftRequestSchema, { appName: app, code: { source: { case: "image", value: { source: { case: "prebuilt", value: { imageRef, registrySecretRef } } } } } }));
  const registrySecret = (name: string, password: string, token?: string) =>
    t
      .client(SecretService, token)
      .createSecret(create(CreateSecretRequestSchema, { name, value: { value: { case: "registrySecret", value: { username: "puller", password, serverAddress: priv.host } } } }));
  const noPassword = (text: string) => {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(WRONG);
    expect(text).not.toContain(Buffer.from(`puller:${PASSWORD}`).toString("base64"));
  };

  beforeAll(async () => {
    await ensureBusybox();
    open = await startTestRegistry({ label: "pull-open" });
    priv = await startTestRegistry({ label: "pull-private", users: { puller: PASSWORD } });
    t = await startTestControlPlane({ label: "image-pull", driver: "podman", imageCacheDir: imageCache, offline: false, idleTimeoutMs: IDLE_MS, clock });
    storageEnv = { CONTAINERS_STORAGE_CONF: `${t.dataDir}/containers/storage.conf` };
    // the base images the tests pull: the python stand-in when `dev setup` made it, and busybox
    const python = await imageCacheSource(BASE_IMAGES.python.refs[0]!);
    const busybox = await imageCacheSource(BASE_IMAGES.busybox.refs[0]!);
    await copyToRegistry(busybox.src, `${open.host}/base/busybox:1`, { env: busybox.env });
    await copyToRegistry(busybox.src, `${priv.host}/base/busybox:1`, { env: busybox.env, creds: `puller:${PASSWORD}` });
    if (pythonImagePresent()) await copyToRegistry(python.src, `${open.host}/base/python:3.12-slim`, { env: python.env });
  }, 600_000);

  afterAll(async () => {
    await t?.stop();
    await open?.stop();
    await priv?.stop();
    if (t) cleanup(t.dataDir);
  }, 120_000);

  it("pulls a FROM image that is not local and builds from it", async () => {
    const present = (await skopeoInspect(`${open.host}/base/python:3.12-slim`)).code === 0;
    const from = present ? `${open.host}/base/python:3.12-slim` : `${open.host}/base/busybox:1`;
    if (!present) console.warn("[image pull] the python stand-in is not in the image cache (dodil ignite dev setup); FROM busybox instead");
    await createApp(t.compute, "frompull", { healthPath: "/cgi-bin/app" });
    const files = present
      ? { Dockerfile: `FROM ${from}\nRUN python3 -c "print('built on pulled python')"\nCMD ["python3", "-m", "http.server"]\n` }
      : busyboxAppFiles({ from });
    const saved = await saveContext(t.compute, t.build, "frompull", await makeTarGz(files));
    const build = await expectBuildSucceeds(t.compute, saved.draft!.deployId);
    expect(build.lines.join("\n")).toContain(`Pulling base image ${from} from ${open.host}`);
    if (present) expect(build.lines.join("\n")).toContain("built on pulled python");
  }, 600_000);

  it("pulls a FROM image behind credentials with the org's build registry credentials, and names the registry when they are wrong", async () => {
    const from = `${priv.host}/base/busybox:1`;
    await createApp(t.compute, "fromprivate", { healthPath: "/cgi-bin/app" });
    const setCreds = (password: string) =>
      t.build.saveBuildSecrets(create(SaveBuildSecretsRequestSchema, { registryCredentials: { [priv.host]: Buffer.from(`puller:${password}`).toString("base64") } }));
    await setCreds(WRONG);
    const bad = await followBuild(t.compute, (await saveContext(t.compute, t.build, "fromprivate", await makeTarGz(busyboxAppFiles({ from })))).draft!.deployId);
    expect(bad.status).toBe(BuildStatus.FAILED);
    expect(bad.lines.join("\n")).toContain(`registry ${priv.host} refused the credentials for ${from}`);
    noPassword(bad.lines.join("\n") + bad.error);
    await setCreds(PASSWORD);
    const good = await expectBuildSucceeds(t.compute, (await saveContext(t.compute, t.build, "fromprivate", await makeTarGz(busyboxAppFiles({ from, extra: "ENV AGAIN=1" })))).draft!.deployId);
    expect(good.lines.join("\n")).toContain("with the org's build registry credentials");
    noPassword(good.lines.join("\n"));
    // what acme-corp's credentials pulled is not other-org's: its build must pull, and has no credentials
    const other = t.client(ComputeService, OTHER_TOKEN);
    await createApp(other, "fromprivate");
    const theirs = await followBuild(other, (await saveContext(other, t.client(BuildService, OTHER_TOKEN), "fromprivate", await makeTarGz(busyboxAppFiles({ from })))).draft!.deployId);
    expect(theirs.status).toBe(BuildStatus.FAILED);
    expect(theirs.lines.join("\n")).toContain(`registry ${priv.host} requires credentials for ${from}`);
  }, 300_000);

  it("serves a private --image-ref with its registry secret, refuses a wrong one with exit 4, and pulls again with the secret at a cold start", async () => {
    // the private image: an app the plane built, copied to the private registry
    await createApp(t.compute, "seedimg", { healthPath: "/cgi-bin/app" });
    const saved = await saveContext(t.compute, t.build, "seedimg", await makeTarGz(busyboxAppFiles()));
    await expectBuildSucceeds(t.compute, saved.draft!.deployId);
    const built = execFileSync("podman", ["images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=local.ignite/acme-corp/seedimg"], { env: podmanEnv(), encoding: "utf8" }).split("\n")[0]!;
    const ref = `${priv.host}/private/app:1`;
    await copyToRegistry(`containers-storage:${built}`, ref, { env: storageEnv, creds: `puller:${PASSWORD}` });
    // the local build stays: the pull must still pin the digest the registry serves, not the local one

    await registrySecret("reg-good", PASSWORD);
    await registrySecret("reg-bad", WRONG);
    await createApp(t.compute, "private", { healthPath: "/cgi-bin/app" });

    // a wrong password: PERMISSION_DENIED naming the registry; through the CLI, exit 4; never the password
    await prebuilt(t.compute, "private", ref, "reg-bad");
    const denied = await failure(publish(t.compute, "private"));
    expect(grpcCode(denied)).toBe(grpc.status.PERMISSION_DENIED);
    expect(denied.message).toContain(`registry ${priv.host} refused the credentials for ${ref}`);
    noPassword(denied.message);
    const cli = await runCli(["ignite", "draft", "publish", "private"], { env: t.env });
    expect(cli.exitCode).toBe(4);
    expect(cli.stderr).toContain(`registry ${priv.host} refused the credentials`);
    noPassword(cli.stdout + cli.stderr);

    // the right one: served
    const save = await runCli(["ignite", "draft", "save", "private", "--image-ref", ref, "--registry-secret-ref", "reg-good"], { env: t.env });
    expect(save.exitCode, save.stderr).toBe(0);
    expect((await publish(t.compute, "private")).version).toBe(1);
    const r = await invoke(t.compute, "private", {}, "/cgi-bin/app");
    expect(r.head.statusCode, r.text).toBe(200);
    expect(r.json).toMatchObject({ rootfs: "read-only" });

    // the local copy carries only acme-corp's name: other-org naming the registry ref must pull, without credentials
    expect(execFileSync("podman", ["images", "--format", "{{.Repository}}:{{.Tag}}"], { env: podmanEnv(), encoding: "utf8" })).not.toContain(`${priv.host}/private/app`);
    const other = t.client(ComputeService, OTHER_TOKEN);
    await createApp(other, "theirs", { healthPath: "/cgi-bin/app" });
    await prebuilt(other, "theirs", ref);
    const theirs = await failure(publish(other, "theirs"));
    expect(grpcCode(theirs)).toBe(grpc.status.PERMISSION_DENIED);
    expect(theirs.message).toContain(`registry ${priv.host} requires credentials`);
    // and acme-corp's secret is not other-org's by name
    const byName = await failure(prebuilt(other, "theirs", ref, "reg-good"));
    expect(grpcCode(byName)).toBe(grpc.status.FAILED_PRECONDITION);
    expect((byName as Error).message).toContain("secret 'reg-good' not found");

    // scale to zero, drop the local copy, break the secret: the cold start pulls with the secret as it is now
    const state = () => t.compute.getAppState(create(GetAppStateRequestSchema, { appName: "private" }));
    const scaledToZero = async () => {
      clock.advance(IDLE_MS * 2);
      const end = Date.now() + 30_000;
      while ((await state()).deploymentState !== DeploymentState.SCALED_TO_ZERO) {
        if (Date.now() > end) throw new Error("the app did not scale to zero");
        await new Promise((res) => setTimeout(res, 100));
      }
    };
    await scaledToZero();
    // the app's container is removed after the state says zero (podman run --rm): wait for that event, then drop the image
    const end = Date.now() + 30_000;
    while (containersOf(t.dataDir).length) {
      if (Date.now() > end) throw new Error("the scaled-to-zero container was not removed");
      await new Promise((res) => setTimeout(res, 100));
    }
    const names = execFileSync("podman", ["image", "inspect", "--format", "{{.Id}} {{.RepoTags}}", built], { env: podmanEnv(), encoding: "utf8" });
    expect(names).toContain("local.ignite/acme-corp/pulled:");
    execFileSync("podman", ["rmi", "-f", names.split(" ")[0]!], { env: podmanEnv(), stdio: ["ignore", "ignore", "inherit"] });
    await registrySecret("reg-good", WRONG);
    const coldDenied = await invoke(t.compute, "private", {}, "/cgi-bin/app").catch((e: unknown) => e as Error);
    expect(coldDenied instanceof Error ? coldDenied.message : JSON.stringify(coldDenied.head)).toContain(`registry ${priv.host} refused the credentials`);
    await registrySecret("reg-good", PASSWORD);
    const cold = await invoke(t.compute, "private", {}, "/cgi-bin/app");
    expect(cold.head.statusCode, cold.text).toBe(200);
    expect(cold.head.coldStart).toBe(true);
  }, 600_000);

  it("refuses a registry secret for another registry than the image's, and a registry secret as a git secret", async () => {
    await registrySecret("reg-elsewhere", PASSWORD);
    await createApp(t.compute, "elsewhere");
    await prebuilt(t.compute, "elsewhere", `${open.host}/base/busybox:1`, "reg-elsewhere");
    const e = await failure(publish(t.compute, "elsewhere"));
    expect(grpcCode(e)).toBe(grpc.status.FAILED_PRECONDITION);
    expect(e.message).toContain(`is for registry ${priv.host}, but image ${open.host}/base/busybox:1 is on ${open.host}`);
    const git = await runCli(["ignite", "draft", "save", "elsewhere", "--git-url", "https://127.0.0.1:1/x.git", "--git-secret-ref", "reg-elsewhere"], { env: t.env });
    expect(git.exitCode).not.toBe(0);
    expect(git.stderr).toContain("is a registry secret, but a git secret is required");
  }, 120_000);

  it("gives 'not available offline' when the registry does not answer, and offline without asking it", async () => {
    await createApp(t.compute, "unreachable");
    const saved = await saveContext(t.compute, t.build, "unreachable", await makeTarGz({ Dockerfile: 'FROM 127.0.0.1:1/base/none:1\nCMD ["true"]\n' }));
    const f = await followBuild(t.compute, saved.draft!.deployId);
    expect(f.status).toBe(BuildStatus.FAILED);
    expect(f.lines.join("\n")).toMatch(/image 127\.0\.0\.1:1\/base\/none:1 is not available offline: its registry cannot be reached\. Local base images: .*busybox/);
    expect(f.lines.join("\n")).toContain("registry 127.0.0.1:1 did not answer");

    const offline = await startTestControlPlane({ label: "image-pull-offline", driver: "podman", imageCacheDir: imageCache, offline: true });
    try {
      await createApp(offline.compute, "off");
      const s = await saveContext(offline.compute, offline.build, "off", await makeTarGz({ Dockerfile: `FROM ${open.host}/base/busybox:1\nCMD ["true"]\n` }));
      const o = await followBuild(offline.compute, s.draft!.deployId);
      expect(o.status).toBe(BuildStatus.FAILED);
      expect(o.lines.join("\n")).toMatch(new RegExp(`image ${open.host.replace(/\./g, "\\.")}/base/busybox:1 is not available offline: the local control plane runs with --offline`));
      expect(o.lines.join("\n")).not.toContain("Pulling");
    } finally {
      await offline.stop();
      cleanup(offline.dataDir);
    }
  }, 300_000);
});
