import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { basename, dirname, extname } from "node:path";
import { CliError } from "../errors.js";
import type { ConfigKey, ConfigScope } from "./config-keys.js";
import type { ConfigLocation } from "./paths.js";

type ConfigTree = Partial<Record<ConfigScope, Partial<Record<ConfigKey, string>>>> & Record<string, unknown>;

/**
 * The YAML config file, read and written through `conf` (atomic writes). Keys live under
 * `ignite.*` and fall back to `global.*`. Other top-level sections (other dodil products) are kept
 * untouched. A corrupt file is an error naming the file, never silently replaced.
 */
export class ConfigStore {
  private constructor(
    readonly location: ConfigLocation,
    private readonly conf: { store: ConfigTree; set(key: string, value: unknown): void; delete(key: string): void },
  ) {}

  static async open(location: ConfigLocation): Promise<ConfigStore> {
    const [{ default: Conf }, YAML] = await Promise.all([import("conf"), import("yaml")]);
    const file = location.file;
    const extension = extname(file);
    try {
      const conf = new Conf<ConfigTree>({
        cwd: dirname(file),
        configName: basename(file, extension),
        fileExtension: extension.replace(/^\./, ""),
        configFileMode: 0o600,
        clearInvalidConfig: false,
        serialize: (value) => YAML.stringify(value),
        deserialize: (text) => {
          const parsed: unknown = text.trim() === "" ? {} : YAML.parse(text, { prettyErrors: true });
          if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
            throw new Error("the top level must be a mapping of sections (ignite:, global:)");
          }
          return parsed as ConfigTree;
        },
      });
      const store = new ConfigStore(location, conf);
      store.checkShape();
      return store;
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw unreadableConfig(file, error);
    }
  }

  /** The raw value of one key in one section, or undefined. */
  get(scope: ConfigScope, key: ConfigKey): string | undefined {
    const value = this.conf.store[scope]?.[key];
    return value === undefined || value === null ? undefined : String(value);
  }

  set(scope: ConfigScope, key: ConfigKey, value: string): void {
    this.write(() => this.conf.set(`${scope}.${key}`, value));
  }

  unset(scope: ConfigScope, key: ConfigKey): boolean {
    if (this.get(scope, key) === undefined) return false;
    this.write(() => this.conf.delete(`${scope}.${key}`));
    return true;
  }

  private write(change: () => void): void {
    mkdirSync(dirname(this.location.file), { recursive: true, mode: 0o700 });
    change();
    // conf applies the mode only when it creates the file; tighten files created by others too.
    if (existsSync(this.location.file)) chmodSync(this.location.file, 0o600);
  }

  private checkShape(): void {
    for (const scope of ["ignite", "global"] as const) {
      const section = this.conf.store[scope];
      if (section !== undefined && (section === null || typeof section !== "object" || Array.isArray(section))) {
        throw unreadableConfig(this.location.file, new Error(`section "${scope}" must be a mapping of keys to values`));
      }
    }
  }
}

function unreadableConfig(file: string, error: unknown): CliError {
  const detail = error instanceof Error ? error.message.split("\n")[0] : String(error);
  return new CliError("USAGE", `config file ${file} cannot be read: ${detail}`, {
    hint: "fix or remove the file; it was left unchanged",
  });
}
