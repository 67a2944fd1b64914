import { UsageError } from "../errors.js";

/** The largest --limit a list command accepts (0: the server's default or all). */
export const MAX_LIST_LIMIT = 999_999;

/**
 * The one parser of numeric flags (--limit, --temperature, --top-n …): a number within [min, max]
 * (a whole one when `integer`), else a usage error naming the flag and the range. Absent: undefined.
 */
export function parseNumberFlag(text: string | undefined, flag: string, min: number, max: number, integer = false): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new UsageError(`invalid value "${text}" for ${flag}: use ${integer ? "a whole number" : "a number"} from ${min} to ${max}`);
  }
  return value;
}
