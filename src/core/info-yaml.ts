import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { UsageError } from "../errors.js";
import { RUNTIMES, type RuntimeName, type RustOptions } from "./flag-choices.js";

/**
 * An app directory's info.yaml, the platform samples' manifest: the one reader of it. `name:` (the
 * app a bare `app deploy` means), `runtime:` (the managed runtime when no flag names one),
 * `description:`, `mcp_enabled:`, `input:`/`output:` (JSON Schema written as YAML), `env:` (the
 * names the app reads) and `test_input:` (the default payload of draft/version test). Other keys
 * are left alone. A file that is not YAML, or a key of the wrong shape, is a UsageError naming the
 * file and line.
 */
export interface InfoYaml {
  /** The file as the user would name it, e.g. `./app/info.yaml`. */
  shown: string;
  name: string | undefined;
  runtime: { runtime: RuntimeName; rust?: RustOptions } | undefined;
  description: string | undefined;
  mcpEnabled: boolean | undefined;
  /** `input:` as a JSON Schema string. */
  inputSchema: string | undefined;
  /** `output:` as a JSON Schema string. */
  outputSchema: string | undefined;
  /** `env:`: the environment variable names the app reads. */
  env: string[];
  /** `test_input:` as JSON text. */
  testInput: string | undefined;
}

export const INFO_YAML = "info.yaml";

/** The info.yaml of `dir` (`shownDir` as the user typed it), or undefined when there is none. */
export async function readInfoYaml(dir: string, shownDir: string): Promise<InfoYaml | undefined> {
  const text = await readFile(join(dir, INFO_YAML), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  return parseInfoYaml(text, join(shownDir, INFO_YAML));
}

export function parseInfoYaml(text: string, shown: string): InfoYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) throw new UsageError(`${shown}:${lines.linePos(first.pos[0]).line}: not valid YAML: ${first.message.split("\n")[0]}`);
  const root: unknown = doc.toJS({ maxAliasCount: 100 });
  if (root === null || root === undefined) return emptyInfo(shown);
  if (typeof root !== "object" || Array.isArray(root)) throw new UsageError(`${shown}:1: must be a mapping of keys (name:, runtime:, …)`);
  const top = root as Record<string, unknown>;
  /** The line where top-level `key` starts (1 when unknown). */
  const lineOf = (key: string): number => {
    const node = doc.contents && "items" in doc.contents ? (doc.contents.items as Array<{ key?: { value?: unknown; range?: [number, number, number] } }>).find((p) => p.key?.value === key) : undefined;
    return node?.key?.range ? lines.linePos(node.key.range[0]).line : 1;
  };
  const bad = (key: string, what: string): never => {
    throw new UsageError(`${shown}:${lineOf(key)}: ${key}: ${what}`);
  };
  const scalar = (key: string): string | undefined => {
    const v = top[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === "object") bad(key, "must be a single value");
    return String(v).trim() || undefined;
  };
  const schema = (key: string): string | undefined => {
    const v = top[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "object" || Array.isArray(v)) bad(key, "must be a JSON Schema written as a YAML mapping (type:, properties:, …)");
    return JSON.stringify(v);
  };
  const mcp = top["mcp_enabled"];
  if (mcp !== undefined && mcp !== null && typeof mcp !== "boolean") bad("mcp_enabled", "must be true or false");
  const env = top["env"];
  if (env !== undefined && env !== null && (!Array.isArray(env) || env.some((e) => typeof e !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(e)))) {
    bad("env", "must be a list of environment variable names");
  }
  const testInput = top["test_input"];
  return {
    shown,
    name: scalar("name"),
    runtime: parseRuntime(scalar("runtime"), `${shown}:${lineOf("runtime")}`),
    description: scalar("description"),
    mcpEnabled: typeof mcp === "boolean" ? mcp : undefined,
    inputSchema: schema("input"),
    outputSchema: schema("output"),
    env: Array.isArray(env) ? (env as string[]) : [],
    testInput: testInput === undefined || testInput === null ? undefined : JSON.stringify(testInput),
  };
}

function emptyInfo(shown: string): InfoYaml {
  return { shown, name: undefined, runtime: undefined, description: undefined, mcpEnabled: undefined, inputSchema: undefined, outputSchema: undefined, env: [], testInput: undefined };
}

/** `runtime: deno`, also `rust-native`/`rust-wasm` (the platform's labels). */
function parseRuntime(value: string | undefined, where: string): InfoYaml["runtime"] {
  if (!value) return undefined;
  if (value === "rust-native" || value === "rust-wasm") return { runtime: "rust", rust: { target: value === "rust-wasm" ? "wasm" : "native", toolchain: "" } };
  if ((RUNTIMES as readonly string[]).includes(value)) return { runtime: value as RuntimeName };
  throw new UsageError(`${where}: runtime: ${value}: use one of ${RUNTIMES.join(", ")} there, or pass --runtime or --dockerfile-path`);
}

/** The app settings a manifest gives where no flag does (flags win), and which of them it gave. */
export interface ManifestSettings {
  description?: string;
  mcpEnabled?: boolean;
  inputSchema?: string;
  outputSchema?: string;
}

export function manifestSettings(
  info: InfoYaml | undefined,
  flags: { description?: string | undefined; mcpEnabled?: boolean | undefined; inputSchema?: string | undefined; outputSchema?: string | undefined },
): { settings: ManifestSettings; fromFile: string[] } {
  const settings: ManifestSettings = {};
  const fromFile: string[] = [];
  if (!info) return { settings, fromFile };
  const keys = [
    ["description", "description"],
    ["mcpEnabled", "mcp_enabled"],
    ["inputSchema", "input"],
    ["outputSchema", "output"],
  ] as const;
  for (const [key, yamlKey] of keys) {
    if (flags[key] !== undefined || info[key] === undefined) continue;
    (settings as Record<string, unknown>)[key] = info[key];
    fromFile.push(yamlKey);
  }
  return { settings, fromFile };
}

/** The `env:` names of a manifest that `KEY=VALUE` entries do not set, in the file's order. */
export function unsetManifestEnv(info: InfoYaml | undefined, entries: readonly string[]): string[] {
  const set = new Set(entries.map((e) => e.split("=")[0]!.trim()));
  return (info?.env ?? []).filter((name) => !set.has(name));
}
