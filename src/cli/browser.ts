import { spawn } from "node:child_process";
import { readEnv, type Env } from "../config/env.js";

/**
 * Opens `url` in a browser, if this machine can show one: $BROWSER when set, else `open` (macOS),
 * `cmd /c start` (Windows) or `xdg-open` with a display (DISPLAY / WAYLAND_DISPLAY). Returns the
 * program started, or undefined when there is none (a server, an SSH session, CI). The browser is
 * left running on its own; only a failure to start it is waited for.
 */
export async function launchBrowser(url: string, env: Env, platform: NodeJS.Platform = process.platform): Promise<string | undefined> {
  const command = browserCommand(env, platform);
  if (!command) return undefined;
  const [program, ...args] = command;
  return new Promise((resolve) => {
    const child = spawn(program as string, [...args, url], { detached: true, stdio: "ignore", env: { ...env } });
    child.once("error", () => resolve(undefined));
    child.once("spawn", () => {
      child.unref();
      resolve(program);
    });
  });
}

function browserCommand(env: Env, platform: NodeJS.Platform): string[] | undefined {
  const browser = readEnv(env, "BROWSER");
  if (browser) return [browser];
  if (platform === "darwin") return ["open"];
  if (platform === "win32") return ["cmd", "/c", "start", '""'];
  return readEnv(env, "DISPLAY") || readEnv(env, "WAYLAND_DISPLAY") ? ["xdg-open"] : undefined;
}
