/**
 * Safe archive inspection and extraction, shared by the local control plane (UploadBuildContext and
 * SaveDraft validation, the drivers) and the CLI (`version code -O DIR`). Accepts tar.gz, plain tar and zip (detected by magic bytes); anything else is a single file.
 * Every entry is checked (archive-entry.ts) before anything is written.
 * The size limits count the bytes actually inflated and written, never only what a header declares:
 * a zip entry that inflates past its declared size (or CRC) is refused mid-stream, and the inflated
 * tar stream is metered against what its entries account for.
 */
import { createReadStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import * as tar from "tar";
import { ArchiveError, Collector, limitsOf, type ArchiveInfo, type ArchiveKind, type ArchiveLimits } from "./archive-entry.js";
import { extractZip, readZipDirectory } from "./zip-archive.js";

export {
  ArchiveError,
  archiveHasFile,
  Collector,
  DEFAULT_MAX_ENTRIES,
  DEFAULT_MAX_TOTAL_BYTES,
  limitsOf,
  safeEntryPath,
  type ArchiveEntryInfo,
  type ArchiveInfo,
  type ArchiveKind,
  type ArchiveLimits,
} from "./archive-entry.js";

/** Tar headers, pax records and padding one entry may add to the inflated stream beyond its body. */
const TAR_BYTES_PER_ENTRY = 12 * 1024;
/**
 * End-of-archive blocks and record padding (GNU tar pads to 10 KiB records). It also covers one
 * inflated chunk: the meter sees a chunk before the parser has counted the entries in it.
 */
const TAR_TRAILER_BYTES = 1024 * 1024;
/**
 * Inflated bytes per chunk. zlib's default (16 KiB) costs a thread-pool round trip and a stream
 * hop every 16 KiB: inflating and listing a 200 MB context took ~1.1 s more CPU than with this
 * size (bench/save-speed.mjs). At most half of TAR_TRAILER_BYTES, so the meter's lag fits.
 */
export const INFLATE_CHUNK_BYTES = 512 * 1024;

/** A gunzip stream with the chunk size every archive reader here uses. */
export function gunzip(): zlib.Gunzip {
  return zlib.createGunzip({ chunkSize: INFLATE_CHUNK_BYTES });
}

export async function detectArchiveKind(file: string): Promise<ArchiveKind> {
  const fh = await fsp.open(file, "r");
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    const b = head.subarray(0, bytesRead);
    if (b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && (b[3] === 4 || b[3] === 6)) return "zip";
    if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) {
      // A gzip stream: a tar inside it, or one compressed file.
      const first = await gunzipPrefix(file, 512);
      return isTarHeader(first) ? "tar.gz" : "file";
    }
    if (isTarHeader(b)) return "tar";
    return "file";
  } finally {
    await fh.close();
  }
}

