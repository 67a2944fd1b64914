/** A build's log as a server stream, from an offset, optionally followed to the build's end (StreamCompileLogs, StreamBuildLogs). */
import type { ServerWritableStream } from "@grpc/grpc-js";
import { BuildStatus } from "../../gen/dodil/ignite/v1/common_pb.js";
import type { BuildManager } from "../build/build-manager.js";
import type { BuildRecord } from "../store/store.js";
import { follow } from "./follow.js";
import { send } from "./handlers.js";

type LogEntry = { offset: number; timestampMs: number; line: string };

export interface BuildLogStream {
  call: ServerWritableStream<unknown, unknown>;
  fromOffset: number;
  /** Keep the call open until the build ends (false: what is written so far). */
  follow: boolean;
  entry: (e: LogEntry) => unknown;
  /** The closing message, sent once the build has ended. */
  finished: (b: BuildRecord) => unknown;
}

export async function streamBuildLog(builds: BuildManager, b: BuildRecord, o: BuildLogStream): Promise<void> {
  let next = o.fromOffset;
  const sendFrom = async (): Promise<boolean> => {
    for (const e of await builds.readLog(b.id, next)) {
      if (!(await send(o.call, o.entry(e)))) return false;
      next = e.offset + 1;
    }
    return true;
  };
  await follow(
    o.call,
    (signal) => builds.subscribe(b.id, signal),
    async () => {
      const active = builds.isActive(b.id);
      if (!(await sendFrom()) || o.call.cancelled) return true;
      if (active) return !o.follow;
      const final = (await builds.wait(b.id)) ?? b;
      // lines written between the read and the end
      if (!(await sendFrom())) return true;
      if (final.status !== BuildStatus.PENDING && final.status !== BuildStatus.RUNNING) await send(o.call, o.finished(final));
      return true;
    },
  );
}
