/**
 * The one follow loop of the server streams that keep a call open for what happens next (build
 * and compile logs, app logs and events, an execution's status): run a step, then wait until the
 * source signals a change or the call ends. A missed signal costs at most SAFETY_NET_MS, never a
 * hung stream.
 */
import type { ServerWritableStream } from "@grpc/grpc-js";
import { send } from "./handlers.js";

const SAFETY_NET_MS = 1000;

type Call = ServerWritableStream<unknown, unknown>;

/**
 * Runs `step` now and after every signal from `subscribe`, until it returns true or the call ends.
 * A signal that arrives while a step runs is not lost: the next step runs at once.
 */
export async function follow(call: Call, subscribe: (signal: () => void) => () => void, step: () => Promise<boolean>): Promise<void> {
  let signalled = false;
  let wake: (() => void) | undefined;
  const signal = () => {
    signalled = true;
    wake?.();
  };
  const unsubscribe = subscribe(signal);
  call.on("cancelled", signal);
  call.on("close", signal);
  try {
    for (;;) {
      signalled = false;
      if (await step()) return;
      if (call.cancelled || call.destroyed) return;
      if (signalled) continue;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, SAFETY_NET_MS);
      });
      clearTimeout(timer);
      wake = undefined;
    }
  } finally {
    unsubscribe();
    call.off("cancelled", signal);
    call.off("close", signal);
  }
}

/**
 * Streams the items `subscribe` delivers (a backlog may be delivered at once) as messages, until
 * the call ends or `until` says the last one was final.
 */
export async function followItems<T>(call: Call, subscribe: (push: (item: T) => void) => () => void, toMsg: (item: T) => unknown, until?: (item: T) => boolean): Promise<void> {
  const queue: T[] = [];
  await follow(
    call,
    (signal) =>
      subscribe((item) => {
        queue.push(item);
        signal();
      }),
    async () => {
      while (queue.length) {
        const item = queue.shift()!;
        if (!(await send(call, toMsg(item)))) return true;
        if (until?.(item)) return true;
      }
      return false;
    },
  );
}
