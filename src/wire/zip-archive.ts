/**
 * Zip build contexts: the central directory read as a listing, and extraction in which each entry's
 * inflated bytes are metered against what it declares (size and CRC-32), never trusted.
 */
import { createReadStream, createWriteStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import { ArchiveError, MAX_PATH_BYTES, printable, safeEntryPath } from "./archive-entry.js";

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

export async function readZipDirectory(file: string): Promise<ZipEntry[]> {
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

export async function extractZip(file: string, root: string): Promise<void> {
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

