/**
 * A minimal deterministic tar writer (POSIX ustar, with PAX extended headers for
 * long or non-ASCII names and for files of 8 GiB or more).
 *
 * Written here rather than with node-tar because every header byte must be a
 * function of the entry list alone: node-tar stats the files itself, keeps the
 * on-disk mode, turns files with several hard links into link entries, and its PAX
 * headers embed ctime/atime unless `portable` is set. Here each header is built from
 * the already-normalised `ContextEntry` (fixed mtime, uid/gid 0, empty owner names,
 * normalised modes), and file data is read with O_NOFOLLOW and checked against the
 * size recorded by the walk.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import path from "node:path";
import type { ContextEntry } from "./collect-files.js";
import { BuildContextError } from "./errors.js";

/** 1985-10-26T08:15:00Z, as npm/pacote: a fixed date that pre-1980-averse tools accept. */
export const FIXED_MTIME = 499162500;

const BLOCK = 512;
const RECORD = BLOCK * 20;
const MAX_OCTAL_11 = 0o77777777777;

export interface TarOptions {
  /** Seconds since the epoch written as every entry's mtime. Default FIXED_MTIME. */
  mtime?: number;
  signal?: AbortSignal;
  /** Size of the yielded Buffers. Default 1 MiB. Does not change the tar bytes. */
  chunkSize?: number;
  /**
   * Supplies the `chunkSize` Buffers to fill (default: a fresh one each time). Lets a
   * consumer that is done with a yielded chunk hand it back for reuse, which keeps
   * garbage, and so peak RSS, low.
   */
  allocChunk?: () => Buffer;
}

function writeString(buf: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, "utf8");
  bytes.copy(buf, offset, 0, Math.min(bytes.length, length));
}

function writeOctal(buf: Buffer, offset: number, length: number, value: number): void {
  // length-1 octal digits followed by NUL, as GNU tar writes them.
  writeString(buf, offset, length - 1, value.toString(8).padStart(length - 1, "0"));
}

const isPortableAscii = (s: string): boolean => /^[\x20-\x7e]*$/.test(s);

/** Splits a name into ustar prefix/name, or returns undefined when it does not fit. */
function splitUstarName(name: string): { prefix: string; name: string } | undefined {
  if (!isPortableAscii(name)) return undefined;
  if (name.length <= 100) return { prefix: "", name };
  // Split at a slash so that prefix <= 155 and name <= 100 (a trailing slash stays in name).
  const searchEnd = name.endsWith("/") ? name.length - 1 : name.length;
  for (let i = name.lastIndexOf("/", searchEnd - 1); i > 0; i = name.lastIndexOf("/", i - 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (rest.length > 100) break;
    if (prefix.length <= 155 && rest.length > 0) return { prefix, name: rest };
  }
  return undefined;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body, "utf8");
  let len = bodyLen + 1;
  while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
  return `${len}${body}`;
}

