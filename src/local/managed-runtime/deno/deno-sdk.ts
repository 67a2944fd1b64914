/**
 * The Deno SDK (`ignite`) is real TypeScript for Deno in sdk/ignite beside this module, checked by
 * deno check / deno lint (scripts/check-runtime-sources.sh), and excluded from the plane's own tsc
 * build. It is found next to this module: under src/ when tests run the TypeScript, under dist/local
 * in the built CLI (the build copies it there).
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** Where the SDK goes in the app's tree: its deno.json maps "ignite" to ./deno/sdk/ignite/bootstrap.ts. */
export const DENO_SDK_DIR = "deno/sdk/ignite";

/** The SDK's modules, relative to sdk/ignite. */
export const DENO_SDK_FILES = ["bootstrap.ts"] as const;

const SDK = new URL("./sdk/ignite/", import.meta.url);

/** Copies the SDK into `dest` (created as needed). */
export async function copyDenoSdk(dest: string): Promise<void> {
  await fsp.mkdir(dest, { recursive: true });
  for (const f of DENO_SDK_FILES) await fsp.copyFile(fileURLToPath(new URL(f, SDK)), path.join(dest, f));
}
