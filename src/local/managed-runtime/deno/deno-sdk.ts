/**
 * The Deno SDK (`ignite`): real TypeScript for Deno in sdk/ignite beside this module, checked by
 * deno check, lint and fmt (scripts/check-runtime-sources.sh) and left out of the plane's own tsc
 * build (tsconfig.json's exclude). The compile writes it where the platform provides it.
 */
import { copyRuntimeSources, type RuntimeSources } from "../runtime-sources.js";

/** Where the SDK goes in the app's tree: its deno.json maps "ignite" to ./deno/sdk/ignite/bootstrap.ts. */
export const DENO_SDK_DIR = "deno/sdk/ignite";

const DENO_SDK: RuntimeSources = { dir: new URL("./sdk/ignite/", import.meta.url), files: ["bootstrap.ts"] };

/** Copies the SDK into `dest` (created as needed). */
export const copyDenoSdk = (dest: string): Promise<void> => copyRuntimeSources(DENO_SDK, dest);
