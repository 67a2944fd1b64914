/**
 * Deterministic, streaming tar.gz packing of a build context.
 *
 * Two ways to use it:
 * - `packBuildContext(root, opts)`: packs into a private temp file (mode 0600 in a
 *   fresh `mkdtemp` directory under os.tmpdir()) and resolves with the digest, so the
 *   caller can ask the server whether it already has that digest before uploading;
 *   then `readChunks()` streams the file in ~1 MiB pieces; the caller must `cleanup()`.
 * - `streamBuildContext(root, opts)`: no temp file; `chunks` yields ~1 MiB Buffers as
 *   they are compressed and `done` resolves with the digest once they are consumed.
 *
 * Determinism: entries come sorted from `collectFiles`; every header has the same
 * mtime, uid/gid 0, empty owner names and a normalised mode; the gzip header has
 * mtime 0, no name, and OS byte 3 (Unix) whatever the platform; compression level is
 * fixed (6). The tar is compressed as a series of gzip members, one per 1 MiB of tar
 * (fixed offsets), several at a time (parallel-gzip.ts); the bytes do not depend on how
 * many run at once. A tar under 1 MiB is a single member. The digest is over the compressed bytes; `tarDigest` is over the
 * uncompressed tar, which stays stable even if a future zlib compresses differently.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { collectFiles } from "./collect-files.js";
import type { CollectOptions, CollectResult, ContextEntry, ExcludedEntry } from "./collect-files.js";
import { BufferPool, DEFAULT_GZIP_MEMBER_SIZE, parallelGzip } from "./parallel-gzip.js";
import { tarStream } from "./tar-writer.js";

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
export const DEFAULT_GZIP_LEVEL = 6;

export interface PackOptions extends CollectOptions {
  /** gzip level 0-9. Default 6. Part of the determinism contract: changing it changes the digest. */
  gzipLevel?: number;
  /**
   * Uncompressed tar bytes per gzip member. Default 1 MiB. Part of the determinism
   * contract: the tar is cut every `gzipMemberSize` bytes and each piece becomes one
   * gzip member, so changing it changes the digest.
   */
  gzipMemberSize?: number;
  /**
   * Gzip members compressed at the same time. Default: one more than the cores, at most 3. Does not
   * change the archive bytes.
   */
  gzipConcurrency?: number;
  /**
   * Size of the Buffers yielded by `chunks`/`readChunks`. Default for `readChunks` 1 MiB; for
   * `chunks`, one Buffer per gzip member as it comes (at most `gzipMemberSize` plus about 0.01%),
   * which saves re-cutting them.
   */
  chunkSize?: number;
  /**
   * Also compute `tarDigest`, a second sha256 over the uncompressed tar (a third pass over
   * the data, ~0.4 s of CPU per 100 MiB here): for tests and tools, not for an upload.
   */
  hashTar?: boolean;
  /** Directory for the temp file (packBuildContext only). Default os.tmpdir(). */
  tmpDir?: string;
  /** Entry mtime in seconds since the epoch. Default 499162500 (1985-10-26T08:15:00Z). */
  mtime?: number;
}

export interface PackSummary {
  /** `sha256:<hex>` of the tar.gz bytes. */
  digest: string;
  /** `sha256:<hex>` of the uncompressed tar, when `hashTar` was set. */
  tarDigest?: string;
  archiveBytes: number;
  /** Number of regular files in the archive. */
  fileCount: number;
  /** Sum of regular-file sizes before compression. */
  totalBytes: number;
}

export interface CollectedContext {
  root: string;
  files: ContextEntry[];
  excluded: ExcludedEntry[];
  warnings: string[];
  fileCount: number;
  totalBytes: number;
  ignoreFile?: string;
  dockerfile?: string;
}

export interface PackedContext extends CollectedContext, PackSummary {
  /** Absolute path of the tar.gz; removed by `cleanup()`. */
  archivePath: string;
  /** Streams the archive in `chunkSize` Buffers (default: the pack's chunk size). */
  readChunks(chunkSize?: number): AsyncGenerator<Buffer, void, undefined>;
  /** Deletes the temp file and its directory. Safe to call twice. */
  cleanup(): Promise<void>;
}

export interface StreamedContext extends CollectedContext {
  /** The tar.gz in `chunkSize` Buffers (last one shorter). Iterate once. */
  chunks: AsyncIterable<Buffer>;
  /** Resolves when `chunks` has been fully consumed; rejects if packing failed. */
  done: Promise<PackSummary>;
}

