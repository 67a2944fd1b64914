/**
 * Safe archive inspection and extraction, shared by the local control plane (UploadBuildContext and
 * SaveDraft validation, the drivers) and the CLI (`version code -O DIR`). Accepts tar.gz, plain tar and zip (detected by magic bytes); anything else is a single file.
 * Every entry is checked before anything is written: no `..` components, no absolute paths, no links
 * that resolve outside the root, no devices or FIFOs, bounded entry count and total size.
 */
import { createReadStream, createWriteStream, promises as fsp } from "node:fs";
import * as path from "node:path";
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

function isTarHeader(b: Buffer): boolean {
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
  return parts.join("/");
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

class Collector {
  entries: ArchiveEntryInfo[] = [];
  totalSize = 0;
  constructor(private limits: Required<Pick<ArchiveLimits, "maxEntries" | "maxTotalBytes">>) {}
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

function limitsOf(l: ArchiveLimits) {
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
    let failure: unknown;
    const warnings: string[] = [];
    try {
      await tar.t({
        file,
        onReadEntry: (e) => {
          if (failure) return;
          try {
            c.add(e.path, e.type, e.size ?? 0, e.linkpath);
          } catch (err) {
            failure = err;
          }
        },
        onwarn: (code, msg) => {
          if (code === "TAR_BAD_ARCHIVE" || code === "TAR_ABORT" || code === "TAR_ENTRY_INVALID") warnings.push(String(msg));
        },
      });
    } catch (err) {
      if (!failure) throw new ArchiveError(`the context is not a readable ${kind} archive: ${(err as Error).message}`);
    }
    if (failure) throw failure;
    if (warnings.length) throw new ArchiveError(`the context is not a valid ${kind} archive: ${warnings[0]}`);
  }
  return { kind, entries: c.entries, totalSize: c.totalSize };
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
  if (info.kind === "file") {
    await fsp.copyFile(file, path.join(root, info.entries[0]!.path));
  } else if (info.kind === "zip") {
    await extractZip(file, root, info);
  } else {
    await tar.x({ file, cwd: root, strict: true, preserveOwner: false, noMtime: false, unlink: true });
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
      const e: ZipEntry = { name, type, size: uncompressed, compressedSize, method, localOffset, mode };
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
  return e.method === 8 ? zlib.inflateRawSync(buf) : buf;
}

async function extractZip(file: string, root: string, info: ArchiveInfo): Promise<void> {
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
          await new Promise<void>((r, j) => out.on("close", () => r()).on("error", j).end());
        } else if (e.method === 8) await pipeline(src, zlib.createInflateRaw(), out);
        else await pipeline(src, out);
      }
    }
  } finally {
    await fh.close();
  }
  void info;
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
