/**
 * Safe archive inspection and extraction, shared by the local control plane (UploadBuildContext and
 * SaveDraft validation, the drivers) and the CLI (`version code -O DIR`). Accepts tar.gz, plain tar and zip (detected by magic bytes); anything else is a single file.
 * Every entry is checked before anything is written: no `..` components, no absolute paths, no links
 * that resolve outside the root, no devices or FIFOs, bounded entry count and total size.
 * The size limits count the bytes actually inflated and written, never only what a header declares:
 * a zip entry that inflates past its declared size (or CRC) is refused mid-stream, and the inflated
 * tar stream is metered against what its entries account for.
 */
import { createReadStream, createWriteStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import * as tar from "tar";

/** A build-context archive that must not be extracted (traversal, links out, devices, limits). */
export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArchiveError";
  }
}

export type ArchiveKind = "tar.gz" | "tar" | "zip" | "file";

export interface ArchiveEntryInfo {
  /** Normalised relative path (no leading "./", no trailing "/"). */
  path: string;
  type: "file" | "dir" | "symlink" | "hardlink";
  size: number;
  linkTarget?: string;
}

export interface ArchiveInfo {
  kind: ArchiveKind;
  entries: ArchiveEntryInfo[];
  totalSize: number;
}

export interface ArchiveLimits {
  maxEntries?: number;
  maxTotalBytes?: number;
  /** File name used when the archive is a single plain file. */
  singleFileName?: string;
}

export const DEFAULT_MAX_ENTRIES = 100_000;
export const DEFAULT_MAX_TOTAL_BYTES = 4 * 1024 ** 3;
const MAX_PATH_BYTES = 4000;
const MAX_PATH_DEPTH = 256;
/** Tar headers, pax records and padding one entry may add to the inflated stream beyond its body. */
const TAR_BYTES_PER_ENTRY = 12 * 1024;
/** End-of-archive blocks and record padding (GNU tar pads to 10 KiB records). */
const TAR_TRAILER_BYTES = 1024 * 1024;

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

/** Validates one entry path; returns it normalised, or "" for the root itself. */
export function safeEntryPath(raw: string): string {
  if (raw.includes("\0")) throw new ArchiveError(`archive entry '${printable(raw)}' has a NUL byte in its name`);
  const p = raw.replace(/\\/g, "/");
  if (p.startsWith("/") || /^[A-Za-z]:/.test(p)) throw new ArchiveError(`archive entry '${printable(raw)}' has an absolute path`);
  const parts = p.split("/").filter((s) => s !== "" && s !== ".");
  if (parts.includes("..")) throw new ArchiveError(`archive entry '${printable(raw)}' escapes the context directory ('..')`);
  const joined = parts.join("/");
  // Linux refuses longer paths (PATH_MAX) and names (NAME_MAX) with ENAMETOOLONG halfway through an
  // extraction; say so up front instead.
  if (Buffer.byteLength(joined) > MAX_PATH_BYTES || parts.length > MAX_PATH_DEPTH) {
    throw new ArchiveError(`archive entry '${printable(raw)}…' is nested too deep (over ${MAX_PATH_DEPTH} directories or ${MAX_PATH_BYTES} bytes)`);
  }
  if (parts.some((part) => Buffer.byteLength(part) > 255)) throw new ArchiveError(`archive entry '${printable(raw)}…' has a name over 255 bytes`);
  return joined;
}

function checkLinkTarget(entry: string, target: string, hard: boolean): void {
  if (!target) throw new ArchiveError(`archive entry '${printable(entry)}' is a link without a target`);
  if (hard) {
    try {
      safeEntryPath(target);
    } catch {
      throw new ArchiveError(`archive entry '${printable(entry)}' is a hard link to '${printable(target)}', outside the context directory`);
    }
    return;
  }
  const t = target.replace(/\\/g, "/");
  if (t.startsWith("/") || /^[A-Za-z]:/.test(t)) {
    throw new ArchiveError(`archive entry '${printable(entry)}' is a symlink to the absolute path '${printable(target)}'`);
  }
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(entry), t));
  if (resolved === ".." || resolved.startsWith("../")) {
    throw new ArchiveError(`archive entry '${printable(entry)}' is a symlink to '${printable(target)}', outside the context directory`);
  }
}

function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, "?").slice(0, 300);
}

