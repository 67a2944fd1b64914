import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach } from "vitest";
import { removeTempDirs, tempDir as newTempDir } from "../helpers/temp-dirs.js";

/** A fresh temp directory (ignite-bc-test-*), removed after the test. */
export async function tempDir(): Promise<string> {
  return newTempDir("bc-test");
}

afterEach(removeTempDirs);

/** Writes files (creating parent dirs). A value ending with "/" as key makes an empty dir. */
export async function writeTree(root: string, tree: Record<string, string | Buffer>): Promise<void> {
  for (const [rel, content] of Object.entries(tree)) {
    const abs = path.join(root, rel);
    if (rel.endsWith("/")) {
      await mkdir(abs, { recursive: true });
      continue;
    }
    await mkdir(path.dirname(abs), { recursive: true });
    await writeFile(abs, content);
  }
}
