// Writes docs/cli-reference.md from the built CLI's command definitions (npm run docs:reference).
import { writeFileSync } from "node:fs";
import { buildProgram } from "../dist/cli/run.js";
import { renderCliReference } from "../dist/cli/reference.js";

const environment = { io: {}, env: {}, cwd: process.cwd(), home: "", waitForShutdown: () => new Promise(() => {}) };
writeFileSync(new URL("../docs/cli-reference.md", import.meta.url), renderCliReference(buildProgram("dodil", environment)));
