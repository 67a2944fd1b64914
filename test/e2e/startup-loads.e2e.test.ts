import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { removeDir } from "../helpers/control-plane.js";

// What a run loads (issue 4: `--version` and `--help` load no gRPC, ora or conf code). A preloaded
// probe writes, at exit, the CommonJS modules in require's cache and the Node built-ins loaded.
const repo = join(import.meta.dirname, "..", "..");
const work = mkdtempSync(join(tmpdir(), "ignite-loads-"));
const probe = join(work, "probe.cjs");
writeFileSync(
  probe,
  `process.on("exit", () => require("node:fs").writeFileSync(process.env.LOADS_FILE, JSON.stringify({
  files: Object.keys(require.cache),
  builtins: process.moduleLoadList.filter((m) => m.startsWith("NativeModule ")).map((m) => m.slice(13)),
})));\n`,
);
afterAll(() => removeDir(work));

let runs = 0;
/** Runs `dodil …` under the probe; resolves (whatever the exit code) with what it loaded. */
function loads(args: string[]): Promise<{ files: string[]; builtins: string[]; stdout: string; code: number }> {
  const file = join(work, `loads-${(runs += 1)}.json`);
  return new Promise((resolve) => {
    execFile(process.execPath, ["--require", probe, join(repo, "bin", "dodil.js"), ...args], { env: { PATH: process.env.PATH ?? "", HOME: work, LOADS_FILE: file } }, (error, stdout) => {
      const code = error ? Number((error as { code?: unknown }).code) : 0;
      resolve({ ...(JSON.parse(readFileSync(file, "utf8")) as { files: string[]; builtins: string[] }), stdout, code });
    });
  });
}

const GRPC_BUILTINS = ["http2", "tls", "zlib"];

describe("what start-up loads", () => {
  it.each([[["--version"]], [["ignite", "--help"]], [["ignite", "app", "list", "--help"]]])("%j answers without loading the CLI bundle", async (args) => {
    const run = await loads(args);
    expect(run.stdout.length).toBeGreaterThan(0);
    expect(run.files.filter((f) => f.includes("dist"))).toEqual([]);
    expect(run.files.filter((f) => /node_modules[\\/](@grpc|conf|ora)[\\/]/.test(f))).toEqual([]);
    expect(run.builtins.filter((b) => GRPC_BUILTINS.includes(b))).toEqual([]);
  });

  it("help the bundle prints itself (`help <command>`) evaluates no gRPC code either", async () => {
    const run = await loads(["ignite", "help", "app", "list"]);
    expect(run.stdout).toMatch(/^Usage: dodil ignite app list/);
    expect(run.builtins.filter((b) => GRPC_BUILTINS.includes(b))).toEqual([]);
  });

  it("a command that calls the API does load them, so the probe sees what it claims to", async () => {
    // An unreachable endpoint: the call fails (exit 9), after the gRPC client was loaded.
    const run = await loads(["ignite", "app", "list", "--api-endpoint", "127.0.0.1:1", "--token", "t0123456789", "--debug", "--timeout", "2s"]);
    expect(run.code).toBe(9);
    expect(run.builtins).toEqual(expect.arrayContaining(GRPC_BUILTINS));
  });
});