/** Whether a 512-byte block is a tar header (ustar magic, or an old v7 header with a valid checksum). */
export function isTarHeader(b: Buffer): boolean {
  if (b.length < 512) return false;
  const magic = b.subarray(257, 262).toString("latin1");
  if (magic === "ustar") return true;
  // Old v7 tar: verify the header checksum.
  const stored = parseInt(b.subarray(148, 156).toString("latin1").replace(/\0.*$/, "").trim(), 8);
  if (!Number.isFinite(stored)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  return sum === stored && b[0] !== 0;
}

async function gunzipPrefix(file: string, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  const src = createReadStream(file);
  const gz = zlib.createGunzip();
  try {
    src.pipe(gz);
    for await (const c of gz) {
      chunks.push(c as Buffer);
      total += (c as Buffer).length;
      if (total >= n) break;
    }
  } catch {
    // truncated/corrupt gzip: report what we have
  } finally {
    src.destroy();
    gz.destroy();
  }
  return Buffer.concat(chunks).subarray(0, n);
}

/** Lists and validates every entry without writing anything. Throws ArchiveError on the first bad one. */
export async function inspectArchive(file: string, limits: ArchiveLimits = {}): Promise<ArchiveInfo> {
  const kind = await detectArchiveKind(file);
  const c = new Collector(limitsOf(limits));
  if (kind === "file") {
    const name = singleName(limits.singleFileName);
    const st = await fsp.stat(file);
    c.add(name, "File", st.size);
  } else if (kind === "zip") {
    for (const e of await readZipDirectory(file)) c.add(e.name, e.type, e.size, e.linkTarget);
  } else {
    await listTar(file, kind, c);
  }
  return { kind, entries: c.entries, totalSize: c.totalSize };
}

/**
 * Lists a tar (or tar.gz) through our own inflater and meter: the parser stops at the first refused
 * entry, and inflated bytes beyond what the entries seen so far account for (a bomb after the end
 * marker, a huge meta header) are refused as soon as they appear.
 */
async function listTar(file: string, kind: ArchiveKind, c: Collector): Promise<void> {
  let failure: unknown;
  const warnings: string[] = [];
  const { meter, sink } = meteredTarListing(c, {
    stopped: () => failure !== undefined,
    onRefused: (err) => (failure = err),
    onBadArchive: (msg) => warnings.push(msg),
  });
  try {
    await pipeline(tarBytes(file, kind), meter, sink);
  } catch (err) {
    if (!failure) {
      if (err instanceof ArchiveError) throw err;
      throw new ArchiveError(`the context is not a readable ${kind} archive: ${(err as Error).message}`);
    }
  }
  if (failure) throw failure;
  if (warnings.length) throw new ArchiveError(`the context is not a valid ${kind} archive: ${warnings[0]}`);
}

/** What a metered tar listing tells its caller (one of the inspectors: a file, or an upload as it arrives). */
export interface TarListingEvents {
  /** True once the caller's listing has failed: later entries are not collected. */
  stopped(): boolean;
  /** The collector refused an entry (the meter is destroyed with the same error). */
  onRefused(err: unknown): void;
  /** tar reported the archive itself as broken. */
  onBadArchive(msg: string): void;
}

/**
 * The meter and tar parser every tar listing goes through: entries go to the collector until the
 * first refusal, and inflated bytes beyond what the entries seen so far account for are refused.
 */
export function meteredTarListing(c: Collector, events: TarListingEvents): { meter: InflatedMeter; sink: NodeJS.WritableStream } {
  const meter = listingMeter(c);
  const parser = tar.t({
    zstd: false,
    brotli: false,
    maxMetaEntrySize: 64 * 1024,
    // The filter sees every entry the parser keeps, at its header; saying no lets the parser skip
    // the body instead of streaming it through an entry nobody reads (~10% of a listing's CPU).
    filter: (_path, stat) => {
      if (events.stopped()) return false;
      const e = stat as tar.ReadEntry; // a parser's filter is given its ReadEntry
      try {
        c.add(e.path, e.type, e.size ?? 0, e.linkpath);
      } catch (err) {
        events.onRefused(err);
        meter.destroy(err as Error);
      }
      return false;
    },
    onwarn: (code, msg) => {
      if (code === "TAR_BAD_ARCHIVE" || code === "TAR_ABORT" || code === "TAR_ENTRY_INVALID") events.onBadArchive(String(msg));
    },
  });
  return { meter, sink: parser as unknown as NodeJS.WritableStream };
}

/** The meter of a listing in progress: inflated bytes beyond what the entries collected so far account for are refused. */
export function listingMeter(c: Collector): InflatedMeter {
  return new InflatedMeter(() => c.totalSize + (c.entries.length + 1) * TAR_BYTES_PER_ENTRY + TAR_TRAILER_BYTES, c.maxTotalBytes);
}

/** The file's tar bytes: inflated by us for tar.gz, so the meter sees what was actually inflated. */
function tarBytes(file: string, kind: ArchiveKind): Readable {
  const raw = createReadStream(file);
  return kind === "tar.gz" ? raw.pipe(gunzip()).on("close", () => raw.destroy()) : raw;
}

/** Passes bytes through, failing the stream once more than `budget()` bytes went by. */
export class InflatedMeter extends Transform {
  private seen = 0;
  constructor(
    private readonly budget: () => number,
    private readonly limit: number,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.budget()) {
      done(new ArchiveError(`archive inflates to more than its entries account for (limit ${this.limit} bytes)`));
      return;
    }
    done(null, chunk);
  }
}

function singleName(name: string | undefined): string {
  const base = path.posix.basename((name ?? "").replace(/\\/g, "/"));
  if (!base || base === "." || base === "..") return "source";
  return base;
}

/**
 * Validates then extracts `file` into `dest` (created if missing). After extraction every symlink
 * is re-checked with realpath so chains of links cannot leave `dest`.
 */
export async function extractArchive(file: string, dest: string, limits: ArchiveLimits = {}): Promise<ArchiveInfo> {
  const info = await inspectArchive(file, limits);
  await fsp.mkdir(dest, { recursive: true });
  const root = await fsp.realpath(dest);
  try {
    if (info.kind === "file") {
      await fsp.copyFile(file, path.join(root, info.entries[0]!.path));
    } else if (info.kind === "zip") {
      await extractZip(file, root);
    } else {
      // The same meter as the listing, fixed to what the listing found: extraction never inflates more.
      const budget = info.totalSize + (info.entries.length + 1) * TAR_BYTES_PER_ENTRY + TAR_TRAILER_BYTES;
      const unpack = tar.x({ cwd: root, strict: true, preserveOwner: false, noMtime: false, unlink: true, zstd: false, brotli: false, maxMetaEntrySize: 64 * 1024 });
      await pipeline(tarBytes(file, info.kind), new InflatedMeter(() => budget, budget), unpack as unknown as NodeJS.WritableStream);
    }
  } catch (err) {
    if (err instanceof ArchiveError) await fsp.rm(root, { recursive: true, force: true });
    throw err;
  }
  await verifyTree(root);
  return info;
}

/** Fails when any symlink under root resolves (after following chains) outside root. */
export async function verifyTree(root: string): Promise<void> {
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    for (const d of await fsp.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, d.name);
      if (d.isSymbolicLink()) {
        let real: string;
        try {
          real = await fsp.realpath(full);
        } catch {
          continue; // dangling link: harmless
        }
        if (real !== root && !real.startsWith(root + path.sep)) {
          const rel = path.relative(root, full);
          await fsp.rm(root, { recursive: true, force: true });
          throw new ArchiveError(`archive entry '${rel}' is a symlink that resolves outside the context directory`);
        }
      } else if (d.isDirectory()) {
        stack.push(full);
      } else if (!d.isFile()) {
        const rel = path.relative(root, full);
        await fsp.rm(root, { recursive: true, force: true });
        throw new ArchiveError(`archive entry '${rel}' is not a regular file, directory or symlink`);
      }
    }
  }
}
