// The host driver runs each instance as its own process group, so a stop reaches everything the
// app started; a recorded group is only signalled while its leader is the same process (start time).
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { readJson, writeJson } from "../atomic-fs.js";
import { errorMessage } from "../errors.js";

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

interface ProcessRecord {
  pid: number;
  /** The leader's start time (/proc/<pid>/stat field 22), which tells a reused pid apart. */
  startTicks: string;
  command: string;
}

/**
 * The running process groups, one record each (pid and start time) in a directory of the data dir,
 * removed when the group's leader exits. A control plane that was killed (SIGKILL, a crash) leaves
 * its apps running: the next one stops the recorded groups that are still alive.
 */
export class ProcessRecords {
  constructor(private readonly dir: string) {}

  /** Stops the groups a previous control plane on this data dir left running, and forgets every record. */
  async stopLeftovers(log?: (line: string) => void): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    for (const name of await fsp.readdir(this.dir)) {
      const file = path.join(this.dir, name);
      const rec = await readJson<ProcessRecord>(file).catch(() => undefined); // a torn record: nothing to stop
      if (rec && Number.isInteger(rec.pid) && rec.pid > 1) {
        const now = await processStartTicks(rec.pid);
        // The leader is gone: the group's number cannot be reused while members remain, so any
        // process still in it is a leftover. The leader is alive with the recorded start time: it
        // is the app. Otherwise the pid belongs to another process now: leave it alone.
        if (now === undefined || now === rec.startTicks) {
          if (killGroup(rec.pid, "SIGKILL")) log?.(`stopped an app process left by a previous run: pid ${rec.pid} (${rec.command})`);
        }
      }
      await fsp.rm(file, { force: true });
    }
  }

  /** Records a started group until `exited` settles; a record that cannot be written is logged, not fatal. */
  async keep(group: { pid: number; command: string; exited: Promise<unknown> }, log: (line: string) => void): Promise<void> {
    const file = path.join(this.dir, `${group.pid}.json`);
    const rec: ProcessRecord = { pid: group.pid, startTicks: (await processStartTicks(group.pid)) ?? "", command: group.command.slice(0, 200) };
    await writeJson(file, rec).catch((e: unknown) => log(`cannot record the process (${errorMessage(e)}): a killed control plane would leave it running`));
    void group.exited.then(() => fsp.rm(file, { force: true }).catch(() => undefined));
  }
}
