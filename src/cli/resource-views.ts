import { ExecutionStatus } from "../gen/dodil/ignite/v1/common_pb.js";
import { ExecutionSchema, TestResponseSchema, type AppLogLine, type Execution, type TestResponse } from "../gen/dodil/ignite/v1/compute_pb.js";
import type { ResultView } from "../output/render.js";
import { bodyValue, displayId, enumLabel, formatTime, protoJson } from "./views.js";

/**
 * Views shared by the compute commands (executions, test runs, logs). Loaded through
 * deps/compute.ts like views.ts, so nothing here costs start-up time.
 */

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

/** One app log line as a human reads it. */
export function formatLogLine(line: AppLogLine, withReplica: boolean): string {
  const time = formatTime(line.timestampMs);
  const replica = withReplica && line.replicaId ? ` ${line.replicaId}` : "";
  return `${time}${replica} ${line.stream === "stderr" ? "!" : " "} ${line.message}`;
}

export function logLineJson(line: AppLogLine): Record<string, unknown> {
  return { timestamp_ms: String(line.timestampMs), replica_id: line.replicaId, stream: line.stream, message: line.message, version: line.version };
}
