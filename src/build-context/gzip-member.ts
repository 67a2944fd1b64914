/**
 * One gzip member (RFC 1952) of a slice of the tar, with its incompressible stretches written
 * as stored deflate blocks instead of being run through the compressor.
 *
 * Why: a build context is often half images, archives, fonts and binaries that deflate cannot
 * shrink, and zlib at level 6 spends as much CPU failing to compress them as it spends on text
 * (on the bench tree, 100 MiB of random bytes cost ~3 s of CPU for a 0.03% gain). Deflate itself
 * allows stored blocks anywhere in a stream (RFC 1951 §3.2.4), so the member stays an ordinary
 * gzip member that every reader accepts.
 *
 * How: the slice is cut into fixed 64 KiB windows. Each window is judged from a sample (four
 * 1 KiB pieces spread over it): it is incompressible when the sample's byte entropy is near 8
 * bits and it has (almost) no repeated 4-byte strings, which random, encrypted and already
 * compressed data have not and LZ77 would need. Adjacent windows of the same kind form a run.
 * A compressible run goes to zlib's raw deflate at the pack's level on the libuv pool, ending in
 * a sync flush (byte-aligned, not final); an incompressible run is copied in as stored blocks of
 * at most 65,535 bytes. Each compressible run starts with an empty dictionary, as every member
 * already does. An empty final stored block closes the deflate stream, then the CRC-32 and length.
 *
 * The sample can be fooled only one way that costs anything: high-entropy data that repeats at
 * a distance longer than a piece (a random 4 KiB block written sixteen times) is
 * stored though deflate could have shrunk it. The archive is then larger, never wrong.
 *
 * The bytes depend only on the slice and the level: the windows sit at fixed offsets and the
 * judgement reads only the window's bytes, so the archive is the same on every machine and with
 * any number of members in flight.
 */
import { constants as zconst, crc32, deflateRaw } from "node:zlib";

/** Uncompressed bytes judged together (fixed: part of the determinism contract). */
export const SAMPLE_WINDOW = 64 * 1024;
const SAMPLE_PIECES = 4;
const SAMPLE_PIECE = 1024;
/** Bits per byte above which a sample looks random (a uniform 4 KiB sample measures ~7.95). */
const ENTROPY_LIMIT = 7.8;
/** Repeats allowed beyond the hash collisions that random strings have by chance. */
const REPEAT_LIMIT = 32;
const STORED_MAX = 65535;
const GZIP_OS_UNIX = 3;
/** Header: magic, CM=deflate, no flags, mtime 0, XFL 0, OS 3 (Unix) on every platform. */
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, GZIP_OS_UNIX]);
/** An empty stored block with BFINAL set: ends the deflate stream at a byte boundary. */
const FINAL_EMPTY_STORED = Buffer.from([1, 0, 0, 0xff, 0xff]);

const log2 = new Float64Array(SAMPLE_PIECES * SAMPLE_PIECE + 1);
for (let i = 1; i < log2.length; i++) log2[i] = Math.log2(i);
const counts = new Uint32Array(256);
const HASH_SLOTS = 65536;
const seen = new Uint16Array(HASH_SLOTS); // hash of a 4-byte string -> the sample's generation

let generation = 0;

/** True when deflate would not shrink this window, judged from a sample (see the file comment). */
export function looksIncompressible(window: Buffer): boolean {
  const pieceLen = Math.min(SAMPLE_PIECE, Math.floor(window.length / SAMPLE_PIECES));
  if (pieceLen < 64) return false; // too short to judge; deflate it
  const stride = Math.floor((window.length - pieceLen) / (SAMPLE_PIECES - 1));
  // Byte entropy first: text and most binaries stop here.
  counts.fill(0);
  for (let p = 0; p < SAMPLE_PIECES; p++) {
    const end = p * stride + pieceLen;
    for (let i = p * stride; i < end; i++) counts[window[i]!]! += 1;
  }
  const total = pieceLen * SAMPLE_PIECES;
  let entropy = 0;
  for (let b = 0; b < 256; b++) {
    const c = counts[b]!;
    if (c > 0) entropy -= c * (log2[c]! - log2[total]!);
  }
  if (entropy / total < ENTROPY_LIMIT) return false;
  // Then repeated 4-byte strings, which LZ77 would turn into matches.
  if (++generation > 0xffff) {
    seen.fill(0);
    generation = 1;
  }
  let repeats = 0;
  for (let p = 0; p < SAMPLE_PIECES; p++) {
    const start = p * stride;
    const end = start + pieceLen;
    let v = window[start]! | (window[start + 1]! << 8) | (window[start + 2]! << 16);
    for (let i = start + 3; i < end; i++) {
      v = (v >>> 8) | (window[i]! << 24); // bytes i-3..i, little-endian
      const h = Math.imul(v, 0x9e3779b1) >>> 16;
      if (seen[h] === generation) repeats++;
      else seen[h] = generation;
    }
  }
  // The table collides by chance too (~130 of ~4,000 random strings): count only repeats well above that.
  return repeats <= expectedHashCollisions(total - 3 * SAMPLE_PIECES) * 1.5 + REPEAT_LIMIT;
}

