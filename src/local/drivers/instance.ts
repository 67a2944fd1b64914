/**
 * What the container drivers share once a container runs: capturing its output (a log file, the
 * last lines for error messages, and each line to the runtime's onOutput hook) and the
 * RunningInstance record of a container on the host network.
 */
import * as path from "node:path";
import { RotatingLog } from "./rotating-log.js";
import type { InstanceExit, RunningInstance, StartOptions } from "./types.js";

const KEEP_LINES = 200;

export class InstanceOutput {
  private readonly lines: string[] = [];
  private readonly partial = { stdout: "", stderr: "" };
  private readonly file: RotatingLog;

  constructor(private readonly opts: Pick<StartOptions, "instanceDir" | "onOutput">) {
    this.file = new RotatingLog(path.join(opts.instanceDir, "output.log"));
  }

  /** A chunk of the container's stdout or stderr, split into lines across chunks. */
  write(stream: "stdout" | "stderr", chunk: Buffer | string): void {
    this.file.write(chunk);
    const lines = (this.partial[stream] + chunk.toString()).split("\n");
    this.partial[stream] = lines.pop() ?? "";
    for (const line of lines) {
      this.remember(line);
      this.opts.onOutput?.(stream, line);
    }
  }

  /** A line of our own (why the container could not run), shown with the container's output. */
  remember(line: string): void {
    this.lines.push(line);
    if (this.lines.length > KEEP_LINES) this.lines.shift();
  }

  recent(n = 20): string[] {
    return this.lines.filter((l) => l.trim()).slice(-n);
  }

  end(): void {
    this.file.end();
  }
}

/** A container with host networking: its declared ports are the same ports on the host. */
export function hostNetworkInstance(args: {
  id: string;
  opts: Pick<StartOptions, "port" | "extraPorts">;
  exited: Promise<InstanceExit>;
  alive: () => boolean;
  output: InstanceOutput;
  stop: () => Promise<void>;
}): RunningInstance {
  const portMap = new Map<number, number>([[args.opts.port, args.opts.port]]);
  for (const p of args.opts.extraPorts) portMap.set(p, p);
  return {
    id: args.id,
    hostPort: args.opts.port,
    portMap,
    startedAtMs: Date.now(),
    exited: args.exited,
    alive: args.alive,
    recentOutput: (n) => args.output.recent(n),
    stop: args.stop,
  };
}
