import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { systemClock, type Clock } from "../../src/clock.js";
import { run, type BinaryName } from "../../src/cli/run.js";
import type { IoStreams } from "../../src/output/io-streams.js";
import { removeDir } from "./temp-dirs.js";

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  env?: Record<string, string | undefined>;
  home?: string;
  cwd?: string;
  stdoutIsTTY?: boolean;
  stderrIsTTY?: boolean;
  stdinIsTTY?: boolean;
  stdin?: string;
  binary?: BinaryName;
  /** Sees stdout as it is written (to act once a following command printed something). */
  onStdout?: (chunk: string) => void;
  /** Sees stderr as it is written (progress a test waits for). */
  onStderr?: (chunk: string) => void;
  /** The run's clock (a follow's --timeout); default the system clock. */
  clock?: Clock;
}

/** Every CLI output the suite produced, for the secret scan. */
export const capturedOutputs: string[] = [];

/**
 * Runs the CLI in-process with fake streams and a private HOME; returns what a user would see.
 * Without `home` the run gets a fresh one, removed when it returns; a given `home` is the caller's.
 */
export async function runCli(argv: string[], options: RunCliOptions = {}): Promise<CliResult> {
  const stdout = collect(options.onStdout);
  const stderr = collect(options.onStderr);
  const io: IoStreams = {
    stdout: stdout.stream,
    stderr: stderr.stream,
    stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    stdoutIsTTY: options.stdoutIsTTY ?? false,
    stderrIsTTY: options.stderrIsTTY ?? false,
    stdinIsTTY: options.stdinIsTTY ?? false,
    stdoutColor: false,
    stderrColor: false,
    columns: 100,
  };
  const ownHome = options.home === undefined ? mkdtempSync(join(tmpdir(), "ignite-home-")) : undefined;
  const home = options.home ?? ownHome!;
  try {
    const exitCode = await run(argv, { io, env: options.env ?? {}, cwd: options.cwd ?? process.cwd(), home, waitForShutdown: () => new Promise(() => {}), clock: options.clock ?? systemClock }, options.binary ?? "dodil");
    const result = { exitCode, stdout: stdout.text(), stderr: stderr.text() };
    capturedOutputs.push(result.stdout, result.stderr);
    return result;
  } finally {
    if (ownHome) removeDir(ownHome);
  }
}

function collect(onChunk?: (chunk: string) => void) {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      chunks.push(bytes);
      onChunk?.(bytes.toString("utf8"));
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}
