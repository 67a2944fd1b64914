import { BuildSchema, type Build } from "../gen/dodil/ignite/v1/build_pb.js";
import { BuildStatus, ExecutionStatus } from "../gen/dodil/ignite/v1/common_pb.js";
import { ExecutionSchema, TestResponseSchema, type AppLogLine, type Execution, type TestResponse } from "../gen/dodil/ignite/v1/compute_pb.js";
import type { ResultView } from "../output/render.js";
import { displayId, enumLabel, formatTime, protoJson } from "./views.js";

/**
 * Views shared by the issue-6 commands (executions, builds, test runs, logs). Loaded through
 * deps.ts like views.ts, so nothing here costs start-up time.
 */

/** Bytes as text when they are UTF-8 JSON or text, else a note with the size. */
export function bodyValue(bytes: Uint8Array): unknown {
  const text = Buffer.from(bytes).toString("utf8");
  if (text === "") return "";
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function bodyText(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString("utf8");
  return text.length > 2000 ? `${text.slice(0, 2000)}… (${bytes.length} bytes)` : text;
}

/** TestDraft / TestAppVersion: JSON keeps the proto fields but shows the body decoded. */
export function testResponseView(response: TestResponse): ResultView {
  const json = protoJson(TestResponseSchema, response) as Record<string, unknown>;
  return {
    data: { ...json, body: bodyValue(response.body) },
    human: {
      kind: "record",
      fields: [
        ["STATUS", String(response.statusCode)],
        ["EXECUTION", response.executionId],
        ["DURATION", `${response.durationMs} ms`],
        ["BODY", bodyText(response.body)],
      ],
      wideFields: [["HEADERS", Object.entries(response.headers).map(([k, v]) => `${k}: ${v}`).join("; ")]],
    },
  };
}

export function executionStatusName(status: ExecutionStatus): string {
  return `EXECUTION_STATUS_${ExecutionStatus[status] ?? "UNSPECIFIED"}`;
}

export function executionJson(execution: Execution): Record<string, unknown> {
  const json = protoJson(ExecutionSchema, execution) as Record<string, unknown>;
  return { ...json, result: bodyValue(execution.result) };
}

export function executionView(execution: Execution): ResultView {
  const started = Number(execution.startedAtMs);
  const completed = Number(execution.completedAtMs);
  return {
    data: executionJson(execution),
    human: {
      kind: "record",
      fields: [
        ["EXECUTION", execution.executionId],
        ["APP", displayId(execution.appId)],
        ["STATUS", enumLabel(executionStatusName(execution.status), "EXECUTION_STATUS_")],
        ["VERSION", execution.version ? String(execution.version) : ""],
        ["HTTP STATUS", execution.statusCode ? String(execution.statusCode) : ""],
        ["DURATION", started && completed ? `${completed - started} ms` : ""],
        ["ERROR", execution.error],
        ["RESULT", bodyText(execution.result)],
      ],
      wideFields: [
        ["CREATED", formatTime(execution.createdAtMs)],
        ["STARTED", formatTime(execution.startedAtMs)],
        ["COMPLETED", formatTime(execution.completedAtMs)],
      ],
    },
  };
}

export function buildStatusName(status: BuildStatus): string {
  return `BUILD_STATUS_${BuildStatus[status] ?? "UNSPECIFIED"}`;
}

export function buildView(build: Build): ResultView {
  return {
    data: protoJson(BuildSchema, build),
    human: {
      kind: "record",
      fields: [
        ["BUILD", build.buildId],
        ["NAME", build.name],
        ["STATUS", enumLabel(buildStatusName(build.status), "BUILD_STATUS_")],
        ["IMAGES", build.imageRefs.join(", ")],
        ["ERROR", build.error],
        ["CREATED", formatTime(build.createdAtMs)],
      ],
      wideFields: [
        ["DOCKERFILE", build.dockerfile],
        ["TAGS", build.tags.join(", ")],
        ["PLATFORM", build.platform],
        // Values from build secrets arrive as *** already; only the names are shown here.
        ["BUILD ARGS", Object.keys(build.buildArgs).sort().join(", ")],
        ["STARTED", formatTime(build.startedAtMs)],
        ["FINISHED", formatTime(build.finishedAtMs)],
      ],
    },
  };
}

/** One app log line as a human reads it. */
export function formatLogLine(line: AppLogLine, withReplica: boolean): string {
  const time = formatTime(line.timestampMs);
  const replica = withReplica && line.replicaId ? ` ${line.replicaId}` : "";
  return `${time}${replica} ${line.stream === "stderr" ? "!" : " "} ${line.message}`;
}

export function logLineJson(line: AppLogLine): Record<string, unknown> {
  return { timestamp_ms: String(line.timestampMs), replica_id: line.replicaId, stream: line.stream, message: line.message, version: line.version };
}
