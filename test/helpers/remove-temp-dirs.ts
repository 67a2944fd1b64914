import { afterAll } from "vitest";
import { removeTempDirs } from "./temp-dirs.js";

// A setup file (vitest.config.ts): after every test file, removes the directories its tests made
// with tempDir (test/helpers/temp-dirs.ts). Registered before the file's own hooks, so it runs
// after them: afterAll hooks run in reverse order of registration.
afterAll(removeTempDirs);
