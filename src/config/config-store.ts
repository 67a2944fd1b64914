import { chmodSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { basename, dirname, extname } from "node:path";
import { CliError } from "../errors.js";
import type { ConfigKey, ConfigScope, ContextKey } from "./config-keys.js";
import type { ConfigLocation } from "./paths.js";

type ConfigTree = Partial<Record<ConfigScope, Partial<Record<ConfigKey, string>>>> & {
  /** Named sets of connection settings (`config context create`). */
  contexts?: Record<string, Partial<Record<ContextKey, string>>>;
  /** The context in use when neither --context nor $DODIL_CONTEXT names one. */
  current_context?: string;
} & Record<string, unknown>;
type ConfWriter = { set(key: string, value: unknown): void; delete(key: string): void };

/**
 * The YAML config file. Reads parse the YAML directly (every command reads; loading `conf` costs
 * more than the rest of start-up); writes go through `conf` (atomic, mode 0600). Keys live under
 * `ignite.*` and fall back to `global.*`; other sections (other dodil products) are kept untouched.
 * `contexts.<name>.*` holds named connection settings and `current_context` the one in use.
 * A corrupt file is an error naming the file and line, never silently replaced.
 */
export class ConfigStore {
  private writer: ConfWriter | undefined;

  private constructor(
    readonly location: ConfigLocation,
    private tree: ConfigTree,
  ) {}

  static async open(location: ConfigLocation): Promise<ConfigStore> {
    let text = "";
    try {
      text = existsSync(location.file) ? readFileSync(location.file, "utf8") : "";
    } catch (error) {
      throw unreadableConfig(location.file, error);
    }
    // No file (configuration from flags and environment only): nothing to parse, no yaml to load.
    return new ConfigStore(location, text.trim() === "" ? {} : parseTree(await loadYaml(), text, location.file));
  }

  /** The raw value of one key in one section, or undefined. */
  get(scope: ConfigScope, key: ConfigKey): string | undefined {
    const value = this.tree[scope]?.[key];
    return value === undefined || value === null ? undefined : String(value);
  }

  /** Every context, by name. */
  contexts(): Record<string, Partial<Record<ContextKey, string>>> {
    return this.tree.contexts ?? {};
  }

  /** One key of one context, or undefined. */
  contextValue(name: string, key: ContextKey): string | undefined {
    const value = this.tree.contexts?.[name]?.[key];
    return value === undefined || value === null ? undefined : String(value);
  }

  currentContext(): string | undefined {
    const value = this.tree.current_context;
    return typeof value === "string" && value !== "" ? value : undefined;
  }

  /** Writes a context whole (replacing one of the same name). */
  async setContext(name: string, values: Partial<Record<ContextKey, string>>): Promise<void> {
    await this.write((conf) => conf.set(`contexts.${name}`, values));
  }

  /** One key of a context (a renewed token). */
  async setContextValue(name: string, key: ContextKey, value: string): Promise<void> {
    await this.write((conf) => conf.set(`contexts.${name}.${key}`, value));
  }

  async deleteContext(name: string): Promise<void> {
    await this.write((conf) => {
      conf.delete(`contexts.${name}`);
      if (this.currentContext() === name) conf.delete("current_context");
    });
  }

  /** Selects the context used by default; undefined selects none (the ignite.* and global.* keys). */
  async useContext(name: string | undefined): Promise<void> {
    await this.write((conf) => (name === undefined ? conf.delete("current_context") : conf.set("current_context", name)));
  }

  async set(scope: ConfigScope, key: ConfigKey, value: string): Promise<void> {
    await this.write((conf) => conf.set(`${scope}.${key}`, value));
  }

  async unset(scope: ConfigScope, key: ConfigKey): Promise<boolean> {
    if (this.get(scope, key) === undefined) return false;
    await this.write((conf) => conf.delete(`${scope}.${key}`));
    return true;
  }

  private async write(change: (conf: ConfWriter) => void): Promise<void> {
    const file = this.location.file;
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const YAML = await loadYaml();
    this.writer ??= await openConf(file, YAML);
    change(this.writer);
    // conf applies the mode only when it creates the file; tighten files created by others too.
    if (existsSync(file)) chmodSync(file, 0o600);
    this.tree = parseTree(YAML, readFileSync(file, "utf8"), file);
  }
}

async function loadYaml(): Promise<typeof import("yaml")> {
  const loaded = await import("yaml");
  // In the bundled CLI, yaml is CommonJS and its API may sit under `default` only.
  return "parse" in loaded ? loaded : (loaded as { default: typeof loaded }).default;
}

async function openConf(file: string, YAML: typeof import("yaml")): Promise<ConfWriter> {
  const { default: Conf } = await import("conf");
  const extension = extname(file);
  return new Conf<ConfigTree>({
    cwd: dirname(file),
    configName: basename(file, extension),
    fileExtension: extension.replace(/^\./, ""),
    configFileMode: 0o600,
    clearInvalidConfig: false,
    serialize: (value) => YAML.stringify(value),
    deserialize: (text) => parseTree(YAML, text, file),
  });
}

function parseTree(YAML: typeof import("yaml"), text: string, file: string): ConfigTree {
  let parsed: unknown;
  try {
    parsed = text.trim() === "" ? {} : YAML.parse(text, { prettyErrors: true });
  } catch (error) {
    throw unreadableConfig(file, error);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw unreadableConfig(file, new Error("the top level must be a mapping of sections (ignite:, global:)"));
  }
  const contexts = (parsed as Record<string, unknown>).contexts;
  if (contexts !== undefined && (contexts === null || typeof contexts !== "object" || Array.isArray(contexts) || Object.values(contexts).some((c) => c === null || typeof c !== "object" || Array.isArray(c)))) {
    throw unreadableConfig(file, new Error('section "contexts" must map each context name to a mapping of keys to values'));
  }
  for (const scope of ["ignite", "global"] as const) {
    const section = (parsed as Record<string, unknown>)[scope];
    if (section !== undefined && (section === null || typeof section !== "object" || Array.isArray(section))) {
      throw unreadableConfig(file, new Error(`section "${scope}" must be a mapping of keys to values`));
    }
  }
  return parsed as ConfigTree;
}

function unreadableConfig(file: string, error: unknown): CliError {
  if (error instanceof CliError) return error;
  const detail = error instanceof Error ? error.message.split("\n")[0] : String(error);
  return new CliError("USAGE", `config file ${file} cannot be read: ${detail}`, {
    hint: "fix or remove the file; it was left unchanged",
  });
}
