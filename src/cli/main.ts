import { homedir } from "node:os";
import { systemClock } from "../clock.js";
import type { IoStreams } from "../output/io-streams.js";
import { run, type BinaryName } from "./run.js";

/** The one place that reads the real process: argv, env, cwd and the standard streams. */
export async function runMain(binary: BinaryName): Promise<number> {
  quietIpServerNameWarning();
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
  return run(process.argv.slice(2), { io, env: process.env, cwd: process.cwd(), home: homedir(), waitForShutdown, clock: systemClock }, binary);
}

/**
 * grpc-js sends the endpoint's host as the TLS server name, and Node warns (DEP0123) when that is
 * an IP address such as 127.0.0.1. Harmless (no SNI is sent for IPs; the certificate is still
 * checked against the IP), but it would print on every TLS call to an IP endpoint: drop that one.
 */
function quietIpServerNameWarning(): void {
  const original = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((...args: unknown[]) => {
    const [, typeOrOptions, code] = args;
    const warningCode = typeof typeOrOptions === "object" && typeOrOptions !== null ? (typeOrOptions as { code?: string }).code : code;
    if (warningCode === "DEP0123") return;
    original(...args);
  }) as typeof process.emitWarning;
}
