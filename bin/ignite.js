#!/usr/bin/env node
// `ignite …`: the standalone binary, same commands as `dodil ignite …`. The only place that sets the exit code.
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) {
  // The most common probe answers without loading the CLI (start-up budget: bench/startup.mjs).
  process.stdout.write(JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version + "\n");
} else {
  // A reader that closed the pipe (`| head`) ends the run normally instead of crashing it.
  process.stdout.on("error", (error) => {
    if (error.code === "EPIPE") process.exit(0);
  });
  const { runMain } = await import("../dist/bundle/main.js");
  process.exitCode = await runMain("ignite");
}
