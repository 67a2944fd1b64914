import { execFileSync } from "node:child_process";

/** Why the Deno managed runtime cannot be tested here, or "" (the machine's deno compiles it). */
export const denoMissing = (() => {
  try {
    execFileSync("deno", ["--version"], { stdio: "ignore" });
    return "";
  } catch {
    return "deno is not installed; CI installs it (npm install -g deno@<DENO_VERSION>)";
  }
})();
