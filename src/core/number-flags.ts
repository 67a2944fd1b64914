import { UsageError } from "../errors.js";

/** The range a numeric flag accepts; `integer`: whole numbers only. */
export interface NumberRange {
  min: number;
  max: number;
  integer?: boolean;
}

/** --limit of a list command: a whole number up to 999,999; 0 means the server's default or all. */
export const LIST_LIMIT: NumberRange = { min: 0, max: 999_999, integer: true };

/**
 * The one parser of numeric flags (--limit, --temperature, --top-n …): a number within [min, max]
 * (a whole one when `integer`), else a usage error naming the flag and the range. Absent: undefined.
 */
export function parseNumberFlag(text: string | undefined, flag: string, { min, max, integer = false }: NumberRange): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new UsageError(`invalid value "${text}" for ${flag}: use ${integer ? "a whole number" : "a number"} from ${min} to ${max}`);
  }
  return value;
}
