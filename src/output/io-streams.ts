import type { Readable, Writable } from "node:stream";
import type { Env } from "../config/env.js";

/** The process's streams plus what was decided about them once, at start-up. */
export interface IoStreams {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  stdinIsTTY: boolean;
  /** ANSI colour on stdout / stderr. */
  stdoutColor: boolean;
  stderrColor: boolean;
  columns: number;
}

/**
 * Colour policy, decided once: --no-color and NO_COLOR switch it off, FORCE_COLOR (other than 0)
 * switches it on, otherwise colour only where the stream is a terminal.
 */
export function decideColor(options: { isTTY: boolean; env: Env; noColorFlag: boolean }): boolean {
  const { isTTY, env, noColorFlag } = options;
  if (noColorFlag) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "") return env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "false";
  return isTTY && env.TERM !== "dumb";
}
