// Bundles the CLI (src/cli/main.ts and what it loads) into one CommonJS file, dist/bundle/main.cjs,
// so start-up reads one file instead of hundreds. CommonJS because bin/launch.js compiles it with
// a V8 code cache (bin/compile-cache.js), which Node 20 offers for scripts, not for ES modules.
// import() of the external ES modules (conf, ora, dist/local) goes through `__ignite_import`, a
// parameter bin/compile-cache.js passes in: V8 drops a script's dynamic-import handler when the
// script comes from a code cache. Lazily imported parts (gRPC client, protobuf use cases, output)
// stay lazy: esbuild wraps each module reached only through import() so it is evaluated on first use. The local control plane
// (src/local, run by `dodil ignite dev`) stays the tsc output in dist/local: it reads files next to
// its modules and is not on any start-up path.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

rmSync("dist/bundle", { recursive: true, force: true });

await build({
  entryPoints: ["src/cli/main.ts"],
  outfile: "dist/bundle/main.cjs",
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  sourcemap: false,
  legalComments: "none",
  // Less to parse at every start; identifiers stay readable for --debug stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning",
  // conf and ora (ES modules, loaded on demand for config writes and spinners) resolve from
  // node_modules; grpc-js loads @grpc/proto-loader only for channelz/ORCA, which the CLI never uses.
  external: ["conf", "ora", "@grpc/proto-loader"],
  // The sources are ES modules; the bundle is not. import.meta.url becomes the bundle's own URL,
  // which sits as deep under the project root as the sources do.
  define: { "import.meta.url": "__ignite_import_meta_url" },
  banner: { js: 'const __ignite_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [
    {
      // `dev` and its subcommands load src/local on demand: keep it the tsc output in dist/local.
      name: "local-control-plane-external",
      setup(b) {
        b.onResolve({ filter: /^(\.\.\/)+local\// }, (args) => ({ path: `../local/${args.path.replace(/^(\.\.\/)+local\//, "")}`, external: true }));
      },
    },
  ],
});

// Every import() left in the bundle is of an external module: route it through the launcher's.
const bundle = "dist/bundle/main.cjs";
const text = readFileSync(bundle, "utf8").replace(/\bimport\(("[^"]+")\)/g, "__ignite_import($1)");
const stray = /\bimport\(/.exec(text);
if (stray) throw new Error(`bundle.mjs: an import() the launcher cannot serve: …${text.slice(stray.index - 40, stray.index + 40)}…`);
writeFileSync(bundle, text);
