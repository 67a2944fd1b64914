/**
 * Durable executions (InvokeAsync) and per-app invocation statistics.
 *
 *   orgs/<org>/apps/<app>/executions/<ULID>.json   one record per InvokeAsync, rewritten atomically
 *                                                   on each state change (PENDING -> RUNNING -> end)
 *   orgs/<org>/apps/<app>/invocations.jsonl         one line per finished invocation (Invoke and
 *                                                   InvokeAsync): {t, ms, code, ok}; feeds the stats
 *
 * An execution that was PENDING/RUNNING when the control plane died is reported FAILED
 * ("interrupted by a control plane restart") the next time it is read.
 */
import * as path from "node:path";
import { create } from "@bufbuild/protobuf";
import { ExecutionStatus } from "../../gen/dodil/ignite/v1/common_pb.js";
import { ExecutionSchema, type Execution, type InvokeRequest } from "../../gen/dodil/ignite/v1/compute_pb.js";
import { CallError, callInstance } from "./app-call.js";
import { bufferedCallHeaders, requestShape } from "./request-shape.js";
import { InvocationLog, type FinishedCall } from "./invocation-log.js";
import { errorMessage, failedPrecondition, invalidArgument, notFound } from "../errors.js";
import type { Platform } from "../apps/platform.js";
import { DEFAULT_TIMEOUT_SECS } from "../apps/apps.js";
import { exists, readJson, writeJson } from "../atomic-fs.js";
import { ulid } from "../ids.js";

/** Results above this are cut (the record says so in `error`). */
export const MAX_RESULT_BYTES = 1024 * 1024;

interface ExecFile {
  executionId: string;
  org: string;
  app: string;
  status: ExecutionStatus;
  version: number;
  createdAtMs: number;
  startedAtMs: number;
  completedAtMs: number;
  statusCode: number;
  /** base64 */
  result: string;
  error: string;
}

const TERMINAL = new Set([ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT]);
export const isTerminal = (s: ExecutionStatus) => TERMINAL.has(s);

export class ExecutionManager {
  private readonly invocations = new InvocationLog();
  private active = new Map<string, { rec: ExecFile; subs: Set<(e: Execution) => void> }>();

  constructor(
    private platform: Platform,
    private log: (l: string) => void,
  ) {}

  private file(org: string, app: string, id: string): string {
    return path.join(this.platform.store.appDir(org, app), "executions", `${id}.json`);
  }

  toMessage(r: ExecFile): Execution {
    return create(ExecutionSchema, {
      executionId: r.executionId,
      appId: `${r.org}/${r.app}`,
      status: r.status,
      version: r.version,
      createdAtMs: BigInt(r.createdAtMs),
      startedAtMs: BigInt(r.startedAtMs),
      completedAtMs: BigInt(r.completedAtMs),
      statusCode: r.statusCode,
      result: Buffer.from(r.result, "base64"),
      error: r.error,
    });
  }

  private async save(r: ExecFile): Promise<void> {
    // the app may have been deleted meanwhile: never recreate its directory
    if (!(await exists(path.join(this.platform.store.appDir(r.org, r.app), "app.json")))) return;
    await writeJson(this.file(r.org, r.app, r.executionId), r);
  }

  private async update(r: ExecFile): Promise<void> {
    await this.save(r).catch((e) => this.log(`execution ${r.executionId}: saving failed: ${errorMessage(e)}`));
    const a = this.active.get(r.executionId);
    if (a) for (const s of a.subs) s(this.toMessage(r));
    if (isTerminal(r.status)) this.active.delete(r.executionId);
  }

  /** Creates the execution (PENDING), runs it in the background, returns its id. */
  async start(org: string, app: string, req: InvokeRequest): Promise<string> {
    const meta = await this.platform.apps.requireApp(org, app);
    if (!meta.activeVersion) throw failedPrecondition(`app ${org}/${app} has no published version; publish a draft first`);
    // A request the app could never be sent is refused now (INVALID_ARGUMENT), not recorded as a failed execution.
    requestShape(req.http);
    bufferedCallHeaders({ http: req.http, executionId: "", org, app, bodyLength: req.body.length });
    const now = Date.now();
    const rec: ExecFile = {
      executionId: ulid(now),
      org,
      app,
      status: ExecutionStatus.PENDING,
      version: meta.activeVersion,
      createdAtMs: now,
      startedAtMs: 0,
      completedAtMs: 0,
      statusCode: 0,
      result: "",
      error: "",
    };
    await writeJson(this.file(org, app, rec.executionId), rec);
    this.active.set(rec.executionId, { rec, subs: new Set() });
    // The execution runs after the RPC has answered: nothing it throws may go unhandled.
    void this.run(rec, req).catch((e: unknown) => this.log(`execution ${rec.executionId} of ${org}/${app}: could not record its outcome: ${errorMessage(e)}`));
    return rec.executionId;
  }