/** Checks and collects entries against the limits; shared by the file and the streamed listings. */
export class Collector {
  entries: ArchiveEntryInfo[] = [];
  totalSize = 0;
  constructor(private limits: Required<Pick<ArchiveLimits, "maxEntries" | "maxTotalBytes">>) {}
  get maxTotalBytes(): number {
    return this.limits.maxTotalBytes;
  }
  add(rawPath: string, type: string, size: number, linkTarget?: string): void {
    let t: ArchiveEntryInfo["type"];
    switch (type) {
      case "File":
      case "OldFile":
      case "ContiguousFile":
        t = "file";
        break;
      case "Directory":
        t = "dir";
        break;
      case "SymbolicLink":
        t = "symlink";
        break;
      case "Link":
        t = "hardlink";
        break;
      case "CharacterDevice":
      case "BlockDevice":
      case "FIFO":
        throw new ArchiveError(`archive entry '${printable(rawPath)}' is a ${type === "FIFO" ? "FIFO" : "device file"}; only files, directories and links are allowed`);
      default:
        // pax/GNU metadata headers are consumed by the parser; anything else is refused
        throw new ArchiveError(`archive entry '${printable(rawPath)}' has an unsupported type (${type})`);
    }
    const p = safeEntryPath(rawPath);
    if (t === "symlink" || t === "hardlink") checkLinkTarget(p, linkTarget ?? "", t === "hardlink");
    if (p === "") return;
    if (this.entries.length >= this.limits.maxEntries) {
      throw new ArchiveError(`archive has more than ${this.limits.maxEntries} entries`);
    }
    this.totalSize += size;
    if (this.totalSize > this.limits.maxTotalBytes) {
      throw new ArchiveError(`archive expands to more than ${this.limits.maxTotalBytes} bytes`);
    }
    this.entries.push({ path: p, type: t, size, ...(linkTarget !== undefined ? { linkTarget } : {}) });
  }
}

export function limitsOf(l: ArchiveLimits) {
  return {
    maxEntries: l.maxEntries ?? DEFAULT_MAX_ENTRIES,
    maxTotalBytes: l.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES,
  };
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
  const meter = new InflatedMeter(() => c.totalSize + (c.entries.length + 1) * TAR_BYTES_PER_ENTRY + TAR_TRAILER_BYTES, c.maxTotalBytes);
  const parser = tar.t({
    zstd: false,
    brotli: false,
    maxMetaEntrySize: 64 * 1024,
    onReadEntry: (e) => {
      if (events.stopped()) return;
      try {
        c.add(e.path, e.type, e.size ?? 0, e.linkpath);
      } catch (err) {
        events.onRefused(err);
        meter.destroy(err as Error);
      }
    },
    onwarn: (code, msg) => {
      if (code === "TAR_BAD_ARCHIVE" || code === "TAR_ABORT" || code === "TAR_ENTRY_INVALID") events.onBadArchive(String(msg));
    },
  });
  return { meter, sink: parser as unknown as NodeJS.WritableStream };
}

/** The file's tar bytes: inflated by us for tar.gz, so the meter sees what was actually inflated. */
function tarBytes(file: string, kind: ArchiveKind): Readable {
  const raw = createReadStream(file);
  return kind === "tar.gz" ? raw.pipe(zlib.createGunzip()).on("close", () => raw.destroy()) : raw;
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

/**
 * Counts one zip entry's inflated bytes against what its central directory declared (and so against
 * the archive's limits, which were checked on declared sizes), and checks its CRC-32 at the end.
 */
class ZipEntryMeter extends Transform {
  private seen = 0;
  private crc = 0;
  constructor(private readonly entry: ZipEntry) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.entry.size) {
      done(new ArchiveError(`zip entry '${printable(this.entry.name)}' inflates to more than the ${this.entry.size} bytes it declares`));
      return;
    }
    this.crc = zlib.crc32(chunk, this.crc);
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    if (this.seen !== this.entry.size) {
      done(new ArchiveError(`zip entry '${printable(this.entry.name)}' inflates to ${this.seen} bytes, not the ${this.entry.size} it declares`));
    } else if (this.crc >>> 0 !== this.entry.crc) {
      done(new ArchiveError(`zip entry '${printable(this.entry.name)}' is corrupt (CRC-32 mismatch)`));
    } else done();
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

// ---- zip ----

interface ZipEntry {
  name: string;
  type: string;
  size: number;
  compressedSize: number;
  crc: number;
  method: number;
  localOffset: number;
  mode: number;
  linkTarget?: string;
}

async function readZipDirectory(file: string): Promise<ZipEntry[]> {
  const fh = await fsp.open(file, "r");
  try {
    const { size } = await fh.stat();
    const tailLen = Math.min(size, 65_557);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === 0x06054b50) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new ArchiveError("the context is not a valid zip archive (no end of central directory)");
    const count = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || cdOffset === 0xffffffff) throw new ArchiveError("zip64 archives are not supported; use tar.gz");
    if (cdOffset + cdSize > size) throw new ArchiveError("the context is not a valid zip archive (bad central directory)");
    const cd = Buffer.alloc(cdSize);
    await fh.read(cd, 0, cdSize, cdOffset);
    const out: ZipEntry[] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) throw new ArchiveError("the context is not a valid zip archive (bad central directory entry)");
      const method = cd.readUInt16LE(p + 10);
      const crc = cd.readUInt32LE(p + 16);
      const compressedSize = cd.readUInt32LE(p + 20);
      const uncompressed = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const external = cd.readUInt32LE(p + 38);
      const localOffset = cd.readUInt32LE(p + 42);
      const name = cd.subarray(p + 46, p + 46 + nameLen).toString("utf8");
      p += 46 + nameLen + extraLen + commentLen;
      if (compressedSize === 0xffffffff || uncompressed === 0xffffffff) throw new ArchiveError("zip64 archives are not supported; use tar.gz");
      const mode = (external >>> 16) & 0xffff;
      const fmt = mode & 0o170000;
      let type = name.endsWith("/") ? "Directory" : "File";
      if (fmt === 0o120000) type = "SymbolicLink";
      else if (fmt === 0o040000) type = "Directory";
      else if (fmt === 0o020000) type = "CharacterDevice";
      else if (fmt === 0o060000) type = "BlockDevice";
      else if (fmt === 0o010000) type = "FIFO";
      if (method !== 0 && method !== 8) throw new ArchiveError(`zip entry '${printable(name)}' uses unsupported compression method ${method}`);
      if (method === 0 && compressedSize !== uncompressed) {
        throw new ArchiveError(`zip entry '${printable(name)}' is stored uncompressed but declares ${uncompressed} bytes for ${compressedSize}`);
      }
      const e: ZipEntry = { name, type, size: uncompressed, compressedSize, crc, method, localOffset, mode };
      if (type === "SymbolicLink") e.linkTarget = (await readZipData(fh, e)).toString("utf8");
      out.push(e);
    }
    return out;
  } finally {
    await fh.close();
  }
}

