#!/usr/bin/env node
// `dodil …`: Ignite commands live under `dodil ignite`. The only place that sets the exit code.
import { runMain } from "../dist/cli/main.js";

// A reader that closed the pipe (`| head`) ends the run normally instead of crashing it.
process.stdout.on("error", (error) => {
  if (error.code === "EPIPE") process.exit(0);
});

process.exitCode = await runMain("dodil");
