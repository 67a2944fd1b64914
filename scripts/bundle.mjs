// Bundles the CLI (src/cli/main.ts and what it loads) into a few ESM files under dist/bundle, so
// start-up reads a handful of files instead of hundreds. Lazily imported parts (gRPC client,
// protobuf use cases, output) become separate chunks loaded on first use. The local control plane
// (src/local, run by `dodil ignite dev`) stays the tsc output in dist/local: it reads files next to
// its modules and is not on any start-up path.
import { rmSync } from "node:fs";
import { build } from "esbuild";

// Chunk names are content hashes: start from an empty directory so no stale chunk lingers.
rmSync("dist/bundle", { recursive: true, force: true });

await build({
  entryPoints: { main: "src/cli/main.ts" },
  outdir: "dist/bundle",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: false,
  legalComments: "none",
  // Less to parse at every start; identifiers stay readable for --debug stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning",
  // conf and ora are loaded on demand (config writes, spinners) and resolve from node_modules.
  external: ["conf", "ora"],
  // CommonJS dependencies (grpc-js) call require() for Node built-ins.
  banner: { js: 'import { createRequire as __ignite_createRequire } from "node:module"; const require = __ignite_createRequire(import.meta.url);' },
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
