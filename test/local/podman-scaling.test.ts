/**
 * Scaling and version changes with the podman driver end to end (skipped with a visible reason
 * where buildah/podman/runc are missing; in CI a missing tool fails instead): idle scale to zero
 * and cold start with a short idle period, reserved capacity kept warm, concurrent calls served by
 * up to max_replicas replicas, rollback while calls keep being served, a crashing new version
 * failing the publish while the previous one keeps serving, and a git source build.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodeKind, DeploymentState, ScalingConfigSchema } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import {
  GetAppStateRequestSchema,
  ListAppReplicasRequestSchema,
  RollbackAppRequestSchema,
  SaveDraftRequestSchema,
} from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import type { RunningControlPlane } from "../../src/local/control-plane.js";
import { busyboxAppFiles, createApp, expectBuildSucceeds, inCI, invoke, podmanMissing, publish, saveContext, startPodmanPlane, type PodmanPlane } from "./container-helpers.js";
import type { BuildClient, ComputeClient } from "../helpers/control-plane.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { grpcCode } from "../helpers/rpc-client.js";
import { cleanup, makeTarGz, tempDir } from "./helpers.js";

const IDLE_MS = 1_500;
/** The plane's clock: the idle period passes when a test advances it, not while the calls run. */
const clock = new FakeClock();
const skip = !!podmanMissing && !inCI;
if (skip) console.warn(`[podman scaling tests skipped] ${podmanMissing}`);

/** The busybox CGI app, optionally slow (each call sleeps) — for concurrency. */
function appFiles(o: { greeting?: string; sleep?: number } = {}): Record<string, string> {
  const f = busyboxAppFiles();
  if (o.greeting) f["Dockerfile"] = f["Dockerfile"]!.replace("ARG GREETING_ARG=hello", `ARG GREETING_ARG=${o.greeting}`);
  if (o.sleep) f["app.cgi"] = f["app.cgi"]!.replace("#!/bin/sh\n", `#!/bin/sh\nsleep ${o.sleep}\n`);
  return f;
}

