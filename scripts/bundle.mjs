// Bundles the CLI (src/cli/main.ts and what it loads) into one CommonJS file, dist/bundle/main.cjs,
// so start-up reads one file instead of hundreds. CommonJS because bin/launch.js compiles it with a
// V8 code cache (bin/compile-cache.js), which Node 20 offers for scripts, not for ES modules.
// import() of the external ES modules (conf, ora, dist/local) goes through `__ignite_import`, a
// parameter bin/compile-cache.js passes in: V8 drops a script's dynamic-import handler when the
// script comes from a code cache. Lazily imported parts (gRPC client, protobuf use cases, output)
// stay lazy: esbuild wraps each module reached only through import() so it is evaluated on first
// use. The local control plane (src/local, run by `dodil ignite dev`) stays the tsc output in
// dist/local: it reads files next to its modules and is not on any start-up path.
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
  // The MCP SDK (`dodil mcp` only) stays in node_modules too, so no other command parses it.
  external: ["conf", "ora", "@grpc/proto-loader", "@modelcontextprotocol/sdk"],
  // The sources are ES modules; the bundle is not. import.meta.url becomes the bundle's own URL,
  // which sits as deep under the project root as the sources do.
  define: { "import.meta.url": "__ignite_import_meta_url" },
  banner: { js: 'const __ignite_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [
    {
      // Two dependencies pay at start-up for code this CLI does not run; each gets a stand-in:
      // - commander loads node:child_process for executable subcommands, which the CLI has none
      //   of: the stand-in loads it on first use;
      // - grpc-js asks net.isIPv6() of every address, and Node compiles its IPv6 pattern on the
      //   first call (~5 ms): an IPv6 literal always holds a ':', so other strings skip it.
      name: "start-up-stand-ins",
      setup(b) {
        const standIns = {
          "commander-child-process": 'let loaded; module.exports = new Proxy({}, { get: (_, key) => (loaded ??= require("node:child_process"))[key] });',
          "grpc-net":
            'const net = require("node:net"); const isIPv6 = (s) => typeof s === "string" && s.includes(":") && net.isIPv6(s);' +
            " module.exports = { ...net, isIPv6, isIP: (s) => (net.isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0) };",
        };
        const from = (pkg, importer) => new RegExp(`[\\\\/]node_modules[\\\\/]${pkg}[\\\\/]`).test(importer);
        b.onResolve({ filter: /^(node:)?(child_process|net)$/ }, (args) => {
          if (args.path.endsWith("child_process") && from("commander", args.importer)) return { path: "commander-child-process", namespace: "stand-in" };
          if (args.path.endsWith("net") && from("@grpc/grpc-js", args.importer)) return { path: "grpc-net", namespace: "stand-in" };
          return undefined;
        });
        b.onLoad({ filter: /.*/, namespace: "stand-in" }, (args) => ({ contents: standIns[args.path], loader: "js" }));
      },
    },
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
// The launcher reads the bundle as latin1, which is ASCII-exact and decodes ~10x faster than UTF-8;
// esbuild escapes non-ASCII in strings but not in regular expressions (write \uXXXX there).
const nonAscii = /[^\x00-\x7f]/.exec(text);
if (nonAscii) throw new Error(`bundle.mjs: non-ASCII in the bundle: …${text.slice(nonAscii.index - 40, nonAscii.index + 40)}…`);
writeFileSync(bundle, text);
