// Copies the managed runtimes' SDK and bootstrap sources (real .rs, .go, .py files, and the Deno
// SDK's .ts under a deno/sdk directory, which tsc leaves alone, beside their
// modules in src/local) into dist/local, where the built control plane finds them next to its
// modules, as the TypeScript sources find them under src/ (src/local/managed-runtime/runtime-sources.ts).
import { cpSync, readdirSync, statSync } from "node:fs";
import * as path from "node:path";

const SOURCE = /\.(rs|go|py|toml|mod)$|^go\.mod$/;
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const from = path.join(dir, name);
    if (statSync(from).isDirectory()) {
      if (name !== "target" && name !== "__pycache__") walk(from);
    } else if (SOURCE.test(name) || (name.endsWith(".ts") && /[\\/]deno[\\/]sdk[\\/]/.test(from))) {
      cpSync(from, path.join("dist", path.relative("src", from)));
    }
  }
}
walk("src/local");
