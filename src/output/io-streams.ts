import type { Readable, Writable } from "node:stream";
import { readEnv, type Env } from "../config/env.js";

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
  /**
   * Set by the MCP server, which runs commands in-process with -o json: each result is also
   * written here in the human (table) form, so a tool result carries both.
   */
  humanResult?: Writable | undefined;
  /** Set by the MCP server: receives what spinners and upload progress would show (its progress notifications). */
  progress?: ((message: string) => void) | undefined;
}

/**
 * Colour policy, decided once: --no-color and NO_COLOR switch it off, FORCE_COLOR (other than 0)
 * switches it on, otherwise colour only where the stream is a terminal.
 */
export function decideColor(options: { isTTY: boolean; env: Env; noColorFlag: boolean }): boolean {
  const { isTTY, env, noColorFlag } = options;
  if (noColorFlag) return false;
  if (readEnv(env, "NO_COLOR") !== undefined) return false;
  const force = readEnv(env, "FORCE_COLOR");
  if (force !== undefined) return force !== "0" && force !== "false";
  return isTTY && env.TERM !== "dumb";
}
