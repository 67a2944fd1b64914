import type { CallOptions, IgniteApi } from "../api/ignite-api.js";
import { ExecutionStatus } from "../gen/dodil/ignite/v1/common_pb.js";
import { ComputeService, type AppLogLine, type Execution } from "../gen/dodil/ignite/v1/compute_pb.js";
import { CliError, UsageError } from "../errors.js";
import { appFields, type AppRef } from "./app-ref.js";
import { getAppLogs, streamAppLogs } from "./app-logs.js";
import { DEFAULT_HTTP, type HttpRequestShape } from "./invoke.js";

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/i;

/** Execution ids are ULIDs (26 characters of Crockford base32); anything else is a typo. */
export function parseExecutionId(text: string): string {
  const id = text.trim();
  if (!ULID.test(id)) throw new UsageError(`malformed execution id "${text}": execution ids are 26-character ULIDs such as 01J9Z8X4K2M3N4P5Q6R7S8T9VW`);
  return id.toUpperCase();
}

export function isTerminal(status: ExecutionStatus): boolean {
  return status === ExecutionStatus.SUCCEEDED || status === ExecutionStatus.FAILED || status === ExecutionStatus.TIMED_OUT;
}

export function isFailure(status: ExecutionStatus): boolean {
  return status === ExecutionStatus.FAILED || status === ExecutionStatus.TIMED_OUT;
}

/** InvokeAsync: queues the call and returns its execution id at once. */
export async function invokeAsync(api: IgniteApi, ref: AppRef, body: Uint8Array, http: HttpRequestShape = DEFAULT_HTTP): Promise<string> {
  const response = await api.unary(ComputeService.method.invokeAsync, { ...appFields(ref), http, body });
  return response.executionId;
}

export async function getExecution(api: IgniteApi, id: string): Promise<Execution> {
  const execution = (await api.unary(ComputeService.method.getExecution, { executionId: id })).execution;
  if (!execution) throw new CliError("NOT_FOUND", `execution ${id} not found`);
  return execution;
}

/** The current state, then each change; ends after a terminal state. */
export async function* watchExecution(api: IgniteApi, id: string, options: CallOptions = {}): AsyncGenerator<Execution> {
  for await (const message of api.serverStream(ComputeService.method.watchExecution, { executionId: id }, options)) {
    if (message.execution) yield message.execution;
  }
}

/** `org/app` of an execution as an AppRef. */
export function executionApp(execution: Execution): AppRef {
  const [org = "", name = ""] = execution.appId.split("/");
  return { org, name };
}

export interface ExecutionLogs {
  execution: Execution;
  lines: AppLogLine[];
  /** The time window the lines were taken from (ms since the epoch). */
  fromMs: number;
  toMs: number;
}

/**
 * The app's output while the execution ran. Log lines carry no execution id, so this is the app's
 * lines (of the execution's version) between its start and its end: with concurrent calls of the
 * same app, their lines are mixed in. Logs are kept in memory by the platform, so old ones are gone.
 */
export async function getExecutionLogs(api: IgniteApi, id: string, now = Date.now()): Promise<ExecutionLogs> {
  const execution = await getExecution(api, id);
  const fromMs = Number(execution.startedAtMs || execution.createdAtMs);
  const toMs = Number(execution.completedAtMs) || now;
  if (!fromMs) return { execution, lines: [], fromMs, toMs };
  // Lines are stamped when the control plane reads them: allow a little slack after the end.
  const slackMs = 1000;
  const lines = await getAppLogs(api, executionApp(execution), { sinceMs: fromMs, limit: 10_000 });
  return {
    execution,
    lines: lines.filter((l) => Number(l.timestampMs) <= toMs + slackMs && (execution.version === 0 || l.version === execution.version)),
    fromMs,
    toMs,
  };
}

/** What `streamExecution` yields: the app's output as it arrives, then the final state. */
export type ExecutionEvent = { kind: "log"; line: AppLogLine } | { kind: "end"; execution: Execution };

/** How long output may trail the execution's end (lines are stamped when the platform reads them). */
const TRAILING_OUTPUT_MS = 500;

/**
 * An execution's output live: the app's log lines (of the execution's version, from its start) as
 * they arrive, then its final state once it has ended and trailing lines have had time to arrive.
 * As with getExecutionLogs, lines of concurrent calls of the same app are included. The output is
 * best effort: when the log stream fails, `onLogError` hears why and the final state still comes.
 */
export async function* streamExecution(
  api: IgniteApi,
  id: string,
  options: { watch?: CallOptions; onLogError?: (error: unknown) => void } = {},
): AsyncGenerator<ExecutionEvent> {
  const first = await getExecution(api, id);
  const fromMs = Number(first.startedAtMs || first.createdAtMs);
  const stopLogs = new AbortController();
  const events: ExecutionEvent[] = [];
  let wake: (() => void) | undefined;
  const push = (event: ExecutionEvent) => {
    events.push(event);
    wake?.();
  };
  const logs = (async () => {
    try {
      for await (const line of streamAppLogs(api, executionApp(first), { sinceMs: fromMs }, { timeoutMs: 0, signal: stopLogs.signal })) {
        if (first.version === 0 || line.version === first.version) push({ kind: "log", line });
      }
    } catch (error) {
      if (!stopLogs.signal.aborted) options.onLogError?.(error);
    }
  })();
  const ended = (async () => {
    let last = first;
    try {
      for await (const execution of watchExecution(api, id, options.watch)) last = execution;
    } finally {
      // Whatever ended the watch, the log stream ends soon after it.
      setTimeout(() => stopLogs.abort(), isTerminal(last.status) ? TRAILING_OUTPUT_MS : 0).unref();
    }
    await logs;
    push({ kind: "end", execution: last });
  })();
  ended.catch(() => wake?.());
  try {
    for (;;) {
      const event = events.shift();
      if (event) {
        yield event;
        if (event.kind === "end") return;
        continue;
      }
      await Promise.race([new Promise<void>((resolve) => (wake = resolve)), ended]);
      wake = undefined;
    }
  } finally {
    stopLogs.abort();
  }
}

export function getExecutionStats(api: IgniteApi, ref: AppRef) {
  return api.unary(ComputeService.method.getExecutionStats, appFields(ref));
}