const collisionCache = new Map<number, number>();
/** Expected number of n random strings that land in an already used slot of the table. */
function expectedHashCollisions(n: number): number {
  let cached = collisionCache.get(n);
  if (cached === undefined) {
    // n strings fill slots*(1-(1-1/slots)^n) slots; the rest found theirs taken.
    cached = n - HASH_SLOTS * (1 - Math.pow(1 - 1 / HASH_SLOTS, n));
    collisionCache.set(n, cached);
  }
  return cached;
}

interface Run {
  start: number;
  end: number;
  stored: boolean;
}

/** The slice's runs of compressible and incompressible windows, in order. */
export function classifyRuns(slice: Buffer): Run[] {
  const runs: Run[] = [];
  for (let start = 0; start < slice.length; start += SAMPLE_WINDOW) {
    const end = Math.min(slice.length, start + SAMPLE_WINDOW);
    const stored = looksIncompressible(slice.subarray(start, end));
    const last = runs[runs.length - 1];
    if (last && last.stored === stored) last.end = end;
    else runs.push({ start, end, stored });
  }
  return runs;
}

/** Raw deflate of `data` at `level`, ending with a sync flush: byte-aligned, no final block. */
function deflateRun(data: Buffer, level: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // One output buffer at least deflate's worst case, so zlib does the run in a single pool
    // task instead of bouncing to the main thread every 16 KiB.
    const chunkSize = Math.max(64 * 1024, data.length + (data.length >>> 10) + 1024);
    deflateRaw(data, { level, chunkSize, flush: zconst.Z_SYNC_FLUSH, finishFlush: zconst.Z_SYNC_FLUSH }, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

function storedSize(length: number): number {
  return length + 5 * Math.ceil(length / STORED_MAX);
}

/** Writes `data` as non-final stored blocks into `out` at `at`; returns the new offset. */
function writeStored(out: Buffer, at: number, data: Buffer): number {
  for (let off = 0; off < data.length; off += STORED_MAX) {
    const n = Math.min(STORED_MAX, data.length - off);
    out[at] = 0; // BFINAL 0, BTYPE 00 (stored); the rest of the byte is padding
    out.writeUInt16LE(n, at + 1);
    out.writeUInt16LE(n ^ 0xffff, at + 3);
    data.copy(out, at + 5, off, off + n);
    at += 5 + n;
  }
  return at;
}

/**
 * One complete gzip member of `slice` (see the file comment). The compressible runs are
 * deflated one after the other (the caller runs several members at once), so a member keeps
 * at most one pool thread busy.
 */
export async function gzipMember(slice: Buffer, level: number): Promise<Buffer> {
  const runs = classifyRuns(slice);
  const parts: Array<Buffer | Run> = [];
  let size = HEADER.length + FINAL_EMPTY_STORED.length + 8;
  for (const run of runs) {
    if (run.stored) {
      parts.push(run);
      size += storedSize(run.end - run.start);
    } else {
      const deflated = await deflateRun(slice.subarray(run.start, run.end), level);
      parts.push(deflated);
      size += deflated.length;
    }
  }
  const out = Buffer.allocUnsafeSlow(size);
  let at = HEADER.copy(out, 0);
  for (const part of parts) {
    if (Buffer.isBuffer(part)) at += part.copy(out, at);
    else at = writeStored(out, at, slice.subarray(part.start, part.end));
  }
  at += FINAL_EMPTY_STORED.copy(out, at);
  out.writeUInt32LE(crc32(slice) >>> 0, at);
  out.writeUInt32LE(slice.length >>> 0, at + 4);
  return out;
}
