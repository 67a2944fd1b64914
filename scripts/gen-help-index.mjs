// Writes dist/bundle/help.json (see src/cli/help-index.ts) from the built command definitions:
// exactly what each command's --help prints, captured from commander itself.
import { writeFileSync } from "node:fs";
import { buildHelpIndex } from "../dist/cli/help-index.js";
import { buildProgram } from "../dist/cli/run.js";

let captured = "";
const sink = { write: (text) => ((captured += text), true) };
const environment = { io: { stdout: sink, stderr: sink }, env: {}, cwd: process.cwd(), home: "", waitForShutdown: () => new Promise(() => {}) };
const render = (command) => {
  captured = "";
  command.outputHelp();
  return captured;
};
const index = Object.fromEntries(["dodil", "ignite"].map((binary) => [binary, buildHelpIndex(buildProgram(binary, environment), render)]));
writeFileSync(new URL("../dist/bundle/help.json", import.meta.url), JSON.stringify(index));
