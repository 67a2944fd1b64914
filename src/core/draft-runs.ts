import type { IgniteApi } from "../api/ignite-api.js";
import { ComputeService, type CompileDraftResponse, type TestResponse } from "../gen/dodil/ignite/v1/compute_pb.js";
import { appFields, type AppRef } from "./app-ref.js";

/** CompileDraft: starts (or returns) the draft's build/compile; `deployId` is empty for prebuilt drafts. */
export function compileDraft(api: IgniteApi, ref: AppRef): Promise<CompileDraftResponse> {
  return api.unary(ComputeService.method.compileDraft, appFields(ref));
}

const http = { method: "POST", path: "/", query: "", headers: { "content-type": "application/json" } };

/** TestDraft: runs the draft on a temporary instance (no publish); the app's HTTP status is data. */
export function testDraft(api: IgniteApi, ref: AppRef, payload: Uint8Array): Promise<TestResponse> {
  return api.unary(ComputeService.method.testDraft, { ...appFields(ref), payload, http });
}

/** TestAppVersion: the same against a published version (0 = the active one). */
export function testVersion(api: IgniteApi, ref: AppRef, version: number, payload: Uint8Array): Promise<TestResponse> {
  return api.unary(ComputeService.method.testAppVersion, { ...appFields(ref), version, payload, http });
}
