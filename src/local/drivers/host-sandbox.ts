/**
 * Users of their own for the host driver's apps (issue 14), where the plane runs as root: every app
 * (org/app) runs under a uid and gid of its own, derived from the plane and the app's name, so no
 * app can read, write or signal another app or the plane. The data dir stays 0700 root: an app
 * cannot open anything in it. What the app needs is copied out of it, into a run root that only
 * lets its own gid in:
 *
 *   /run/dodil-ignite/<plane>/                  0711 root        (no listing)
 *     images/<build>/rootfs                     0750 root:<gid>  (the image filesystem, read-only to the app)
 *     instances/<instance>/                     0750 root:<gid>
 *       home/                                   0700 <uid>:<gid> ($HOME, $TMPDIR)
 *       bin/                                    0755 root        (the driver's shims)
 *     compiles/<compile>/                       0700 <uid>:<gid> (a managed-runtime compile of the
 *                                                                  org's compile user, compile:<org>)
 *
 * A shared uid (every image saying USER 65534) would let apps of two organizations read each other's
 * files and signal each other's processes, so the image's USER is checked (numeric, not root) but
 * not used as the host uid.
 */
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { run } from "./exec.js";

/** Where the run roots of planes running as root live. */
export const RUN_ROOT_BASE = "/run/dodil-ignite";
/** App uids and gids are FIRST_UID + a hash: above the ranges distributions and subuid maps hand out. */
const FIRST_UID = 3_000_000;
const UID_SPAN = 1_000_000_000;

/** The run root of the plane on `dataDir`: where its apps' sandboxes are. */
export function runRootOf(dataDir: string): string {
  return path.join(RUN_ROOT_BASE, createHash("sha256").update(path.resolve(dataDir)).digest("hex").slice(0, 16));
}

export interface AppSandbox {
  uid: number;
  gid: number;
  /** The image filesystem the app runs in (its working directory and absolute paths). */
  rootfs: string;
  home: string;
  /** A directory for the driver's shims (e.g. `python` -> python3), first on PATH. */
  bin: string;
  /** Removes the instance's directories. */
  remove(): Promise<void>;
}

export class HostSandboxes {
  private readonly root: string;
  private readonly copies = new Map<string, Promise<string>>();

  private readonly planeLabel: string;

  constructor(dataDir: string) {
    this.root = runRootOf(dataDir);
    this.planeLabel = path.basename(this.root);
  }

  /** Why apps cannot get users of their own here ("" when they can). */
  static missing(): string {
    return process.getuid?.() === 0 ? "" : `the control plane runs as uid ${process.getuid?.() ?? "?"}, not root, so it cannot run apps as other users`;
  }

  /** The sandboxes of the plane on `dataDir`, its run root fresh; undefined where apps cannot get users of their own. */
  static async open(dataDir: string): Promise<HostSandboxes | undefined> {
    if (HostSandboxes.missing()) return undefined;
    const s = new HostSandboxes(dataDir);
    await s.init();
    return s;
  }

  /** A fresh run root (what a killed plane left is removed). */
  async init(): Promise<void> {
    await fsp.rm(this.root, { recursive: true, force: true });
    for (const dir of [RUN_ROOT_BASE, this.root, path.join(this.root, "images"), path.join(this.root, "instances"), path.join(this.root, "compiles")]) {
      await fsp.mkdir(dir, { recursive: true });
      await fsp.chmod(dir, 0o711);
    }
  }

  /** The uid (and gid) of an app: the same across restarts of this plane, distinct between apps and planes. */
  uid(owner: string): number {
    const h = createHash("sha256").update(`${this.planeLabel}\0${owner}`).digest();
    return FIRST_UID + (h.readUInt32BE(0) % UID_SPAN);
  }

  /** The sandbox of one instance of `owner`'s image at `imageDir` (its rootfs copied once per image). */
  async prepare(owner: string, imageDir: string, instance: string): Promise<AppSandbox> {
    const uid = this.uid(owner);
    const gid = uid;
    const rootfs = await this.imageCopy(imageDir, gid);
    const dir = path.join(this.root, "instances", instance);
    await fsp.mkdir(dir, { mode: 0o750 });
    await fsp.chown(dir, 0, gid);
    await fsp.chmod(dir, 0o750);
    const home = path.join(dir, "home");
    await fsp.mkdir(home, { mode: 0o700 });
    await fsp.chown(home, uid, gid);
    const bin = path.join(dir, "bin");
    await fsp.mkdir(bin, { mode: 0o755 });
    return { uid, gid, rootfs, home, bin, remove: () => fsp.rm(dir, { recursive: true, force: true }) };
  }