async function zipDataOffset(fh: fsp.FileHandle, e: ZipEntry): Promise<number> {
  const h = Buffer.alloc(30);
  await fh.read(h, 0, 30, e.localOffset);
  if (h.readUInt32LE(0) !== 0x04034b50) throw new ArchiveError(`zip entry '${printable(e.name)}' has a bad local header`);
  return e.localOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
}

async function readZipData(fh: fsp.FileHandle, e: ZipEntry): Promise<Buffer> {
  if (e.compressedSize > 1024 * 1024) throw new ArchiveError(`zip entry '${printable(e.name)}' is too large for a link`);
  const start = await zipDataOffset(fh, e);
  const buf = Buffer.alloc(e.compressedSize);
  await fh.read(buf, 0, e.compressedSize, start);
  // A link target is a path: bounded like one, whatever the entry claims to inflate to.
  const target = e.method === 8 ? inflateBounded(buf, e) : buf;
  if (target.length !== e.size) throw new ArchiveError(`zip entry '${printable(e.name)}' inflates to ${target.length} bytes, not the ${e.size} it declares`);
  return target;
}

function inflateBounded(buf: Buffer, e: ZipEntry): Buffer {
  try {
    return zlib.inflateRawSync(buf, { maxOutputLength: MAX_PATH_BYTES + 1 });
  } catch (err) {
    throw new ArchiveError(`zip entry '${printable(e.name)}' is not a valid link (${(err as Error).message})`);
  }
}

async function extractZip(file: string, root: string): Promise<void> {
  const entries = await readZipDirectory(file);
  const fh = await fsp.open(file, "r");
  try {
    for (const e of entries) {
      const rel = safeEntryPath(e.name);
      if (rel === "") continue;
      const target = path.join(root, rel);
      await ensureParentInside(root, target);
      if (e.type === "Directory") {
        await fsp.mkdir(target, { recursive: true });
      } else if (e.type === "SymbolicLink") {
        await fsp.rm(target, { force: true, recursive: true });
        await fsp.symlink(e.linkTarget!, target);
      } else {
        await fsp.rm(target, { force: true, recursive: true });
        const start = await zipDataOffset(fh, e);
        const src = createReadStream(file, { start, end: start + e.compressedSize - 1 });
        const mode = e.mode & 0o777 ? (e.mode & 0o777) | 0o600 : 0o644;
        const out = createWriteStream(target, { mode });
        if (e.compressedSize === 0) {
          src.destroy();
          if (e.size !== 0) throw new ArchiveError(`zip entry '${printable(e.name)}' has no data but declares ${e.size} bytes`);
          await new Promise<void>((r, j) => out.on("close", () => r()).on("error", j).end());
        } else if (e.method === 8) await pipeline(src, zlib.createInflateRaw(), new ZipEntryMeter(e), out);
        else await pipeline(src, new ZipEntryMeter(e), out);
      }
    }
  } finally {
    await fh.close();
  }
}

/** Creates the parents of target, refusing to walk through a symlink. */
async function ensureParentInside(root: string, target: string): Promise<void> {
  const rel = path.relative(root, path.dirname(target));
  if (!rel) return;
  let cur = root;
  for (const part of rel.split(path.sep)) {
    cur = path.join(cur, part);
    let st;
    try {
      st = await fsp.lstat(cur);
    } catch {
      await fsp.mkdir(cur);
      continue;
    }
    if (st.isSymbolicLink()) throw new ArchiveError(`archive entry '${path.relative(root, target)}' would be written through a symlink`);
    if (!st.isDirectory()) throw new ArchiveError(`archive entry '${path.relative(root, target)}' is below a file`);
  }
}

/** Whether `rel` (a normalised path) names a regular file (or link to one) in the archive listing. */
export function archiveHasFile(info: ArchiveInfo, rel: string): boolean {
  const want = safeEntryPath(rel);
  return info.entries.some((e) => e.path === want && e.type !== "dir");
}
