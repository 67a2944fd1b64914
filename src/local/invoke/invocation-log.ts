/**
 * An app's invocation record, orgs/<org>/apps/<app>/invocations.jsonl: one line per finished call
 * ({t, ms, code, ok}), which feeds the app's statistics. Bounded: once the file passes
 * MAX_INVOCATION_LOG_BYTES it is rewritten (atomically) to its newest `keepRows` lines, preceded by
 * one summary line ({summary: {total, succeeded}}) that carries the counts of every line dropped,
 * so totals stay exact while the file and each read of it stay small.
 */
import { appendFileSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { promises as fsp } from "node:fs";
import * as path from "node:path";

/** Size past which the record is compacted (about 25 000 calls). */
export const MAX_INVOCATION_LOG_BYTES = 2 * 1024 * 1024;
/** Calls the latency percentiles are computed over, and the lines a compaction keeps. */
export const STATS_WINDOW = 10_000;

/** One finished call: its HTTP status, how long it took, whether it counts as a success. */
export interface FinishedCall {
  code: number;
  ms: number;
  ok: boolean;
}
interface Row extends FinishedCall {
  t: number;
}
interface Summary {
  summary: { total: number; succeeded: number };
}

export interface InvocationTotals {
  total: number;
  succeeded: number;
  /** Latencies of the newest calls (at most STATS_WINDOW), oldest first. */
  recentMs: number[];
}

function parse(text: string): { summary: Summary["summary"]; rows: Row[] } {
  const summary = { total: 0, succeeded: 0 };
  const rows: Row[] = [];
  for (const l of text.split("\n")) {
    if (!l) continue;
    try {
      const v = JSON.parse(l) as Partial<Row & Summary>;
      if (v.summary) {
        summary.total += Number(v.summary.total) || 0;
        summary.succeeded += Number(v.summary.succeeded) || 0;
      } else if (typeof v.ms === "number") rows.push(v as Row);
    } catch {
      // a line torn by a crash
    }
  }
  return { summary, rows };
}

export class InvocationLog {
  /** Bytes of each file as this process last knew them (appends are counted, not stat'ed). */
  private readonly sizes = new Map<string, number>();

  constructor(
    private readonly maxBytes = MAX_INVOCATION_LOG_BYTES,
    private readonly keepRows = STATS_WINDOW,
  ) {}

  /** Appends one call (synchronously: lines stay whole and ordered); throws when the app dir is gone. */
  append(file: string, row: Row): void {
    const line = JSON.stringify(row) + "\n";
    appendFileSync(file, line, { flag: "a" });
    let size = this.sizes.get(file);
    if (size === undefined) size = statSync(file).size;
    else size += Buffer.byteLength(line);
    if (size > this.maxBytes) size = this.compact(file);
    this.sizes.set(file, size);
  }

  private compact(file: string): number {
    const { summary, rows } = parse(readFileSync(file, "utf8"));
    const dropped = rows.slice(0, Math.max(0, rows.length - this.keepRows));
    const kept = rows.slice(dropped.length);
    const head: Summary = { summary: { total: summary.total + dropped.length, succeeded: summary.succeeded + dropped.filter((r) => r.ok).length } };
    const text = [head, ...kept].map((r) => JSON.stringify(r)).join("\n") + "\n";
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.compact`);
    writeFileSync(tmp, text);
    renameSync(tmp, file);
    return Buffer.byteLength(text);
  }

  async totals(file: string): Promise<InvocationTotals> {
    const { summary, rows } = parse(await fsp.readFile(file, "utf8").catch(() => ""));
    return {
      total: summary.total + rows.length,
      succeeded: summary.succeeded + rows.filter((r) => r.ok).length,
      recentMs: rows.slice(-STATS_WINDOW).map((r) => r.ms),
    };
  }

  /** Forgets a file (its app was deleted). */
  forget(file: string): void {
    this.sizes.delete(file);
  }
}
