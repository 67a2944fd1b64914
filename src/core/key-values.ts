import { UsageError } from "../errors.js";

/** Parses repeatable KEY=VALUE flags (--env, --build-arg); the value may contain '='. */
export function parseKeyValues(items: readonly string[], flag: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    const key = eq < 0 ? item : item.slice(0, eq);
    if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) {
      throw new UsageError(`invalid ${flag} "${item}": use KEY=VALUE with KEY made of letters, digits and '_'`);
    }
    result[key] = item.slice(eq + 1);
  }
  return result;
}

/** Build args whose names suggest a secret; their values are never printed. */
export function looksSecret(key: string): boolean {
  return /(secret|token|password|passwd|pwd|key|credential|auth)/i.test(key);
}
