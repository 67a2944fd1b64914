import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/helpers/secret-scan.ts", "test/helpers/remove-temp-dirs.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Spawned control planes and CLIs are heavy on a 2-core machine.
    maxWorkers: 2,
  },
});
