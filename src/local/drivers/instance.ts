/**
 * What the container drivers share once a container runs: capturing its output (a log file, the
 * last lines for error messages, and each line to the runtime's onOutput hook) and the
 * RunningInstance record of a container on the host network.
 */
import * as path from "node:path";
import { RotatingLog } from "./rotating-log.js";
import type { InstanceEndpoint, InstanceExit, RunningInstance, StartOptions } from "./types.js";

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

/**
 * Where an instance's declared ports are reached: the sockets of its own network namespace
 * (`sockets`), or the same ports on the host's loopback (host networking).
 */
export function instanceEndpoints(opts: Pick<StartOptions, "port" | "extraPorts">, sockets?: ReadonlyMap<number, string>): Map<number, InstanceEndpoint> {
  const ports = [opts.port, ...opts.extraPorts];
  return new Map(ports.map((p): [number, InstanceEndpoint] => {
    const socketPath = sockets?.get(p);
    return [p, socketPath ? { socketPath } : { host: "127.0.0.1", port: p }];
  }));
}

/** A running container, its ports reached as `instanceEndpoints` says. */
export function networkInstance(args: {
  id: string;
  opts: Pick<StartOptions, "port" | "extraPorts">;
  sockets?: ReadonlyMap<number, string>;
  exited: Promise<InstanceExit>;
  alive: () => boolean;
  output: InstanceOutput;
  stop: () => Promise<void>;
}): RunningInstance {
  const endpoints = instanceEndpoints(args.opts, args.sockets);
  return {
    id: args.id,
    endpoint: endpoints.get(args.opts.port)!,
    endpoints,
    startedAtMs: Date.now(),
    exited: args.exited,
    alive: args.alive,
    recentOutput: (n) => args.output.recent(n),
    stop: args.stop,
  };
}
