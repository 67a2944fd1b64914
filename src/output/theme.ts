import type { ChalkInstance } from "chalk";

/**
 * Styles for one stream, bound to its colour decision (never chalk's global default). Without
 * colour, styles are the identity and chalk is not loaded at all: most scripted runs (pipes,
 * -o json, CI) never pay for chalk and its terminal detection.
 */
export async function createTheme(color: boolean): Promise<ChalkInstance> {
  if (!color) return PLAIN;
  const { Chalk } = await import("chalk");
  return new Chalk({ level: 1 });
}

/**
 * What chalk at level 0 does: every style, chained or not, returns its arguments joined by spaces.
 * Not a thenable (`then` is undefined), so it can be the value of a promise.
 */
const PLAIN: ChalkInstance = new Proxy((...text: unknown[]) => text.join(" "), {
  get(target, key) {
    if (key === "level") return 0;
    if (key === "then" || typeof key === "symbol" || key in target) return Reflect.get(target, key);
    return PLAIN;
  },
}) as unknown as ChalkInstance;
