/**
 * The exclusive lock on a data directory: one control plane per data dir. Two planes on one dir
 * would each "clean up what a previous run left" at start-up (containers, host processes, builds)
 * and so stop the other's apps, and would interleave writes to the same records.
 *
 * The lock is the file `<dataDir>/lock`, holding the owner's pid and the kernel's start time of that
 * process (field 22 of /proc/<pid>/stat), created with link(2), which fails when the file exists.
 * A lock whose process is gone, or whose pid now belongs to a process started at another time (pid
 * reuse after a reboot or wrap-around), is stale: it is taken over. Node has no flock(2) without a
 * native addon, hence a pid file; a kill -9 leaves it behind, and the start-time check is what
 * makes that harmless.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { promises as fsp } from "node:fs";
import * as path from "node:path";

export const LOCK_FILE = "lock";

interface LockRecord {
  pid: number;
  /** Clock ticks since boot when the process started; "" when /proc is not readable. */
  startTime: string;
  acquiredAtMs: number;
}

export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`data directory ${dataDir} is in use by pid ${pid} (another 'dodil ignite dev'); stop it or use another --data-dir`);
  }
}

/** The start time of a live process, "" when unknown; undefined when no such process exists. */
export function processStartTime(pid: number): string | undefined {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to someone else
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return undefined;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name (field 2) may contain spaces and parentheses: count from the last ')'
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? "";
  } catch {
    return "";
  }
}

function parseLock(text: string): LockRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<LockRecord>;
    if (typeof r.pid === "number" && Number.isInteger(r.pid) && r.pid > 0 && typeof r.startTime === "string") return r as LockRecord;
  } catch {
    // torn or foreign content: treated as stale
  }
  return undefined;
}

/** The pid holding the lock, or undefined when the lock is absent or stale. */
export function lockOwner(rec: LockRecord | undefined): number | undefined {
  if (!rec) return undefined;
  const started = processStartTime(rec.pid);
  if (started === undefined) return undefined;
  if (rec.startTime && started && started !== rec.startTime) return undefined;
  return rec.pid;
}

export class DataDirLock {
  private constructor(
    private readonly file: string,
    private readonly content: string,
  ) {}

  /**
   * Takes the lock of `dataDir` for this process, taking over a stale one; DataDirInUseError when a
   * live process holds it (this process included: a second plane in one process is refused too).
   */
  static async acquire(dataDir: string): Promise<DataDirLock> {
    const file = path.join(dataDir, LOCK_FILE);
    const rec: LockRecord = { pid: process.pid, startTime: processStartTime(process.pid) ?? "", acquiredAtMs: Date.now() };
    const content = JSON.stringify(rec) + "\n";
    const tmp = path.join(dataDir, `.lock.${process.pid}.${randomBytes(6).toString("hex")}`);
    await fsp.writeFile(tmp, content, { mode: 0o600 });
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await fsp.link(tmp, file);
          return new DataDirLock(file, content);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        }
        const held = await fsp.readFile(file, "utf8").catch(() => undefined);
        if (held === undefined) continue; // released meanwhile
        const owner = lockOwner(parseLock(held));
        if (owner !== undefined) throw new DataDirInUseError(dataDir, owner);
        // Stale: move it aside, and put it back if what was moved is not what was judged stale
        // (another plane replaced it in between).
        const aside = `${tmp}.stale`;
        try {
          await fsp.rename(file, aside);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
          throw e;
        }
        const moved = await fsp.readFile(aside, "utf8").catch(() => "");
        if (moved !== held) {
          await fsp.link(aside, file).catch(() => undefined);
          await fsp.rm(aside, { force: true });
          continue;
        }
        await fsp.rm(aside, { force: true });
      }
      throw new Error(`cannot take the lock ${file}: it keeps changing (several control planes starting on one data directory?)`);
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }

  /** Removes the lock if it is still this one. */
  async release(): Promise<void> {
    const held = await fsp.readFile(this.file, "utf8").catch(() => undefined);
    if (held === this.content) await fsp.rm(this.file, { force: true });
  }
}
