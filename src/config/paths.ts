import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { readEnv, type Env } from "./env.js";

export const CONFIG_FILE_NAME = "config.yaml";

export interface ConfigLocation {
  /** Absolute path of the YAML file (it may not exist yet). */
  file: string;
  /** Why this file: the flag, the variable, or the search-order entry. */
  source: string;
}

/**
 * The config file to use. Order (reference §2.4): --config, $DODIL_CONFIG_DIR, $IGNITE_CONFIG_DIR,
 * then the first existing of ~/.config/unified-cli and ~/.ignite; a fresh machine gets
 * ~/.config/unified-cli. Computed per call so tests can point HOME elsewhere.
 */
export function locateConfigFile(options: { configFlag?: string | undefined; env: Env; home: string; cwd: string }): ConfigLocation {
  const { configFlag, env, home, cwd } = options;
  if (configFlag) {
    const target = resolve(cwd, configFlag);
    const isDir = existsSync(target) ? statSync(target).isDirectory() : !/\.ya?ml$/i.test(target);
    return { file: isDir ? join(target, CONFIG_FILE_NAME) : target, source: "--config" };
  }
  for (const name of ["DODIL_CONFIG_DIR", "IGNITE_CONFIG_DIR"] as const) {
    const dir = readEnv(env, name);
    if (dir) return { file: join(resolve(cwd, dir), CONFIG_FILE_NAME), source: `$${name}` };
  }
  const unified = join(home, ".config", "unified-cli");
  const legacy = join(home, ".ignite");
  if (!existsSync(join(unified, CONFIG_FILE_NAME)) && existsSync(join(legacy, CONFIG_FILE_NAME))) {
    return { file: join(legacy, CONFIG_FILE_NAME), source: "~/.ignite" };
  }
  return { file: join(unified, CONFIG_FILE_NAME), source: "~/.config/unified-cli" };
}
