import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { runRootOf } from "../../src/local/drivers/host-sandbox.js";

/**
 * Live processes whose working directory is inside the data dir `dir` or its run root (the host
 * driver runs apps in the data dir, or as root in sandboxes under the run root).
 */
export function processesUnder(dir: string): number[] {
  const roots = [dir, runRootOf(dir) + "/"];
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cwd = readlinkSync(`/proc/${p}/cwd`);
        return roots.some((r) => cwd.startsWith(r)) && isRunning(Number(p));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Whether a process exists and is not a zombie waiting to be reaped. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/**
 * Where a test reaches port `port` of the host-driver app process `pid`: the unix socket of its own
 * network namespace (drivers/app-network.ts) when it runs in one, else the host's loopback.
 */
export function appPortAddress(dataDir: string, pid: number, port: number): { path: string } | { host: string; port: number } {
  const ns = spawnSync("ip", ["netns", "identify", String(pid)], { encoding: "utf8" }).stdout?.trim();
  return ns ? { path: `${dataDir}/run/net/${ns}/${port}.sock` } : { host: "127.0.0.1", port };
}
