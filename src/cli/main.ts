import { homedir } from "node:os";
import type { IoStreams } from "../output/io-streams.js";
import { run, type BinaryName } from "./run.js";

/** The one place that reads the real process: argv, env, cwd and the standard streams. */
export async function runMain(binary: BinaryName): Promise<number> {
  const io: IoStreams = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    stdinIsTTY: process.stdin.isTTY === true,
    stdoutColor: false,
    stderrColor: false,
    columns: process.stdout.columns ?? 80,
  };
  const waitForShutdown = () =>
    new Promise<string>((resolve) => {
      process.once("SIGINT", () => resolve("SIGINT"));
      process.once("SIGTERM", () => resolve("SIGTERM"));
    });
  return run(process.argv.slice(2), { io, env: process.env, cwd: process.cwd(), home: homedir(), waitForShutdown }, binary);
}