function ustarHeader(fields: {
  name: string;
  prefix: string;
  mode: number;
  size: number;
  mtime: number;
  type: string;
  linkname: string;
}): Buffer {
  const h = Buffer.alloc(BLOCK);
  writeString(h, 0, 100, fields.name);
  writeOctal(h, 100, 8, fields.mode);
  writeOctal(h, 108, 8, 0); // uid
  writeOctal(h, 116, 8, 0); // gid
  writeOctal(h, 124, 12, fields.size);
  writeOctal(h, 136, 12, fields.mtime);
  h.fill(0x20, 148, 156); // checksum placeholder
  writeString(h, 156, 1, fields.type);
  writeString(h, 157, 100, fields.linkname);
  writeString(h, 257, 6, "ustar\0");
  writeString(h, 263, 2, "00");
  // uname (265) and gname (297) stay empty; devmajor/devminor as zero octal.
  writeOctal(h, 329, 8, 0);
  writeOctal(h, 337, 8, 0);
  writeString(h, 345, 155, fields.prefix);
  let sum = 0;
  for (const b of h) sum += b;
  writeString(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

function padding(size: number): Buffer | undefined {
  const rem = size % BLOCK;
  return rem === 0 ? undefined : Buffer.alloc(BLOCK - rem);
}

const sanitise = (s: string): string => s.replace(/[^\x20-\x7e]/g, "_");

/** Header blocks (PAX header first when needed) for one entry. */
export function entryHeader(entry: ContextEntry, mtime: number): Buffer[] {
  const typeflag = entry.type === "dir" ? "5" : entry.type === "symlink" ? "2" : "0";
  const archiveName = entry.type === "dir" ? `${entry.path}/` : entry.path;
  const size = entry.type === "file" ? entry.size : 0;
  const linkname = entry.linkTarget ?? "";
  const pax: string[] = [];
  let split = splitUstarName(archiveName);
  if (!split) {
    pax.push(paxRecord("path", archiveName));
    const fallback = sanitise(archiveName);
    split = { prefix: "", name: fallback.length > 100 ? fallback.slice(fallback.length - 100) : fallback };
  }
  let ustarLink = linkname;
  if (linkname.length > 100 || !isPortableAscii(linkname)) {
    pax.push(paxRecord("linkpath", linkname));
    ustarLink = sanitise(linkname).slice(0, 100);
  }
  let ustarSize = size;
  if (size > MAX_OCTAL_11) {
    pax.push(paxRecord("size", String(size)));
    ustarSize = 0;
  }
  const blocks: Buffer[] = [];
  if (pax.length > 0) {
    const data = Buffer.from(pax.join(""), "utf8");
    const base = sanitise(path.posix.basename(entry.path)).slice(0, 80);
    blocks.push(
      ustarHeader({
        name: `PaxHeaders/${base}`,
        prefix: "",
        mode: 0o644,
        size: data.length,
        mtime,
        type: "x",
        linkname: "",
      }),
      data,
    );
    const pad = padding(data.length);
    if (pad) blocks.push(pad);
  }
  blocks.push(
    ustarHeader({
      name: split.name,
      prefix: split.prefix,
      mode: entry.mode,
      size: ustarSize,
      mtime,
      type: typeflag,
      linkname: ustarLink,
    }),
  );
  return blocks;
}

/** Size of the Buffers `tarStream` yields (the last one may be shorter). */
export const DEFAULT_TAR_CHUNK_SIZE = 1024 * 1024;

/**
 * Yields the uncompressed tar stream for `entries` (paths relative to `root`) as Buffers
 * of exactly `chunkSize` bytes (default 1 MiB; the last one shorter), with bounded
 * memory: one chunk is filled at a time.
 *
 * Files are read with synchronous calls straight into the chunk being filled: an
 * asynchronous open/fstat/read/close costs four thread-pool round trips (about 300 µs a
 * file on a small VM, 20x the synchronous cost), which made a tree of many small files
 * slower to read than to compress. The event loop gets control back at every yield, so it
 * is blocked for at most one chunk's worth of reads (plus the opens of the small files in
 * it) at a time.
 */
export async function* tarStream(
  root: string,
  entries: readonly ContextEntry[],
  options: TarOptions = {},
): AsyncGenerator<Buffer, void, undefined> {
  const mtime = options.mtime ?? FIXED_MTIME;
  const chunkSize = options.chunkSize ?? DEFAULT_TAR_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`tar chunk size must be a positive integer, got ${chunkSize}`);
  const alloc = (): Buffer => {
    const b = options.allocChunk?.() ?? Buffer.allocUnsafeSlow(chunkSize);
    if (b.length !== chunkSize) throw new RangeError(`allocChunk returned ${b.length} bytes, want ${chunkSize}`);
    return b;
  };
  let chunk = alloc();
  let fill = 0;
  let written = 0;
  const ready: Buffer[] = [];
  const advance = (n: number): void => {
    fill += n;
    written += n;
    if (fill === chunkSize) {
      ready.push(chunk);
      chunk = alloc();
      fill = 0;
    }
  };
  const put = (src: Buffer): void => {
    let off = 0;
    while (off < src.length) {
      const n = src.copy(chunk, fill, off, Math.min(src.length, off + chunkSize - fill));
      off += n;
      advance(n);
    }
  };
  const putZeros = (count: number): void => {
    while (count > 0) {
      const n = Math.min(count, chunkSize - fill);
      chunk.fill(0, fill, fill + n);
      count -= n;
      advance(n);
    }
  };
  for (const entry of entries) {
    if (options.signal?.aborted) throw new BuildContextError("ABORTED", "packing was cancelled");
    for (const block of entryHeader(entry, mtime)) put(block);
    if (entry.type !== "file") continue;
    const fd = openChecked(root, entry);
    try {
      let remaining = entry.size;
      while (remaining > 0) {
        const bytesRead = readSync(fd, chunk, fill, Math.min(chunkSize - fill, remaining), null);
        if (bytesRead === 0) throw changed(entry, "truncated");
        remaining -= bytesRead;
        advance(bytesRead);
        while (ready.length > 0) yield ready.shift()!;
      }
    } finally {
      closeSync(fd);
    }
    const rem = entry.size % BLOCK;
    if (rem !== 0) putZeros(BLOCK - rem);
    while (ready.length > 0) yield ready.shift()!;
  }
  // End-of-archive marker, then pad to a whole 10 KiB record as GNU tar does.
  let tail = 2 * BLOCK;
  const rem = (written + tail) % RECORD;
  if (rem !== 0) tail += RECORD - rem;
  putZeros(tail);
  while (ready.length > 0) yield ready.shift()!;
  if (fill > 0) yield chunk.subarray(0, fill);
}

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

function changed(entry: ContextEntry, detail: string): BuildContextError {
  return new BuildContextError("FILE_CHANGED", `${entry.path} changed while the context was being packed (${detail})`, entry.path);
}

/** Opens a walked file (never through a symlink) and checks it is still the same size. */
function openChecked(root: string, entry: ContextEntry): number {
  let fd: number;
  try {
    fd = openSync(path.join(root, entry.path), constants.O_RDONLY | NOFOLLOW);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT" || code === "ELOOP") throw changed(entry, code === "ELOOP" ? "now a symlink" : "deleted");
    throw new BuildContextError("UNREADABLE_PATH", `cannot read ${entry.path}: ${(err as Error).message}`, entry.path, {
      cause: err,
    });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw changed(entry, "no longer a regular file");
    if (st.size !== entry.size) throw changed(entry, `size ${entry.size} -> ${st.size}`);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}
