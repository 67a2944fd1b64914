/** A call's wait for a replica with room under `max_concurrency`: its bounds, its place in the queue, why it ended. */
import { unavailable } from "../errors.js";
import type { Slot } from "./replica.js";

/** How long a call may wait for a replica with room under `max_concurrency` (unless told less). */
export const QUEUE_TIMEOUT_MS = 30_000;

/** Bounds of a call's wait for a slot under `max_concurrency`. */
export interface WaitOptions {
  /** Gives up after this long (default and upper bound QUEUE_TIMEOUT_MS). */
  timeoutMs?: number;
  /** The caller went away: stop waiting. */
  signal?: AbortSignal;
}

/** A call waiting for a slot, first come first served. */
export interface Waiter {
  admit: (slot: Slot) => void;
  fail: (e: Error) => void;
}

export const stoppedWhileWaiting = (key: string) => unavailable(`app ${key} was stopped while the call waited for a slot`);
export const cancelledWhileWaiting = () => unavailable("the call was cancelled while it waited for a slot");

/** "30s", or milliseconds below a second. */
export function formatWait(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${Math.round(ms / 1000)}s`;
}
