import { Chalk, type ChalkInstance } from "chalk";

/** A chalk instance bound to one stream's colour decision (never chalk's global default). */
export function createTheme(color: boolean): ChalkInstance {
  return new Chalk({ level: color ? 1 : 0 });
}