describe.skipIf(skip)(`podman driver: scaling and version changes${podmanMissing ? ` (skipped: ${podmanMissing})` : ""}`, () => {
  let cp: RunningControlPlane;
  let dataDir: string;
  let c: ComputeClient;
  let b: BuildClient;
  const state = (app: string) => c.getAppState(create(GetAppStateRequestSchema, { appName: app }));
  const replicas = async (app: string) => (await c.listAppReplicas(create(ListAppReplicasRequestSchema, { appName: app }))).replicas;
  async function until<T>(what: string, f: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
    const end = Date.now() + ms;
    let v = await f();
    while (!ok(v)) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? String(x) : x))}`);
      await new Promise((r) => setTimeout(r, 200));
      v = await f();
    }
    return v;
  }
  async function deploy(app: string, files: Record<string, string>, extra: Record<string, unknown> = {}) {
    await createApp(c, app, { healthPath: "/cgi-bin/app", ...extra });
    const saved = await saveContext(c, b, app, await makeTarGz(files));
    await expectBuildSucceeds(c, saved.draft!.deployId);
    return publish(c, app);
  }

  let plane: PodmanPlane | undefined;

  beforeAll(async () => {
    plane = await startPodmanPlane("podman-scaling", { idleTimeoutMs: IDLE_MS, clock });
    ({ cp, dataDir, c, b } = plane);
  }, 120_000);

  afterAll(async () => {
    await plane?.stop();
  }, 60_000);

  it("scales an idle app to zero after the idle period and cold-starts it on the next call", async () => {
    expect((await deploy("idle", appFiles())).version).toBe(1);
    const warm = await invoke(c, "idle", {}, "/cgi-bin/app");
    expect(warm.head.statusCode).toBe(200);
    expect(warm.head.coldStart).toBe(false);
    expect((await state("idle")).readyReplicas).toBe(1);
    clock.advance(IDLE_MS * 2);
    const zero = await until("scale to zero", () => state("idle"), (s) => s.deploymentState === DeploymentState.SCALED_TO_ZERO, IDLE_MS * 10);
    expect(zero).toMatchObject({ readyReplicas: 0, desiredReplicas: 0, activeVersion: 1 });
    expect(await replicas("idle")).toEqual([]);
    const t0 = Date.now();
    const cold = await invoke(c, "idle", {}, "/cgi-bin/app");
    const coldMs = Date.now() - t0;
    expect(cold.head.statusCode, cold.text).toBe(200);
    expect(cold.head.coldStart).toBe(true);
    expect(cold.head.version).toBe(1);
    expect(await state("idle")).toMatchObject({ deploymentState: DeploymentState.ACTIVE, readyReplicas: 1, activeVersion: 1 });
    console.log(`[podman] cold start after scale to zero: ${coldMs} ms`);
  }, 120_000);

  it("keeps reserved capacity warm past the idle period", async () => {
    await deploy("warm", appFiles(), { scaling: create(ScalingConfigSchema, { reservedCapacity: 1, maxReplicas: 2 }) });
    clock.advance(IDLE_MS * 3);
    expect(await state("warm")).toMatchObject({ deploymentState: DeploymentState.ACTIVE, readyReplicas: 1, desiredReplicas: 1 });
    const r = await invoke(c, "warm", {}, "/cgi-bin/app");
    expect(r.head.statusCode).toBe(200);
    expect(r.head.coldStart).toBe(false);
  }, 120_000);

  it("serves concurrent calls with up to max_replicas replicas, then scales in", async () => {
    await deploy("busy", appFiles({ sleep: 1 }), { scaling: create(ScalingConfigSchema, { reservedCapacity: 0, maxReplicas: 3 }), maxConcurrency: 1 });
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, (await state("busy")).readyReplicas);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    for (let round = 0; round < 3; round++) {
      const rs = await Promise.all(Array.from({ length: 6 }, () => invoke(c, "busy", {}, "/cgi-bin/app")));
      for (const r of rs) expect(r.head.statusCode, r.text).toBe(200);
    }
    const reps = await replicas("busy");
    sampling = false;
    await sampler;
    peak = Math.max(peak, reps.length);
    expect(peak).toBeGreaterThanOrEqual(2);
    expect(peak).toBeLessThanOrEqual(3);
    expect(new Set(reps.map((r) => r.version))).toEqual(new Set([1]));
    expect(new Set(reps.map((r) => r.replicaId)).size).toBe(reps.length);
    console.log(`[podman] 6 concurrent slow calls, max_replicas 3: peak ${peak} replicas`);
    clock.advance(IDLE_MS * 2);
    await until("scale in to zero", () => state("busy"), (s) => s.readyReplicas === 0, IDLE_MS * 10);
  }, 180_000);

  it("keeps serving calls while RollbackApp swaps versions", async () => {
    expect((await deploy("rb", appFiles({ greeting: "one" }))).version).toBe(1);
    const saved = await saveContext(c, b, "rb", await makeTarGz(appFiles({ greeting: "two" })));
    await expectBuildSucceeds(c, saved.draft!.deployId);
    expect((await publish(c, "rb")).version).toBe(2);
    expect((await invoke(c, "rb", {}, "/cgi-bin/app")).json["built"]).toBe("two");

    const seen: { status: number; version: number; built: unknown }[] = [];
    const errors: string[] = [];
    /** Resolves once `n` calls were answered (or one failed: the assertions below say which). */
    const answered: Array<{ n: number; resolve: () => void }> = [];
    const answeredAtLeast = (n: number) => new Promise<void>((resolve) => answered.push({ n, resolve }));
    const progress = () => {
      for (const w of [...answered]) if (seen.length >= w.n || errors.length) answered.splice(answered.indexOf(w), 1)[0]!.resolve();
    };
    let go = true;
    const callers = Array.from({ length: 4 }, async () => {
      while (go) {
        try {
          const r = await invoke(c, "rb", {}, "/cgi-bin/app");
          seen.push({ status: r.head.statusCode, version: r.head.version, built: r.json["built"] });
        } catch (e) {
          errors.push(String(e));
        }
        progress();
      }
    });
    // calls are answered by version 2 before the rollback…
    await answeredAtLeast(4);
    await c.rollbackApp(create(RollbackAppRequestSchema, { appName: "rb", version: 1 }));
    const after = seen.length;
    // …and keeps calling after it: calls begun after it returned are answered too
    await answeredAtLeast(after + 8);
    go = false;
    await Promise.all(callers);
    expect(errors).toEqual([]);
    expect(seen.every((s) => s.status === 200)).toBe(true);
    expect(seen.some((s) => s.version === 2 && s.built === "two")).toBe(true);
    const late = seen.slice(after + 4); // calls begun after the rollback returned
    expect(late.length).toBeGreaterThan(0);
    expect(late.every((s) => s.version === 1 && s.built === "one")).toBe(true);
    expect((await state("rb")).activeVersion).toBe(1);
    console.log(`[podman] rollback while serving: ${seen.length} calls, all 200 (${after} before the rollback returned)`);
  }, 180_000);

  it("a crashing new version fails the publish with its last log lines and the previous version keeps serving", async () => {
    expect((await deploy("crashy", appFiles())).version).toBe(1);
    const files = { Dockerfile: 'FROM busybox\nUSER 1000\nCMD ["sh", "-c", "echo booting v2; echo fatal: missing DATABASE_URL >&2; exit 4"]\n' };
    const saved = await saveContext(c, b, "crashy", await makeTarGz(files));
    await expectBuildSucceeds(c, saved.draft!.deployId);
    const err = await publish(c, "crashy").catch((e: unknown) => e);
    expect(grpcCode(err)).toBe(grpc.status.FAILED_PRECONDITION);
    expect(String((err as Error).message)).toMatch(/exited before it was ready[\s\S]*--- last output ---[\s\S]*booting v2[\s\S]*fatal: missing DATABASE_URL/);
    const r = await invoke(c, "crashy", {}, "/cgi-bin/app");
    expect(r.head.statusCode).toBe(200);
    expect(r.head.version).toBe(1);
    expect((await state("crashy")).activeVersion).toBe(1);
  }, 120_000);

  it("builds and serves a git source (file:// URL, ref, context subdirectory)", async () => {
    const repo = tempDir("git-src");
    try {
      mkdirSync(path.join(repo, "svc"), { recursive: true });
      for (const [f, text] of Object.entries(appFiles({ greeting: "from-git" }))) writeFileSync(path.join(repo, "svc", f), text);
      writeFileSync(path.join(repo, "README.md"), "outside the context\n");
      const git = (...a: string[]) => execFileSync("git", ["-C", repo, "-c", "user.email=t@t", "-c", "user.name=t", ...a]);
      git("init", "-q", "-b", "main");
      git("add", ".");
      git("commit", "-qm", "init");
      git("tag", "v1");
      await createApp(c, "gitapp", { healthPath: "/cgi-bin/app" });
      const r = await c.saveDraft(
        create(SaveDraftRequestSchema, {
          appName: "gitapp",
          code: { source: { case: "image", value: { source: { case: "fromGit", value: { url: `file://${repo}`, ref: "v1", contextDir: "svc", dockerfilePath: "Dockerfile" } } } } },
        }),
      );
      expect(r.draft?.codeKind).toBe(CodeKind.GIT_IMAGE);
      const build = await expectBuildSucceeds(c, r.draft!.deployId);
      expect(build.lines.some((l) => /^STEP 1\/\d+: FROM busybox/.test(l))).toBe(true);
      expect((await publish(c, "gitapp")).version).toBe(1);
      const out = await invoke(c, "gitapp", {}, "/cgi-bin/app");
      expect(out.head.statusCode, out.text).toBe(200);
      expect(out.json).toMatchObject({ built: "from-git", uid: "65534", rootfs: "read-only" });
    } finally {
      cleanup(repo);
    }
  }, 120_000);
});
