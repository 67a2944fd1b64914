import { afterAll } from "vitest";
import { capturedOutputs } from "./run-cli.js";
import { SECRETS } from "./secrets.js";

// Runs after every test file: nothing any in-process CLI run printed (stdout, stderr, --debug
// traces, errors) may contain a token the suite handed it.
afterAll(() => {
  for (const output of capturedOutputs) {
    for (const secret of SECRETS) {
      if (output.includes(secret)) throw new Error(`a CLI run printed a token (${secret.slice(0, 6)}…) in:\n${output.slice(0, 500)}`);
    }
  }
});
