/**
 * The docker driver (Docker Engine API) against `podman system service` on a unix socket in a temp
 * dir, using the shared offline base images: build with a redacted secret build arg, the platform's
 * runtime rules, a named USER refused, no container left after stop. Skipped with a visible reason
 * where podman is not installed (a failure in CI).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { BuildStatus } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import { SaveBuildSecretsRequestSchema } from "../../src/gen/dodil/ignite/v1/build_pb.js";
import { create } from "@bufbuild/protobuf";
import { ACME_TOKEN, startTestControlPlane, type BuildClient, type ComputeClient, type TestControlPlane } from "../helpers/control-plane.js";
import { grpcCode } from "../helpers/rpc-client.js";
import { cacheStoreGraphRoot, prepareContainersConfig } from "../../src/local/drivers/containers.js";
import { dockerJson } from "../../src/local/drivers/docker-api.js";
import { DockerDriver } from "../../src/local/drivers/docker.js";
import { MAX_INSTANCE_LOG_BYTES } from "../../src/local/drivers/rotating-log.js";
import { createHash } from "node:crypto";
import { probeDocker } from "../../src/local/drivers/detect.js";
import { busyboxAppFiles, createApp, ensureBusybox, followBuild, imageCache, inCI, invoke, podmanMissing, publish, saveContext } from "./container-helpers.js";
import { cleanup, makeTarGz, tempDir } from "./helpers.js";
import { BASE_IMAGES } from "../../src/local/drivers/base-images.js";
import { PullFailure } from "../../src/local/drivers/image-pull.js";
import { copyToRegistry, imageCacheSource, registryToolsInstalled } from "../helpers/registry.js";
import { startRegistry } from "../../src/local/registry/registry-server.js";
import { freePort } from "../../src/local/net.js";

const registryTools = await registryToolsInstalled();

const skip = !!podmanMissing && !inCI;
if (skip) console.warn(`[docker driver tests skipped] ${podmanMissing} (they run against podman system service)`);

describe.skipIf(skip)(`docker driver via podman system service${podmanMissing ? ` (skipped: ${podmanMissing})` : ""}`, () => {
  let svc: ChildProcess | undefined;
  let svcDir: string;
  let runRoot: string | undefined;
  let dataDir: string;
  let fixture: TestControlPlane | undefined;
  let c: ComputeClient;
  let b: BuildClient;
  let sock: string;
  let pullPort = 0;
  let planeRegistryPort = 0;
  const savedDockerHost = process.env["DOCKER_HOST"];

  beforeAll(async () => {
    if (podmanMissing) throw new Error(`the docker driver tests need ${podmanMissing}`);
    await ensureBusybox();
    svcDir = tempDir("docker-svc");
    dataDir = tempDir("docker");
    const cfg = await prepareContainersConfig(path.join(svcDir, "containers"), { additionalImageStores: [cacheStoreGraphRoot(imageCache)] });
    runRoot = cfg.runRoot;
    sock = path.join(svcDir, "podman.sock");
    // Docker treats loopback registries as plain HTTP; podman's service is told so for the pull test's port
    // (and the planes' own registries: dockerd treats every loopback registry so)
    [pullPort, planeRegistryPort] = [await freePort(), await freePort()];
    const registriesConf = path.join(svcDir, "registries.conf");
    writeFileSync(registriesConf, [pullPort, planeRegistryPort].map((p) => `[[registry]]\nlocation = "127.0.0.1:${p}"\ninsecure = true\n`).join("\n"));
    svc = spawn("podman", ["system", "service", "--time=0", `unix://${sock}`], { env: { ...cfg.env, CONTAINERS_REGISTRIES_CONF: registriesConf }, stdio: "ignore" });
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
    process.env["DOCKER_HOST"] = `unix://${sock}`;
    // The service answers once it has opened its storage: on a loaded machine that can take longer
    // than one probe's 3 s, so it is probed until it answers (or 60 s pass, with the last reason).
    let rep = await probeDocker();
    for (const until = Date.now() + 60_000; !rep.usable && Date.now() < until; ) rep = await probeDocker();
    expect(rep.usable, rep.why).toBe(true);
    expect(rep.found["engine"]).toMatch(/^Libpod \d+\.\d+\.\d+ \(API \d+\.\d+\)$/);
    fixture = await startTestControlPlane({ dataDir, driver: "docker", registryListen: `127.0.0.1:${planeRegistryPort}` });
    ({ compute: c, build: b } = fixture);
  }, 120_000);

  afterAll(async () => {
    await fixture?.stop();
    if (savedDockerHost === undefined) delete process.env["DOCKER_HOST"];
    else process.env["DOCKER_HOST"] = savedDockerHost;
    if (svc?.pid) {
      svc.kill("SIGTERM");
      await new Promise((r) => svc!.once("exit", r));
    }
    // the service leaves its storage's private overlay mount behind
    for (const m of readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" ")[1] ?? "")) {
      if ((svcDir && m.startsWith(svcDir)) || (runRoot && m.startsWith(runRoot))) spawnSync("umount", ["-l", m]);
    }
    if (dataDir) cleanup(dataDir);
    if (svcDir) cleanup(svcDir);
    // the service's run root (/tmp/ignite-run-*), which only the stopped service used
    if (runRoot) cleanup(runRoot);
  }, 60_000);

  it("builds through the Engine API, redacts secrets, and runs under the platform's rules", async () => {
    expect(fixture!.plane.driver).toBe("docker");
    await createApp(c, "bb", { healthPath: "/cgi-bin/app", env: { APP_SETTING: "via-docker" } });
    const saved = await saveContext(c, b, "bb", await makeTarGz(busyboxAppFiles()), { buildArgs: { GREETING_ARG: "hallo", API_TOKEN: "d0cker-secret-99" } });
    const build = await followBuild(c, saved.draft!.deployId);
    expect(build.status, build.lines.join("\n")).toBe(BuildStatus.SUCCEEDED);
    expect(build.lines.some((l) => /STEP \d+\/\d+: RUN chmod/i.test(l))).toBe(true);
    expect(build.lines.join("\n")).not.toContain("d0cker-secret-99");
    expect(build.lines.some((l) => l.includes("token ***"))).toBe(true);
    // pushed to the plane's registry through the Engine API: the outcome names the pullable ref
    expect(build.imageRef).toMatch(new RegExp(`^127\\.0\\.0\\.1:${planeRegistryPort}/acme-corp/bb@sha256:[0-9a-f]{64}$`));
    // and pulled back from it (as at a cold start whose local copy is gone), named locally only
    const authFile = path.join(tempDir("docker-auth"), "auth.json");
    writeFileSync(authFile, JSON.stringify({ auths: { [`127.0.0.1:${planeRegistryPort}`]: { auth: Buffer.from(`acme-corp:${ACME_TOKEN}`).toString("base64") } } }), { mode: 0o600 });
    const d = new DockerDriver({ socketPath: sock, display: `unix://${sock}` }, "pull-back-test");
    await d.pullImageAs(build.imageRef, "local.ignite/acme-corp/bb:pulled-back", { authFile });
    const back = await d.localImage("local.ignite/acme-corp/bb:pulled-back");
    expect(back?.names).toContain("local.ignite/acme-corp/bb:pulled-back");
    expect((back?.names ?? []).filter((n) => n.startsWith("127.0.0.1:"))).toEqual([]);
    await publish(c, "bb");
    const r = await invoke(c, "bb", {}, "/cgi-bin/app");
    expect(r.head.statusCode, r.text).toBe(200);
    expect(r.json).toMatchObject({ uid: "65534", home: "/tmp/ignite", home_state: "writable", rootfs: "read-only", built: "hallo", app_env: "via-docker" });
  }, 120_000);

  it("fails on a missing base image and refuses a named USER", async () => {
    await createApp(c, "nobase");
    const s1 = await saveContext(c, b, "nobase", await makeTarGz({ Dockerfile: 'FROM example.invalid/none:1\nCMD ["true"]\n' }));
    const f = await followBuild(c, s1.draft!.deployId);
    expect(f.status).toBe(BuildStatus.FAILED);
    expect(f.lines.join("\n")).toMatch(/image example\.invalid\/none:1 is not available offline/);
    await createApp(c, "named", { healthPath: "/cgi-bin/app" });
    const s2 = await saveContext(c, b, "named", await makeTarGz(busyboxAppFiles({ user: "www-data" })));
    expect((await followBuild(c, s2.draft!.deployId)).status).toBe(BuildStatus.SUCCEEDED);
    const e = await publish(c, "named").catch((x: unknown) => x);
    expect(grpcCode(e)).toBe(grpc.status.FAILED_PRECONDITION);
    expect(String((e as Error).message)).toMatch(/CreateContainerConfigError: USER www-data is not numeric/);
  }, 120_000);

  it.skipIf(!registryTools)("pulls through the Engine API (X-Registry-Auth): a wrong password is auth naming the registry, the right one names the image in the org's namespace only", async () => {
    const priv = await startRegistry({ dir: tempDir("docker-pull-registry"), listen: `127.0.0.1:${pullPort}`, auth: { kind: "htpasswd", users: { puller: "docker-pull-pw" } } });
    try {
      const busybox = await imageCacheSource(BASE_IMAGES.busybox.refs[0]!);
      const ref = `${priv.host}/base/busybox:1`;
      const digest = await copyToRegistry(busybox.src, ref, { env: busybox.env, creds: "puller:docker-pull-pw" });
      const d = new DockerDriver({ socketPath: sock, display: `unix://${sock}` }, "pull-test");
      const wrong = await d.pullImage({ ref, org: "acme-corp", log: () => undefined, credentials: { username: "puller", password: "not-the-password" } }).catch((e: unknown) => e);
      expect(wrong).toBeInstanceOf(PullFailure);
      expect((wrong as PullFailure).kind, String(wrong)).toBe("auth");
      expect((wrong as Error).message).toContain(`registry ${priv.host} refused the credentials for ${ref}`);
      expect((wrong as Error).message).not.toContain("not-the-password");
      const none = await d.pullImage({ ref, org: "acme-corp", log: () => undefined }).catch((e: unknown) => e);
      expect((none as PullFailure).kind).toBe("auth");
      const pulled = await d.pullImage({ ref, org: "acme-corp", log: () => undefined, credentials: { username: "puller", password: "docker-pull-pw" } });
      expect(pulled.digest).toBe(digest);
      await d.keepForOrg(pulled.dir, "acme-corp", priv.host);
      const names = (await d.localImage(pulled.dir))?.names ?? [];
      expect(names.some((n) => n.startsWith("local.ignite/acme-corp/pulled:"))).toBe(true);
      expect(names.filter((n) => n.startsWith(priv.host))).toEqual([]);
      // a FROM of it in a build, with the org's build registry credentials, on a plane that pulls;
      // its registry's port is one the engine was not told is plain HTTP, so the push cannot go
      // there: a warning, and the build keeps its local image
      await d.removeImage({ ...(await d.localImage(pulled.dir))!, ref: names[0]! });
      const online = await startTestControlPlane({ dataDir: tempDir("docker-online"), driver: "docker", offline: false });
      try {
        await online.build.saveBuildSecrets(create(SaveBuildSecretsRequestSchema, { registryCredentials: { [priv.host]: Buffer.from("puller:docker-pull-pw").toString("base64") } }));
        await createApp(online.compute, "fromdocker", { healthPath: "/cgi-bin/app" });
        const saved = await saveContext(online.compute, online.build, "fromdocker", await makeTarGz(busyboxAppFiles({ from: ref, extra: "ENV VIA=docker-pull" })));
        const build = await followBuild(online.compute, saved.draft!.deployId);
        expect(build.status, build.lines.slice(-8).join("\n")).toBe(BuildStatus.SUCCEEDED);
        expect(build.lines.join("\n")).toContain(`Pulling base image ${ref} from ${priv.host} with the org's build registry credentials`);
        expect(build.lines.join("\n")).not.toContain("docker-pull-pw");
        expect(build.lines.join("\n")).toMatch(/\[Warning\] the Docker Engine could not push to the plane's registry 127\.0\.0\.1:\d+ \(.*\): the image stays in the engine's local storage/);
        expect(build.imageRef).toMatch(/^local\.ignite\/acme-corp\/fromdocker:bld_/);
      } finally {
        await online.stop();
      }
    } finally {
      await priv.stop();
    }
  }, 120_000);

  it("bounds the engine's copy of a container's output like output.log, and a forced stop removes every container at once", async () => {
    const ep = { socketPath: sock, display: sock };
    const label = createHash("sha256").update(dataDir).digest("hex").slice(0, 16);
    const ours = await dockerJson<{ Id: string }[]>(ep, { path: "/containers/json", query: { all: "1", filters: JSON.stringify({ label: [`org.dodil.ignite.control-plane=${label}`] }) } });
    expect(ours.length).toBeGreaterThan(0);
    // The LogConfig the driver sends (json-file, max-size = output.log's bound): dockerd reports its
    // Config; podman's compat service reports only the type (Config null), so max-size is checked
    // where the engine reports it.
    const { HostConfig } = await dockerJson<{ HostConfig: { LogConfig: { Type: string; Config: Record<string, string> | null } } }>(ep, { path: `/containers/${ours[0]!.Id}/json` });
    expect(HostConfig.LogConfig.Type).toBe("json-file");
    if (HostConfig.LogConfig.Config) expect(HostConfig.LogConfig.Config["max-size"]).toBe(String(MAX_INSTANCE_LOG_BYTES));
    // the driver's forced stop (what the plane does when a graceful stop overran its bound)
    await new DockerDriver({ socketPath: sock, display: sock }, label).forceStop();
    const left = await dockerJson<unknown[]>(ep, { path: "/containers/json", query: { all: "1", filters: JSON.stringify({ label: [`org.dodil.ignite.control-plane=${label}`] }) } });
    expect(left).toEqual([]);
    // the app cold-starts again afterwards
    const r = await invoke(c, "bb", {}, "/cgi-bin/app");
    expect(r.head.statusCode, r.text).toBe(200);
  }, 120_000);

  it("leaves no container behind when the control plane stops", async () => {
    const ep = { socketPath: sock, display: sock };
    const before = await dockerJson<unknown[]>(ep, { path: "/containers/json", query: { all: "1" } });
    expect(before.length).toBeGreaterThan(0);
    await fixture!.stop();
    const after = await dockerJson<unknown[]>(ep, { path: "/containers/json", query: { all: "1" } });
    expect(after).toEqual([]);
  }, 60_000);
});
