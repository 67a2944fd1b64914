import type { IgniteApi } from "../api/ignite-api.js";
import {
  ComputeService,
  type CompileDraftResponse,
  type DraftInfo,
  PublishDraftResponseSchema,
  type PublishDraftResponse,
  type StreamCompileLogsResponse,
  type TestResponse,
} from "../gen/dodil/ignite/v1/compute_pb.js";
import { BuildStatus } from "../gen/dodil/ignite/v1/common_pb.js";
import { create } from "@bufbuild/protobuf";
import { TlsVerificationError } from "../api/status-error.js";
import { ApiError, CliError } from "../errors.js";
import { getApp } from "./apps.js";
import { appFields, formatAppRef, type AppRef } from "./app-ref.js";

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

export async function getDraftInfo(api: IgniteApi, ref: AppRef): Promise<DraftInfo | undefined> {
  return (await api.unary(ComputeService.method.getDraftInfo, appFields(ref))).draft;
}

export interface PublishOptions {
  /** Told when the answer was lost but the reconnect shows the publish took effect (the command warns). */
  onAnswerLost?: (message: string) => void;
}

/**
 * PublishDraft, which is not retried (it is not idempotent). When the connection is lost after the
 * call was sent, the server may have published before it could answer (a plane killed between
 * its commit and its reply): the app's state is read again on reconnect, against what it was
 * before the call, and the outcome reported as what it is: published (a warning, and the version),
 * not published (run it again), or unknown (`version list` once the API is back).
 */
export async function publishDraft(api: IgniteApi, ref: AppRef, options: PublishOptions = {}): Promise<PublishDraftResponse> {
  const [before, draft] = await Promise.all([getApp(api, ref).catch(() => undefined), getDraftInfo(api, ref).catch(() => undefined)]);
  try {
    return await api.unary(ComputeService.method.publishDraft, appFields(ref));
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== "UNAVAILABLE" || error instanceof TlsVerificationError || !before || !draft) throw error;
    const shown = formatAppRef(ref);
    const after = await getApp(api, ref).catch(() => undefined);
    if (!after) {
      throw new ApiError("UNAVAILABLE", `the connection was lost after PublishDraft of ${shown} was sent (${error.message}): whether it published a version is unknown`, {
        hint: `once the API is reachable, \`dodil ignite version list ${shown}\` shows whether a version after ${before.activeVersion} is active`,
        cause: error,
      });
    }
    if (after.activeVersion > before.activeVersion && after.codeHash === draft.codeHash) {
      options.onAnswerLost?.(`the connection was lost before PublishDraft answered; on reconnecting, version ${after.activeVersion} of ${shown} is active with the draft's code: the publish took effect`);
      return create(PublishDraftResponseSchema, { version: after.activeVersion, app: after, deployId: draft.deployId });
    }
    throw new ApiError(
      "UNAVAILABLE",
      `the connection was lost before PublishDraft of ${shown} answered; on reconnecting, the active version is still ${before.activeVersion || "none"}: the publish did not take effect`,
      { hint: `run \`dodil ignite draft publish ${shown}\` again`, cause: error },
    );
  }
}

/** Reconnects of a followed build log after the server went away (e.g. a control-plane restart). */
const FOLLOW_RECONNECTS = 10;

/**
 * The build log of the app's current draft; `follow` keeps streaming until the build ends. A
 * followed stream that loses its server reconnects (a bounded number of times, with backoff) and
 * resumes after the last line it yielded, so nothing is printed twice or skipped.
 */
export async function* streamDraftBuildLog(
  api: IgniteApi,
  ref: AppRef,
  options: { follow: boolean; fromOffset?: number; onReconnect?: (attempt: number, error: ApiError) => void },
): AsyncGenerator<StreamCompileLogsResponse["item"]> {
  const draft = await getDraftInfo(api, ref);
  if (!draft) throw new CliError("NOT_FOUND", `${formatAppRef(ref)} has no draft`, { hint: `save one with \`dodil ignite draft save ${formatAppRef(ref)} --code <dir> --dockerfile-path Dockerfile\`` });
  if (!draft.deployId) throw new CliError("NOT_FOUND", `the draft of ${formatAppRef(ref)} has no build log (nothing to build for this source)`);
  let next = BigInt(options.fromOffset ?? 0);
  for (let reconnects = 0; ; ) {
    try {
      const stream = api.serverStream(ComputeService.method.streamCompileLogs, { deployId: draft.deployId, follow: options.follow, fromOffset: next });
      for await (const message of stream) {
        if (message.item.case === "entry") {
          if (message.item.value.offset < next) continue;
          next = message.item.value.offset + 1n;
        }
        yield message.item;
      }
      return;
    } catch (error) {
      if (!(options.follow && error instanceof ApiError && error.code === "UNAVAILABLE") || reconnects >= FOLLOW_RECONNECTS) throw error;
      reconnects += 1;
      options.onReconnect?.(reconnects, error);
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** reconnects)));
    }
  }
}


/**
 * Streams the draft's build log to `onLine` while its build runs (nothing when it has ended or
 * there is none), until the build ends or `signal` aborts. For `draft publish` on a terminal.
 */
export async function streamRunningBuildLog(api: IgniteApi, ref: AppRef, onLine: (line: string) => void, signal: AbortSignal): Promise<void> {
  const draft = await getDraftInfo(api, ref);
  if (!draft?.deployId || (draft.buildStatus !== BuildStatus.PENDING && draft.buildStatus !== BuildStatus.RUNNING) || signal.aborted) return;
  const stream = api.serverStream(ComputeService.method.streamCompileLogs, { deployId: draft.deployId, follow: true, fromOffset: 0n }, { signal });
  for await (const message of stream) {
    if (signal.aborted) return;
    if (message.item.case === "entry") onLine(message.item.value.line);
  }
}
