/**
 * An archive's entries and the rules every one of them must pass before anything is written: no
 * `..` components, no absolute paths, no links that resolve outside the root, no devices or FIFOs,
 * bounded path length, entry count and total size. Shared by every archive reader (archive.ts,
 * zip-archive.ts, the upload's streamed listing).
 */
import * as path from "node:path";

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
export const MAX_PATH_BYTES = 4000;
const MAX_PATH_DEPTH = 256;

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

export function printable(s: string): string {
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


/** Whether `rel` (a normalised path) names a regular file (or link to one) in the archive listing. */
export function archiveHasFile(info: ArchiveInfo, rel: string): boolean {
  const want = safeEntryPath(rel);
  return info.entries.some((e) => e.path === want && e.type !== "dir");
}