  /**
   * A directory of `owner`'s own for one compile (managed-runtime/toolchain-sandbox.ts):
   * `compiles/<name>/` (0700 <uid>:<gid>), where the compile's user may work.
   */
  async workspace(owner: string, name: string): Promise<{ uid: number; gid: number; dir: string; remove(): Promise<void> }> {
    const uid = this.uid(owner);
    const dir = path.join(this.root, "compiles", name);
    await fsp.mkdir(dir, { mode: 0o700 });
    await fsp.chown(dir, uid, uid);
    return { uid, gid: uid, dir, remove: () => fsp.rm(dir, { recursive: true, force: true }) };
  }

  /** Removes the copy of an image (when the image is removed). */
  async removeImage(imageDir: string): Promise<void> {
    this.copies.delete(imageDir);
    await fsp.rm(path.join(this.root, "images", path.basename(imageDir)), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    this.copies.clear();
    await fsp.rm(this.root, { recursive: true, force: true });
  }

  private imageCopy(imageDir: string, gid: number): Promise<string> {
    let p = this.copies.get(imageDir);
    if (!p) {
      p = (async () => {
        const dir = path.join(this.root, "images", path.basename(imageDir));
        await fsp.rm(dir, { recursive: true, force: true });
        await fsp.mkdir(dir, { mode: 0o750 });
        await fsp.chown(dir, 0, gid);
        await fsp.chmod(dir, 0o750);
        // cp -a keeps modes, links and timestamps; files stay root's, so the app reads but cannot change them
        const r = await run("cp", ["-a", "--", path.join(imageDir, "rootfs"), path.join(dir, "rootfs")], { timeoutMs: 120_000 });
        if (r.code !== 0) throw new Error(`cannot copy the image filesystem: ${r.stderr.trim()}`);
        // the app's group may read everything of its image (a file COPY left 0600 included), write nothing
        const g = await run("sh", ["-c", 'chgrp -R -- "$1" "$2" && chmod -R g+rX,g-w -- "$2"', "sh", String(gid), path.join(dir, "rootfs")], { timeoutMs: 120_000 });
        if (g.code !== 0) throw new Error(`cannot hand the image filesystem to the app's group: ${g.stderr.trim()}`);
        return path.join(dir, "rootfs");
      })();
      this.copies.set(imageDir, p);
      p.catch(() => this.copies.delete(imageDir));
    }
    return p;
  }
}

/** The entries of a PATH that a user other than their owners can enter (every ancestor searchable by others). */
export async function pathForOthers(pathVar: string): Promise<string> {
  const keep: string[] = [];
  for (const dir of pathVar.split(":")) {
    if (dir && path.isAbsolute(dir) && (await othersCanEnter(dir))) keep.push(dir);
  }
  return keep.join(":");
}

async function othersCanEnter(dir: string): Promise<boolean> {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const st = await fsp.stat(d).catch(() => undefined);
    if (!st || !(st.mode & 0o001)) return false;
    if (d === path.dirname(d)) return true;
  }
}

/**
 * Kills every process running as `uid` (real uid, as the host sees it), until none is left: what a
 * sandboxed command started in a namespace of its own (a user namespace made without privileges,
 * out of reach of `ip netns pids`) must not outlive it. A few rounds, for processes forking meanwhile.
 */
export async function killUserProcesses(uid: number): Promise<number> {
  let killed = 0;
  for (let round = 0; round < 5; round++) {
    let found = 0;
    for (const pid of await fsp.readdir("/proc").catch(() => [] as string[])) {
      if (!/^\d+$/.test(pid)) continue;
      const status = await fsp.readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
      if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1) !== uid) continue;
      found++;
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone already
      }
    }
    killed += found;
    if (!found) break;
  }
  return killed;
}