function summaryOf(collected: CollectResult): CollectedContext {
  const out: CollectedContext = {
    root: collected.root,
    files: collected.files,
    excluded: collected.excluded,
    warnings: collected.warnings,
    fileCount: collected.files.filter((f) => f.type === "file").length,
    totalBytes: collected.totalBytes,
  };
  if (collected.ignoreFile) out.ignoreFile = collected.ignoreFile;
  if (collected.dockerfile) out.dockerfile = collected.dockerfile;
  return out;
}

/** Re-chunks a byte stream into Buffers of exactly `size` bytes (the last may be shorter). */
export async function* rechunk(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer, void, undefined> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (const piece of source) {
    let buf = piece;
    while (buf.length > 0) {
      const take = Math.min(size - have, buf.length);
      parts.push(buf.subarray(0, take));
      have += take;
      buf = buf.subarray(take);
      if (have === size) {
        yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
        parts = [];
        have = 0;
      }
    }
  }
  if (have > 0) yield Buffer.concat(parts, have);
}

interface Meter {
  gzHash: ReturnType<typeof createHash>;
  tarHash: ReturnType<typeof createHash> | undefined;
  /** Compressed bytes out. */
  bytes: number;
  /** Uncompressed tar bytes handed to the compressor so far (progress). */
  tarBytes: number;
}

function summary(meter: Meter, collected: CollectedContext): PackSummary {
  const out: PackSummary = {
    digest: `sha256:${meter.gzHash.digest("hex")}`,
    archiveBytes: meter.bytes,
    fileCount: collected.fileCount,
    totalBytes: collected.totalBytes,
  };
  if (meter.tarHash) out.tarDigest = `sha256:${meter.tarHash.digest("hex")}`;
  return out;
}

