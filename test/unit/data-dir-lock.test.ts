import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DataDirInUseError, DataDirLock, LOCK_FILE, processStartTime } from "../../src/local/store/data-dir-lock.js";
import { tempDir } from "../helpers/temp-dirs.js";

const children: { kill(): void }[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill();
});

/** A live process other than this one (a sleeping node). */
async function liveProcess(): Promise<number> {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  children.push(child);
  await new Promise((resolve) => child.once("spawn", resolve));
  return child.pid!;
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

describe("data directory lock", () => {
  it("refuses a second owner while the first holds it, naming the directory and the pid", async () => {
    const dir = tempDir("lock");
    const first = await DataDirLock.acquire(dir);
    const second = DataDirLock.acquire(dir);
    await expect(second).rejects.toBeInstanceOf(DataDirInUseError);
    await expect(second).rejects.toThrow(`data directory ${dir} is in use by pid ${process.pid}`);
    await first.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    const again = await DataDirLock.acquire(dir);
    await again.release();
  });

  it("refuses a lock held by another live process", async () => {
    const dir = tempDir("lock");
    const pid = await liveProcess();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, startTime: processStartTime(pid), acquiredAtMs: 0 }));
    await expect(DataDirLock.acquire(dir)).rejects.toThrow(`is in use by pid ${pid}`);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")).pid).toBe(pid);
  });

  it("takes over the lock of a process that is gone", async () => {
    const dir = tempDir("lock");
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: await deadPid(), startTime: "1", acquiredAtMs: 0 }));
    const lock = await DataDirLock.acquire(dir);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")).pid).toBe(process.pid);
    await lock.release();
  });

  it("takes over a lock whose pid now belongs to a process started at another time (pid reuse)", async () => {
    const dir = tempDir("lock");
    const pid = await liveProcess();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, startTime: "1", acquiredAtMs: 0 }));
    const lock = await DataDirLock.acquire(dir);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")).pid).toBe(process.pid);
    await lock.release();
  });

  it("takes over a torn lock file", async () => {
    const dir = tempDir("lock");
    writeFileSync(join(dir, LOCK_FILE), '{"pid": 12');
    const lock = await DataDirLock.acquire(dir);
    await lock.release();
  });

  it("release leaves a lock that is not its own alone", async () => {
    const dir = tempDir("lock");
    const lock = await DataDirLock.acquire(dir);
    const other = JSON.stringify({ pid: await liveProcess(), startTime: "", acquiredAtMs: 1 });
    writeFileSync(join(dir, LOCK_FILE), other);
    await lock.release();
    expect(readFileSync(join(dir, LOCK_FILE), "utf8")).toBe(other);
  });
});
