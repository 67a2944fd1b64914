"use strict";
// Shared by bin/dodil.js and bin/ignite.js: the only code that sets the process exit code.
// CommonJS (bin/package.json), because Node starts a CommonJS entry faster than an ES module one.

/** Runs the CLI as `binary` ("dodil" or "ignite"). */
exports.launch = function launch(binary) {
  const args = process.argv.slice(2);
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) {
    // The most common probe answers without loading the CLI (start-up budget: bench/startup.mjs).
    const { readFileSync } = require("node:fs");
    process.stdout.write(JSON.parse(readFileSync(require("node:path").join(__dirname, "..", "package.json"), "utf8")).version + "\n");
    return;
  }
  // A reader that closed the pipe (`| head`) ends the run normally instead of crashing it.
  process.stdout.on("error", (error) => {
    if (error.code === "EPIPE") process.exit(0);
  });
  import("../dist/bundle/main.js")
    .then(({ runMain }) => runMain(binary))
    .then((code) => {
      process.exitCode = code;
    });
};
