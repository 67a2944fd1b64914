/**
 * A clock the test moves by hand, given to startControlPlane({ clock }) (src/clock.ts): token
 * lifetimes, idle scale-to-zero and the max_concurrency wait then pass when the test says so, not
 * after real time. Timers run inside advance(), in the order they fall due.
 */
import type { Clock, ClockTimer } from "../../src/clock.js";

interface Timer {
  at: number;
  fn: () => void;
  /** Interval period; undefined for a one-shot timer. */
  every?: number;
}

export class FakeClock implements Clock {
  private t: number;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();
  private readonly watchers = new Set<() => void>();

  /** Starts at `startMs` (default the real time now). */
  constructor(startMs = Date.now()) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    return this.add({ at: this.t + Math.max(0, ms), fn });
  }

  setInterval(fn: () => void, ms: number): ClockTimer {
    const every = Math.max(1, ms);
    return this.add({ at: this.t + every, fn, every });
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let due: [number, Timer] | undefined;
      for (const entry of this.timers) if (entry[1].at <= end && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) break;
      const [id, timer] = due;
      this.t = timer.at;
      if (timer.every) timer.at += timer.every;
      else this.timers.delete(id);
      timer.fn();
      this.changed();
    }
    this.t = end;
  }

  /** One-shot timers waiting to fire (intervals not counted), e.g. calls queued under max_concurrency. */
  pendingTimeouts(): number {
    let n = 0;
    for (const timer of this.timers.values()) if (!timer.every) n++;
    return n;
  }

  /** Resolves once `pendingTimeouts()` is `n`: at once, or when a timer is set, cancelled or fired. */
  whenPending(n: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.pendingTimeouts() !== n) return;
        this.watchers.delete(check);
        resolve();
      };
      this.watchers.add(check);
      check();
    });
  }

  private add(timer: Timer): ClockTimer {
    const id = this.nextId++;
    this.timers.set(id, timer);
    this.changed();
    return {
      cancel: () => {
        if (this.timers.delete(id)) this.changed();
      },
    };
  }

  private changed(): void {
    for (const check of [...this.watchers]) check();
  }
}
