import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Directories tempDir made in this test file and not yet removed. */
const created = new Set<string>();

/**
 * A new directory `<os.tmpdir()>/ignite-<prefix>-XXXXXX`. test/helpers/remove-temp-dirs.ts (a setup
 * file) removes it after the test file, after the file's own afterAll hooks (a control plane using
 * it as data dir is stopped by then); removing it earlier with removeDir is fine.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ignite-${prefix}-`));
  created.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Removes every directory tempDir made so far, except one with something still mounted inside
 * (a container's overlay left by a failed stop): deleting through a mount would reach what it
 * shows, and unmounting is the podman tests' business.
 */
export function removeTempDirs(): void {
  if (created.size === 0) return;
  const mounts = mountPoints();
  for (const dir of created) {
    if (!mounts.some((m) => m === dir || m.startsWith(`${dir}/`))) removeDir(dir);
    else console.warn(`left ${dir}: something is still mounted inside it`);
  }
  created.clear();
}

function mountPoints(): string[] {
  try {
    // Field 5 of /proc/self/mountinfo is the mount point (octal escapes such as \040 for a space).
    return readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((line) => (line.split(" ")[4] ?? "").replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
  } catch {
    return [];
  }
}
