import { readInfoYaml } from "../core/info-yaml.js";
import { UsageError } from "../errors.js";
import type { CommandContext } from "./command-context.js";

/** What an app-id argument says when it may be left out. */
export const APP_ID_OR_MANIFEST = "org:app, org/app or app (default: the name: in ./info.yaml)";

/**
 * The app a command means: the id on the command line, which always wins, or else the `name:` of
 * the info.yaml in the current directory (as `fly.toml` names a Fly app), said so on stderr.
 */
export async function appIdOrManifest(id: string, ctx: CommandContext): Promise<string> {
  if (id !== "") return id;
  const info = await readInfoYaml(ctx.cwd, ".");
  if (!info?.name) {
    throw new UsageError(info ? `no app id given, and ${info.shown} has no name: line` : "no app id given, and there is no info.yaml here naming one", {
      hint: "pass the app id, or run this in a directory whose info.yaml has `name: <app>`",
    });
  }
  ctx.output.info(`app ${info.name}, from ${info.shown}`);
  return info.name;
}

/** Whether the current directory has an info.yaml naming an app (then --code defaults to it). */
export async function manifestDirectory(ctx: CommandContext): Promise<boolean> {
  return (await readInfoYaml(ctx.cwd, ".").catch(() => undefined))?.name !== undefined;
}