/** The compressed stream of an already-collected context, hashed and counted into `meter`. */
async function* gzipChunks(collected: CollectResult, options: PackOptions, meter: Meter): AsyncGenerator<Buffer, void, undefined> {
  const memberSize = options.gzipMemberSize ?? DEFAULT_GZIP_MEMBER_SIZE;
  // Tar chunks go back to the pool once compressed and are refilled: 1 GB packed
  // without reuse left ~40 MB of dead Buffers waiting for the GC.
  const pool = new BufferPool(memberSize, 8);
  const tarOpts = {
    chunkSize: memberSize, // so each tar chunk is exactly one gzip member's input
    allocChunk: () => pool.take(),
    ...(options.mtime !== undefined ? { mtime: options.mtime } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const tar = tarStream(collected.root, collected.files, tarOpts);
  async function* tapTar(): AsyncGenerator<Buffer, void, undefined> {
    for await (const chunk of tar) {
      meter.tarHash?.update(chunk);
      meter.tarBytes += chunk.length;
      yield chunk;
    }
  }
  const members = parallelGzip(tapTar(), {
    level: options.gzipLevel ?? DEFAULT_GZIP_LEVEL,
    memberSize,
    pool,
    ...(options.gzipConcurrency !== undefined ? { concurrency: options.gzipConcurrency } : {}),
  });
  for await (const member of members) {
    meter.bytes += member.length;
    meter.gzHash.update(member);
    yield member;
  }
}

function newMeter(options: PackOptions): Meter {
  return { gzHash: createHash("sha256"), tarHash: options.hashTar ? createHash("sha256") : undefined, bytes: 0, tarBytes: 0 };
}

/** Packs `root` into a temp tar.gz and returns its digest and the collected listing. */
export async function packBuildContext(root: string, options: PackOptions = {}): Promise<PackedContext> {
  return packCollected(await collectFiles(root, options), options);
}

/** Packs an already-collected listing into a temp tar.gz (packBuildContext without the walk). */
export async function packCollected(collected: CollectResult, options: PackOptions = {}): Promise<PackedContext> {
  const info = summaryOf(collected);
  const dir = await mkdtemp(path.join(options.tmpDir ?? os.tmpdir(), "ignite-context-"));
  const archivePath = path.join(dir, "context.tar.gz");
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const meter = newMeter(options);
  try {
    await pipeline(Readable.from(gzipChunks(collected, options, meter), { objectMode: false }), createWriteStream(archivePath, { mode: 0o600, flags: "wx" }));
  } catch (err) {
    await cleanup();
    throw err;
  }
  const defaultChunk = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  return {
    ...info,
    ...summary(meter, info),
    archivePath,
    readChunks: (chunkSize = defaultChunk) => readFileChunks(archivePath, chunkSize),
    cleanup,
  };
}

/** Packs `root` as a stream; the digest is known once the stream is consumed. */
export async function streamBuildContext(root: string, options: PackOptions = {}): Promise<StreamedContext> {
  const collected = await collectFiles(root, options);
  return { ...summaryOf(collected), ...streamCollected(collected, options) };
}

/**
 * Packs an already-collected listing as a stream. Each call packs afresh (the same listing
 * gives the same bytes while the files are unchanged), so a failed upload can be sent again
 * without a temp file.
 */
export function streamCollected(collected: CollectResult, options: PackOptions = {}): Pick<StreamedContext, "chunks" | "done"> & { packedBytes(): number } {
  const info = summaryOf(collected);
  const meter = newMeter(options);
  let resolve!: (s: PackSummary) => void;
  let reject!: (e: unknown) => void;
  const done = new Promise<PackSummary>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  done.catch(() => {}); // the caller may only look at `chunks`
  let started = false;
  async function* chunks(): AsyncGenerator<Buffer, void, undefined> {
    if (started) throw new Error("streamBuildContext: chunks can be iterated only once");
    started = true;
    let finished = false;
    try {
      const members = gzipChunks(collected, options, meter);
      yield* options.chunkSize === undefined ? members : rechunk(members, options.chunkSize);
      finished = true;
      resolve(summary(meter, info));
    } catch (err) {
      reject(err);
      throw err;
    } finally {
      if (!finished) reject(new Error("build context stream was not fully consumed"));
    }
  }
  return { chunks: chunks(), done, packedBytes: () => meter.tarBytes };
}

/**
 * An upper bound of the tar.gz size of a listing, known before packing: every entry's header
 * with room for a PAX header, its data in whole blocks, the end blocks and record padding, plus
 * deflate's worst case (5 bytes a stored block of 65,535, a few bytes a run and a member). A
 * caller can apply a size limit before streaming an archive whose exact size comes last.
 */
export function maxArchiveBytes(files: readonly ContextEntry[], memberSize = DEFAULT_GZIP_MEMBER_SIZE): number {
  const block = (n: number) => Math.ceil(n / 512) * 512;
  let tar = 1024 + 10240;
  for (const f of files) {
    const names = Buffer.byteLength(f.path) + Buffer.byteLength(f.linkTarget ?? "");
    tar += 1024 + block(3 * names + 128) + (f.type === "file" ? block(f.size) : 0);
  }
  const members = Math.max(1, Math.ceil(tar / memberSize));
  return tar + Math.ceil(tar / 2048) + members * 512;
}

/** Reads a file as Buffers of `chunkSize` bytes (the last may be shorter). */
export async function* readFileChunks(
  filePath: string,
  chunkSize: number = DEFAULT_CHUNK_SIZE,
): AsyncGenerator<Buffer, void, undefined> {
  yield* rechunk(createReadStream(filePath, { highWaterMark: Math.min(chunkSize, 1024 * 1024) }), chunkSize);
}

/** `sha256:<hex>` of a file's bytes, streamed. */
export async function sha256File(filePath: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(filePath)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

export type ArchiveKind = "tar.gz" | "tar" | "zip";

/** The archive kind implied by a file name (`.tar.gz`, `.tgz`, `.tar`, `.zip`, case-insensitive). */
export function archiveKindFromName(filePath: string): ArchiveKind | undefined {
  const name = path.basename(filePath).toLowerCase();
  if (name.endsWith(".tar.gz") || name.endsWith(".tgz")) return "tar.gz";
  if (name.endsWith(".tar")) return "tar";
  if (name.endsWith(".zip")) return "zip";
  return undefined;
}

/** The archive kind given by a file's magic bytes, or undefined. */
export async function detectArchiveKind(filePath: string): Promise<ArchiveKind | undefined> {
  const fh = await open(filePath, "r");
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "tar.gz";
    if (bytesRead >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && head[3] === head[2] + 1) {
      return "zip";
    }
    if (bytesRead >= 262 && head.toString("latin1", 257, 262) === "ustar") return "tar";
    return undefined;
  } finally {
    await fh.close();
  }
}

/**
 * True when the file's name has an archive extension and its content starts with the
 * matching magic bytes (gzip for .tar.gz/.tgz, `ustar` for .tar, `PK` for .zip).
 * False for directories, missing files, and mismatches such as a text file named `x.tgz`.
 */
export async function isArchiveFile(filePath: string): Promise<boolean> {
  const byName = archiveKindFromName(filePath);
  if (!byName) return false;
  try {
    return (await detectArchiveKind(filePath)) === byName;
  } catch {
    return false;
  }
}
