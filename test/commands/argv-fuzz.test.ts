import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { commandPaths, isGroup } from "../../src/cli/command-spec.js";
import { igniteCommands } from "../../src/cli/commands/index.js";
import { runCli } from "../helpers/run-cli.js";

const DOCUMENTED_EXIT_CODES = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

// Every command and group path, except the long-running or machine-changing `dev` ones.
const paths = [...commandPaths(igniteCommands).map(({ path }) => path), ...igniteCommands.filter(isGroup).map((g) => [g.name])].filter((p) => p[0] !== "dev");
const flags = ["-o", "--output", "--code", "--dockerfile-path", "--build-arg", "--git-url", "--image-ref", "-p", "--payload", "--payload-file", "--timeout", "--org", "--token", "--yes", "--follow", "--dry-run", "--explain", "--env", "--tier", "--limit", "--config", "--debug", "--no-color", "-"];
const words = ["json", "yaml", "xml", "acme-corp:greeter", "a:b:c", "../no-such-dir", "/etc/passwd", "5m", "0", "-1", "{}", "{bad", "KEY=VALUE", "=", "ünïcödé", "$(rm -rf /)", "%s%n", "a".repeat(300), ""];

describe("hostile argv", () => {
  it("never crashes with a stack trace and always exits with a documented code", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.array(fc.oneof(fc.constantFrom(...flags), fc.constantFrom(...words), fc.string({ maxLength: 12 })), { maxLength: 6 }),
        async (path, rest) => {
          // Nothing listens at port 1, so every run that gets as far as the network fails fast.
          const result = await runCli(["ignite", ...path, ...rest], { env: { IGNITE_API_ENDPOINT: "127.0.0.1:1", IGNITE_TOKEN: "fuzz-token-0123456789", IGNITE_TIMEOUT: "3s" } });
          expect(DOCUMENTED_EXIT_CODES.has(result.exitCode), `exit ${result.exitCode} for ${JSON.stringify(rest)}`).toBe(true);
          expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
          if (result.exitCode !== 0) expect(result.stderr).toMatch(/^(Error: |\{"code")/m);
        },
      ),
      { numRuns: 150, seed: 20261127 },
    );
  });
});