  private async run(r: ExecFile, req: InvokeRequest): Promise<void> {
    try {
      const { meta, slot, release } = await this.platform.scaling.ensureRunning(r.org, r.app);
      const res = await (async () => {
        r.status = ExecutionStatus.RUNNING;
        r.version = slot.version;
        r.startedAtMs = Date.now();
        await this.update(r);
        const timeoutMs = (meta.limits?.timeoutSecs || DEFAULT_TIMEOUT_SECS) * 1000;
        return callInstance(slot.instance.endpoint, { org: r.org, app: r.app, executionId: r.executionId, http: req.http, body: req.body, timeoutMs });
      })().finally(release);
      r.statusCode = res.statusCode;
      let body = res.body;
      if (body.length > MAX_RESULT_BYTES) body = body.subarray(0, MAX_RESULT_BYTES);
      r.result = body.toString("base64");
      if (res.statusCode >= 500) {
        r.status = ExecutionStatus.FAILED;
        r.error = `the app answered HTTP ${res.statusCode}`;
      } else {
        r.status = ExecutionStatus.SUCCEEDED;
        if (body.length < res.body.length || res.truncated) r.error = `result truncated to ${MAX_RESULT_BYTES} bytes`;
      }
    } catch (e) {
      r.status = e instanceof CallError && e.timedOut ? ExecutionStatus.TIMED_OUT : ExecutionStatus.FAILED;
      r.error = errorMessage(e);
    }
    r.completedAtMs = Date.now();
    this.record(r.org, r.app, { code: r.statusCode, ms: r.completedAtMs - r.createdAtMs, ok: r.status === ExecutionStatus.SUCCEEDED });
    this.log(`execution ${r.executionId} of ${r.org}/${r.app}: ${ExecutionStatus[r.status]}${r.statusCode ? ` (HTTP ${r.statusCode})` : ""}${r.error ? `: ${r.error}` : ""}`);
    await this.update(r);
  }

  /** The caller's execution; INVALID_ARGUMENT for a malformed id, NOT_FOUND otherwise. */
  async get(org: string, id: string): Promise<Execution> {
    if (!id) throw invalidArgument("execution_id is required");
    if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(id)) throw invalidArgument(`invalid execution id '${id}': expected a 26-character ULID`);
    const a = this.active.get(id);
    if (a) {
      if (a.rec.org !== org) throw notFound(`execution ${id} not found`);
      return this.toMessage(a.rec);
    }
    for (const app of await this.platform.store.listApps(org)) {
      const r = await readJson<ExecFile>(this.file(org, app, id)).catch(() => undefined);
      if (!r) continue;
      if (!isTerminal(r.status)) {
        r.status = ExecutionStatus.FAILED;
        r.error = "the execution was interrupted by a control plane restart";
        r.completedAtMs = r.completedAtMs || Date.now();
        await this.save(r).catch(() => undefined);
      }
      return this.toMessage(r);
    }
    throw notFound(`execution ${id} not found`);
  }

  /** Calls fn on each state change of an active execution; returns an unsubscribe function. */
  subscribe(id: string, fn: (e: Execution) => void): () => void {
    const a = this.active.get(id);
    if (!a) return () => undefined;
    a.subs.add(fn);
    return () => a.subs.delete(fn);
  }

  /** Appends one finished invocation to the app's statistics (best effort). */
  record(org: string, app: string, call: FinishedCall): void {
    const file = path.join(this.platform.store.appDir(org, app), "invocations.jsonl");
    try {
      this.invocations.append(file, { t: Date.now(), ms: call.ms, code: call.code, ok: call.ok });
    } catch {
      // the app is gone
      this.invocations.forget(file);
    }
  }

  async stats(org: string, app: string): Promise<{ total: number; succeeded: number; failed: number; p50: number; p99: number }> {
    await this.platform.apps.requireApp(org, app);
    const { total, succeeded, recentMs } = await this.invocations.totals(path.join(this.platform.store.appDir(org, app), "invocations.jsonl"));
    const recent = recentMs.sort((a, b) => a - b);
    const pct = (p: number) => (recent.length ? recent[Math.min(recent.length - 1, Math.ceil((p / 100) * recent.length) - 1)]! : 0);
    return { total, succeeded, failed: total - succeeded, p50: pct(50), p99: pct(99) };
  }
}
