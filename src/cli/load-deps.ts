/** Loads src/cli/deps.ts on first use (see there for why). */
export const loadDeps = () => import("./deps.js");
