"use strict";
// Shared by bin/dodil.js and bin/ignite.js: the only code that sets the process exit code.
// CommonJS (bin/package.json), because Node starts a CommonJS entry faster than an ES module one.

/** Runs the CLI as `binary` ("dodil" or "ignite"). */
exports.launch = function launch(binary) {
  const args = process.argv.slice(2);
  const { readFileSync } = require("node:fs");
  const { join } = require("node:path");
  // The most common probes answer without loading the CLI (start-up budget: bench/startup.mjs).
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) {
    process.stdout.write(JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")).version + "\n");
    return;
  }
  const last = args[args.length - 1];
  const words = args.slice(0, -1);
  if ((last === "--help" || last === "-h") && words.every((w) => !w.startsWith("-"))) {
    // Prebuilt from the command definitions (src/cli/help-index.ts); unknown words fall through.
    try {
      let node = JSON.parse(readFileSync(join(__dirname, "..", "dist", "bundle", "help.json"), "utf8"))[binary];
      for (const word of words) node = node && node.c && node.c[(node.a && node.a[word]) || word];
      if (node) {
        process.stdout.write(node.h);
        return;
      }
    } catch {
      // No index (a partial build): the CLI itself prints the help.
    }
  }
  // A reader that closed the pipe (`| head`) ends the run normally instead of crashing it.
  process.stdout.on("error", (error) => {
    if (error.code === "EPIPE") process.exit(0);
  });
  // The command's area ("ignite app", "login"): the code cache grows to cover each area once.
  const area = args.filter((a) => !a.startsWith("-")).slice(0, binary === "dodil" && args.includes("ignite") ? 2 : 1).join(" ");
  const { runMain } = require("./compile-cache.js").loadWithCompileCache(join(__dirname, "..", "dist", "bundle", "main.cjs"), area);
  runMain(binary).then((code) => {
    process.exitCode = code;
  });
};
