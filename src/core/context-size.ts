import { CliError } from "../errors.js";
import type { PreparedArchive } from "./drafts.js";

/** Warn above this much context (uncompressed), unless configured otherwise; 0 disables. */
export const DEFAULT_WARN_BYTES = 100 * 1000 * 1000;
/** The largest archive the CLI uploads (the local control plane's limit too). */
export const MAX_ARCHIVE_BYTES = 2 * 1024 * 1024 * 1024;

export interface LargestPath {
  /** A top-level file or directory of the context. */
  path: string;
  bytes: number;
  /** The .dockerignore line that would leave it out. */
  ignoreLine: string;
}

export interface SizeCheck {
  overWarning: boolean;
  largest: LargestPath[];
}

/**
 * The size guard: refuses an archive over the hard limit before anything is sent, and reports
 * the five largest top-level paths (with the ignore line to drop each) when the context is
 * over the warning threshold.
 */
export function checkContextSize(archive: Pick<PreparedArchive, "sizeBytes" | "totalBytes" | "files">, warnBytes: number, maxBytes = MAX_ARCHIVE_BYTES): SizeCheck {
  if (archive.sizeBytes > maxBytes) {
    throw new CliError("RESOURCE_EXHAUSTED", `the build context archive is ${archive.sizeBytes} bytes; the limit is ${maxBytes} bytes (2 GiB)`, {
      hint: "leave large files out with .dockerignore; `draft save --dry-run --explain` shows what is sent",
    });
  }
  const overWarning = warnBytes > 0 && archive.totalBytes > warnBytes;
  if (!overWarning) return { overWarning, largest: [] };
  const byTop = new Map<string, { bytes: number; isDir: boolean }>();
  for (const file of archive.files) {
    const [top = file.path, ...rest] = file.path.split("/");
    const entry = byTop.get(top) ?? { bytes: 0, isDir: rest.length > 0 };
    entry.bytes += file.size;
    entry.isDir ||= rest.length > 0;
    byTop.set(top, entry);
  }
  const largest = [...byTop.entries()]
    .sort((a, b) => b[1].bytes - a[1].bytes || a[0].localeCompare(b[0]))
    .slice(0, 5)
    .map(([path, { bytes, isDir }]) => ({ path: isDir ? `${path}/` : path, bytes, ignoreLine: isDir ? `${path}/` : path }));
  return { overWarning, largest };
}

/** Parses "100MB", "1.5GB", "500kB", "0" or a plain byte count. */
export function parseSize(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?$/i.exec(text.trim());
  if (!match) throw new CliError("USAGE", `invalid size "${text}" for ${flag}: use e.g. 100MB, 1GB or 0 to disable`);
  const units: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
  return Math.round(Number(match[1]) * (units[(match[2] ?? "b").toLowerCase()] ?? 1));
}
