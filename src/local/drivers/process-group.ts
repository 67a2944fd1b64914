// The host driver runs each instance as its own process group, so a stop reaches everything the
// app started; a recorded group is only signalled while its leader is the same process (start time).
import { promises as fsp } from "node:fs";

/** Signals a process group (or the process alone); false when nothing was there. */
export function killGroup(pid: number, sig: NodeJS.Signals | string): boolean {
  try {
    process.kill(-pid, sig as NodeJS.Signals);
    return true;
  } catch {
    try {
      process.kill(pid, sig as NodeJS.Signals);
      return true;
    } catch {
      return false; // already gone
    }
  }
}

/** A process's start time in clock ticks since boot (/proc/<pid>/stat field 22); undefined when it does not exist. */
export async function processStartTicks(pid: number): Promise<string | undefined> {
  const stat = await fsp.readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (stat === undefined) return undefined;
  // fields after the command name, which is in parentheses and may hold spaces: state is field 3
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[22 - 3] ?? "";
}
