import { join, resolve } from "node:path";

/** The data directory `dev` and `dev doctor` use: --data-dir, else ~/.local/share/dodil/ignite-dev. */
export function devDataDir(flag: string | undefined, ctx: { cwd: string; home: string }): string {
  return resolve(ctx.cwd, flag ?? join(ctx.home, ".local", "share", "dodil", "ignite-dev"));
}
