import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../errors.js";
import type { RustOptions } from "./draft-source.js";
import { RUNTIMES, type RuntimeName } from "./flag-choices.js";

/**
 * An app directory's info.yaml, the platform samples' manifest: the one reader of it. Today its
 * `name:` (the app a bare `app deploy` means) and `runtime:` (the managed runtime when no flag names
 * one). Read with a pattern, not a YAML parser: only top-level scalar lines matter so far.
 */
export interface InfoYaml {
  /** The file as the user would name it, e.g. `./app/info.yaml`. */
  shown: string;
  name: string | undefined;
  runtime: { runtime: RuntimeName; rust?: RustOptions } | undefined;
}

export const INFO_YAML = "info.yaml";

/** The top-level `key: value` of a YAML text (unquoted, quoted, with a trailing comment). */
function topLevelScalar(text: string, key: string): string | undefined {
  const value = new RegExp(`^${key}:[ \\t]*["']?([^"'#\\s]*)["']?[ \\t]*(#.*)?$`, "m").exec(text)?.[1];
  return value === "" ? undefined : value;
}

/** The info.yaml of `dir` (`shownDir` as the user typed it), or undefined when there is none. */
export async function readInfoYaml(dir: string, shownDir: string): Promise<InfoYaml | undefined> {
  const text = await readFile(join(dir, INFO_YAML), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const shown = join(shownDir, INFO_YAML);
  return { shown, name: topLevelScalar(text, "name"), runtime: parseRuntime(topLevelScalar(text, "runtime"), shown) };
}

/** `runtime: deno`, also `rust-native`/`rust-wasm` (the platform's labels). */
function parseRuntime(value: string | undefined, shown: string): InfoYaml["runtime"] {
  if (!value) return undefined;
  if (value === "rust-native" || value === "rust-wasm") return { runtime: "rust", rust: { target: value === "rust-wasm" ? "wasm" : "native", toolchain: "" } };
  if ((RUNTIMES as readonly string[]).includes(value)) return { runtime: value as RuntimeName };
  throw new UsageError(`${shown} says runtime: ${value}: use one of ${RUNTIMES.join(", ")} there, or pass --runtime or --dockerfile-path`);
}
