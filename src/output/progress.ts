import { formatBytes } from "./format-bytes.js";
import type { Output, Spinner } from "./output.js";

export interface ByteProgress {
  update(doneBytes: number, totalBytes: number): void;
}

/**
 * Byte progress for uploads: a bar in the spinner on a terminal, an "x MB / y MB" line every
 * `clock.intervalMs` (by `clock.now`) and at the end elsewhere (CI logs), nothing at all under json/yaml.
 */
export function byteProgress(output: Output, spinner: Spinner, label: string, clock: { intervalMs?: number; now?: () => number } = {}): ByteProgress {
  const { intervalMs = 2000, now = Date.now } = clock;
  const listener = output.progressListener;
  if (listener) return throttled(intervalMs, now, (done, total) => listener(`${label} ${formatBytes(done)} / ${formatBytes(total)}`));
  if (output.isMachine) return { update() {} };
  if (output.io.stderrIsTTY) {
    return {
      update(done, total) {
        const ratio = total > 0 ? Math.min(1, done / total) : 1;
        const filled = Math.round(ratio * 20);
        spinner.update(`${label} [${"#".repeat(filled)}${"-".repeat(20 - filled)}] ${formatBytes(done)} / ${formatBytes(total)}`);
      },
    };
  }
  return throttled(intervalMs, now, (done, total) => output.info(`${label} ${formatBytes(done)} / ${formatBytes(total)}`));
}

/**
 * Reports at most once per interval, and the first update that reaches the total once: a streamed
 * upload reaches it when the last file is packed, while its last chunks are still being sent.
 */
function throttled(intervalMs: number, now: () => number, report: (done: number, total: number) => void): ByteProgress {
  let last = now();
  let finished = false;
  return {
    update(done, total) {
      if (finished) return;
      finished = done >= total;
      const time = now();
      if (time - last < intervalMs && !finished) return;
      last = time;
      report(done, total);
    },
  };
}
