import { UsageError } from "../errors.js";

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * The longest duration a flag takes unless it names its own bound: a week. Longer is a typo, and
 * timers (and gRPC deadlines) above 2^31 ms fail far from the flag that asked for them.
 */
export const MAX_DURATION_MS = 168 * 3_600_000;

/**
 * Parses a Go-style duration ("5m", "1h30m", "250ms", "1.5s") into milliseconds. "0" (or any zero
 * duration) is 0, which callers document as "no deadline"/"never"; a positive duration below 1 ms
 * rounds up to 1 ms, so `1ns` is a (very short) deadline, never "none".
 */
export function parseDuration(text: string, flag = "--timeout", maxMs = MAX_DURATION_MS): number {
  const trimmed = text.trim();
  if (trimmed === "0") return 0;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  while (index < trimmed.length) {
    part.lastIndex = index;
    const match = part.exec(trimmed);
    if (!match) break;
    total += Number(match[1]) * (UNIT_MS[match[2] as string] ?? 0);
    index = part.lastIndex;
  }
  if (index === 0 || index !== trimmed.length) {
    throw new UsageError(`invalid duration "${text}" for ${flag}: use a Go-style duration such as 30s, 5m or 1h30m`);
  }
  if (!(total <= maxMs)) throw new UsageError(`invalid duration "${text}" for ${flag}: the limit is ${formatHours(maxMs)}`);
  return total > 0 ? Math.max(1, Math.round(total)) : 0;
}

function formatHours(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${ms / 1000}s`;
}
