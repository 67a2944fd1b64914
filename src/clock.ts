/**
 * The time the rules that tests wait on read. In the control plane: token expiry (auth/), the idle
 * period before a replica is stopped and how often that is checked, and how long a call waits for a
 * slot under max_concurrency (runtime/); control-plane.ts passes one clock to each of them. In the
 * CLI: how long a follow runs under an explicit --timeout (the RunEnvironment's clock). Both are the
 * system clock unless a test gives its own (test/helpers/fake-clock.ts), so tests move time forward
 * instead of sleeping through it.
 *
 * Waits on real processes (readiness probes, call timeouts, drains, stop grace) stay on real time.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms`. */
  setTimeout(fn: () => void, ms: number): ClockTimer;
  /** Calls `fn` every `ms` until cancelled; it does not keep the process alive. */
  setInterval(fn: () => void, ms: number): ClockTimer;
}

export interface ClockTimer {
  cancel(): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
};
