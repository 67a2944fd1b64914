/**
 * The SDKs and bootstraps the managed runtimes add to every compile are real .rs, .go and .py files
 * beside these modules (rust/sdk, go/sdk, python/bootstrap), checked by their own languages' tools
 * (scripts/check-runtime-sources.sh). They are found next to the module that names them: under src/
 * when tests run the TypeScript, under dist/local in the built CLI (the build copies them there:
 * scripts/copy-runtime-sources.mjs).
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export interface RuntimeSources {
  /** The directory holding the files, as a URL relative to a module (new URL("./sdk/", import.meta.url)). */
  dir: URL;
  /** The files, relative to `dir`; they keep these relative paths where they are copied. */
  files: readonly string[];
}

/** Copies the sources into `dest` (created as needed). */
export async function copyRuntimeSources(sources: RuntimeSources, dest: string): Promise<void> {
  for (const rel of sources.files) {
    const to = path.join(dest, rel);
    await fsp.mkdir(path.dirname(to), { recursive: true });
    await fsp.copyFile(fileURLToPath(new URL(rel, sources.dir)), to);
  }
}

/** The path of one of the files. */
export const runtimeSourceFile = (sources: RuntimeSources, rel: string): string => fileURLToPath(new URL(rel, sources.dir));
