/**
 * CompileDraft, TestDraft and TestAppVersion: run a draft's or a version's image in a temporary
 * instance (never the app's serving replica), POST the payload, return the answer, stop it.
 */
import { create, fromJson } from "@bufbuild/protobuf";
import { AppMetaSchema, BuildStatus } from "../../gen/dodil/ignite/v1/common_pb.js";
import { TestResponseSchema, type DraftInfo, type HttpContext, type TestResponse } from "../../gen/dodil/ignite/v1/compute_pb.js";
import { CallError, callInstance } from "./app-call.js";
import { bufferedCallHeaders, requestShape } from "./request-shape.js";
import type { BuiltImage } from "../drivers/types.js";
import { deadlineExceeded, failedPrecondition, unavailable } from "../errors.js";
import { startDraftBuild } from "../build/draft-build.js";
import { requireSupportedRuntime } from "../managed-runtime/index.js";
import { checkPayload } from "./payload-schema.js";
import type { Platform } from "../apps/platform.js";
import { DEFAULT_PORT, DEFAULT_TIMEOUT_SECS } from "../apps/apps.js";
import { ulid } from "../ids.js";

export async function compileDraft(platform: Platform, org: string, app: string): Promise<{ deployId: string; draft: DraftInfo | undefined }> {
  const key = `${org}/${app}`;
  await platform.apps.requireApp(org, app);
  const d = await platform.store.getDraft(org, app);
  if (!d) throw failedPrecondition(`app ${key} has no draft; save one first (SaveDraft)`);
  if (d.source === "prebuilt") return { deployId: "", draft: await platform.drafts.getDraft(org, app) };
  if (d.source === "compile") requireSupportedRuntime(d.runtime, `compile the draft of ${key}`);
  // reuse the draft's build/compile unless it failed, was cancelled or its image is gone
  const cur = d.deployId ? await platform.store.getBuild(d.deployId) : undefined;
  const running = cur && platform.builds.isActive(cur.id);
  const usable = cur && (running || (cur.status === BuildStatus.SUCCEEDED && (await platform.builds.image(cur))));
  if (!usable) {
    await platform.appLocks.run(key, async () => {
      const again = await platform.store.getDraft(org, app);
      if (!again || again.codeHash !== d.codeHash) throw failedPrecondition(`the draft of ${key} changed meanwhile; compile again`);
      const b = await startDraftBuild(platform, { org, app, draft: again });
      again.deployId = b.id;
      again.buildStatus = b.status;
      delete again.error;
      again.updatedAtMs = Date.now();
      await platform.store.putDraft(org, app, again);
    });
  }
  const info = await platform.drafts.getDraft(org, app);
  return { deployId: info?.deployId ?? "", draft: info };
}

/** The request a test sends: the payload, its HTTP shape, and by when the caller wants the answer. */
export interface TestCall {
  payload: Uint8Array;
  http: HttpContext | undefined;
  /** The caller's deadline (epoch ms); the app's own timeout applies when it comes first. */
  deadlineMs: number;
}

/** What a test runs: the app's image of a draft (version 0) or a version, in an instance of its own. */
interface TestInstance {
  org: string;
  app: string;
  version: number;
  /** How the instance is named in logs and errors. */
  label: string;
  image: BuiltImage;
}

async function runOnce(platform: Platform, t: TestInstance, call: TestCall): Promise<TestResponse> {
  const { org, app, version, label, image } = t;
  const { payload, http } = call;
  const meta = await platform.apps.requireApp(org, app);
  // A request the app could never be sent is INVALID_ARGUMENT before an instance is launched for it.
  requestShape(http);
  bufferedCallHeaders({ http, executionId: "", org, app, bodyLength: payload.length });
  const inst = await platform.runtime.launch({
    org,
    app,
    version,
    image,
    env: { ...meta.env },
    ports: meta.ports.length ? [...meta.ports] : [DEFAULT_PORT],
    healthPath: meta.healthPath,
    label,
  });
  const executionId = ulid();
  try {
    const timeoutMs = Math.min((meta.limits?.timeoutSecs || DEFAULT_TIMEOUT_SECS) * 1000, Math.max(0, call.deadlineMs - Date.now()));
    const res = await callInstance(inst.endpoint, { org, app, executionId, http, body: payload, timeoutMs }).catch((e) => {
      if (e instanceof CallError && e.timedOut) throw deadlineExceeded(`${label} of ${org}/${app}: ${e.message}`);
      if (!(e instanceof CallError)) throw e; // a request the app cannot be sent: INVALID_ARGUMENT as it is
      throw unavailable(`${label} of ${org}/${app}: ${(e as Error).message}`);
    });
    return create(TestResponseSchema, { statusCode: res.statusCode, headers: res.headers, body: res.body, executionId, durationMs: BigInt(res.durationMs) });
  } finally {
    await inst.stop();
  }
}

export async function testDraft(platform: Platform, of: { org: string; app: string }, call: TestCall): Promise<TestResponse> {
  const { org, app } = of;
  const key = `${org}/${app}`;
  await platform.apps.requireApp(org, app);
  const d = await platform.store.getDraft(org, app);
  if (!d) throw failedPrecondition(`app ${key} has no draft to test; save one first (SaveDraft)`);
  if (d.source === "prebuilt") throw failedPrecondition(`image ${d.imageRef} is not available offline: the local control plane does not pull an image to test a prebuilt draft; publish it and test the version`);
  if (d.source === "compile") requireSupportedRuntime(d.runtime, `test the draft of ${key}`);
  checkPayload(d.inputSchema, call.payload, `the draft of ${key}`);
  const b = await platform.drafts.draftBuild(org, app, d);
  const image = await platform.builds.image(b);
  if (!image) throw failedPrecondition(`the image of the draft of ${key} is no longer available; save the draft again`);
  return runOnce(platform, { org, app, version: 0, label: "draft test instance", image }, call);
}

export async function testVersion(platform: Platform, of: { org: string; app: string; version: number }, call: TestCall): Promise<TestResponse> {
  const { org, app } = of;
  const { v } = await platform.versions.requireVersion(org, app, of.version);
  checkPayload(fromJson(AppMetaSchema, v.app, { ignoreUnknownFields: true }).inputSchema, call.payload, `version ${v.version} of ${org}/${app}`);
  const b = await platform.store.getBuild(v.deployId);
  const image = b ? await platform.builds.image(b) : undefined;
  if (!image) throw failedPrecondition(`the image of version ${v.version} of ${org}/${app} (${v.imageRef}) is no longer available`);
  return runOnce(platform, { org, app, version: v.version, label: `test instance of version ${v.version}`, image }, call);
}
