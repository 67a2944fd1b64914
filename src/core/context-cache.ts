import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CollectResult } from "../build-context/collect-files.js";
import { DEFAULT_GZIP_LEVEL } from "../build-context/pack-tar.js";

/**
 * Remembers, per context directory, the digest of the archive its files packed to, keyed by a
 * signature of every packed entry's path, type, size, mode, mtime and inode (as git's index does).
 * A second `draft save` of an unchanged tree then walks and stats the files but skips packing, and
 * sends nothing when the server already has that digest. The signature is made from the same walk
 * (and the same lstat of each entry) that the pack then uses.
 */
export interface CachedContext {
  digest: string;
  archiveBytes: number;
  fileCount: number;
  totalBytes: number;
}

interface CacheEntry extends CachedContext {
  signature: string;
}

/** Changes whenever the packer's output for the same files could change. */
const PACK_FORMAT = `tar+gzip-members/1MiB/level${DEFAULT_GZIP_LEVEL}/stored-64KiB-windows/node-zlib-${process.versions.zlib}`;
/** Files modified this recently may change again within the same mtime tick: never trust them. */
const RACY_MS = 2000;

export interface ContextKey {
  root: string;
  dockerfilePath: string | undefined;
  defaultExcludes: boolean;
}

/**
 * The signature of what a walk (`collectFiles` of the key's root and options) found, or undefined
 * when an entry is too fresh to trust; `walkedAtMs` is when the walk began.
 */
export function contextSignature(collected: CollectResult, walkedAtMs: number): string | undefined {
  const hash = createHash("sha256").update(PACK_FORMAT);
  for (const entry of collected.files) {
    const { mtimeMs, ino } = entry.changed;
    if (walkedAtMs - mtimeMs < RACY_MS) return undefined;
    hash.update(`${entry.path}\0${entry.type}\0${entry.size}\0${entry.mode}\0${entry.linkTarget ?? ""}\0${mtimeMs}\0${ino}\n`);
  }
  return hash.digest("hex");
}

function entryFile(cacheDir: string, key: ContextKey): string {
  const id = createHash("sha256").update(JSON.stringify([key.root, key.dockerfilePath ?? "", key.defaultExcludes])).digest("hex").slice(0, 32);
  return join(cacheDir, `${id}.json`);
}

/** The cached digest of the tree as it is now, if nothing in it changed since it was recorded. */
export async function lookupContext(cacheDir: string, key: ContextKey, signature: string): Promise<CachedContext | undefined> {
  try {
    const entry = JSON.parse(await readFile(entryFile(cacheDir, key), "utf8")) as CacheEntry;
    if (entry.signature !== signature || !/^sha256:[0-9a-f]{64}$/.test(entry.digest)) return undefined;
    return { digest: entry.digest, archiveBytes: entry.archiveBytes, fileCount: entry.fileCount, totalBytes: entry.totalBytes };
  } catch {
    return undefined;
  }
}

/** Records what the tree with this signature packed to (atomically; a failure only costs a later re-pack). */
export async function rememberContext(cacheDir: string, key: ContextKey, signature: string, packed: CachedContext): Promise<void> {
  const file = entryFile(cacheDir, key);
  try {
    await mkdir(cacheDir, { recursive: true, mode: 0o700 });
    const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
    await writeFile(temp, JSON.stringify({ signature, ...packed } satisfies CacheEntry), { mode: 0o600 });
    await rename(temp, file);
  } catch {
    // The cache is an optimisation only.
  }
}
