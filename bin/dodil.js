#!/usr/bin/env node
// `dodil …`: Ignite commands live under `dodil ignite`. The only place that sets the exit code.
// CommonJS (bin/package.json), because Node starts a CommonJS entry faster than an ES module one.
"use strict";

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) {
  // The most common probe answers without loading the CLI (start-up budget: bench/startup.mjs).
  const { readFileSync } = require("node:fs");
  process.stdout.write(JSON.parse(readFileSync(require("node:path").join(__dirname, "..", "package.json"), "utf8")).version + "\n");
} else {
  // A reader that closed the pipe (`| head`) ends the run normally instead of crashing it.
  process.stdout.on("error", (error) => {
    if (error.code === "EPIPE") process.exit(0);
  });
  import("../dist/bundle/main.js")
    .then(({ runMain }) => runMain("dodil"))
    .then((code) => {
      process.exitCode = code;
    });
}
