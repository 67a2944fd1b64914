/**
 * What `dodil ignite dev doctor` says about a data directory: the disk each kind of state uses and
 * the files in quarantine. Read-only, so it works while a plane runs on the directory.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { Quarantine, type QuarantinedFile } from "./quarantine.js";

/** The kinds of state, by top-level entry of the data dir (store.ts has the layout). */
const KINDS: Record<string, string> = {
  orgs: "app, version, draft, secret and execution records",
  blobs: "code archives (content-addressed)",
  builds: "build records and logs",
  images: "built images (host driver)",
  containers: "container storage (podman)",
  instances: "instance logs and home directories",
  cache: "compile caches",
  quarantine: "quarantined state files",
  tmp: "uploads in progress",
};

export interface KindUsage {
  kind: string;
  what: string;
  bytes: number;
}

export interface DataDirReport {
  dataDir: string;
  exists: boolean;
  totalBytes: number;
  usage: KindUsage[];
  quarantined: QuarantinedFile[];
}

/**
 * Disk used under `p` (allocated blocks, so sparse files count what they use), not following
 * symlinks and not crossing into other filesystems: a running container's overlay mount would
 * otherwise count its whole image again.
 */
export async function diskUsage(p: string, dev?: number): Promise<number> {
  const st = await fsp.lstat(p).catch(() => undefined);
  if (!st || (dev !== undefined && st.dev !== dev)) return 0;
  let total = st.blocks * 512;
  if (st.isDirectory()) {
    const names = await fsp.readdir(p).catch(() => [] as string[]);
    for (const n of names) total += await diskUsage(path.join(p, n), st.dev);
  }
  return total;
}

export async function dataDirReport(dataDir: string): Promise<DataDirReport> {
  const names = await fsp.readdir(dataDir).catch(() => undefined);
  if (!names) return { dataDir, exists: false, totalBytes: 0, usage: [], quarantined: [] };
  const byKind = new Map<string, number>();
  for (const n of names) {
    const kind = KINDS[n] ? n : "other";
    byKind.set(kind, (byKind.get(kind) ?? 0) + (await diskUsage(path.join(dataDir, n))));
  }
  const usage = [...byKind].map(([kind, bytes]) => ({ kind, what: KINDS[kind] ?? "keys, tokens, certificates and the lock", bytes })).sort((a, b) => b.bytes - a.bytes);
  return { dataDir, exists: true, totalBytes: usage.reduce((s, u) => s + u.bytes, 0), usage, quarantined: await new Quarantine(dataDir).list() };
}
