import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { removeDir } from "../helpers/control-plane.js";

// bin/compile-cache.js: the bundle runs the same with a code cache, without one, and with a bad one.
const dodil = join(import.meta.dirname, "..", "..", "bin", "dodil.js");
const execFileAsync = promisify(execFile);
let home: string;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "ignite-compile-cache-"));
});
afterEach(() => removeDir(home));

async function dodilRun(args: string[], env: Record<string, string> = {}) {
  const result = await execFileAsync(process.execPath, [dodil, ...args], { cwd: home, env: { PATH: process.env.PATH ?? "", HOME: home, ...env } });
  return { stdout: result.stdout, stderr: result.stderr };
}

function cacheFiles(root = join(home, ".cache", "dodil", "compile")): string[] {
  return existsSync(root) ? readdirSync(root).map((name) => join(root, name)) : [];
}

describe("the V8 code cache of the CLI bundle", () => {
  it("is written by the first run (0600, one file) and used by the next, with the same output", async () => {
    const first = await dodilRun(["ignite", "config", "view", "-o", "json"]);
    const [cache, ...others] = cacheFiles();
    expect(others).toEqual([]);
    expect(cache).toMatch(/main-[0-9a-f]{8}-\d+-\d+-v\d+\.\d+\.\d+-\w+\.cache$/);
    expect(statSync(cache as string).mode & 0o777).toBe(0o600);
    const written = statSync(cache as string).mtimeMs;
    const second = await dodilRun(["ignite", "config", "view", "-o", "json"]);
    expect(second).toEqual(first);
    expect(JSON.parse(second.stdout).config_file).toBe(join(home, ".config", "unified-cli", "config.yaml"));
    // A run that accepted the cache leaves it alone.
    expect(statSync(cache as string).mtimeMs).toBe(written);
  });

  it("is made again once for each command area it has not seen, then holds them all", async () => {
    await dodilRun(["ignite", "config", "view"]);
    const [cache] = cacheFiles();
    const header = () => readFileSync(cache as string, "latin1").split("\n")[0];
    expect(header()).toBe('IGNITE-CC1 ["ignite config"]');
    const before = statSync(cache as string).size;
    const completion = await dodilRun(["completion", "bash"]);
    expect(completion.stdout).toMatch(/complete -o default -F _dodil_complete dodil/);
    expect(header()).toBe('IGNITE-CC1 ["ignite config","completion"]');
    // Everything the first cache held is still compiled when the second is made: it only grows.
    expect(statSync(cache as string).size).toBeGreaterThan(before);
    const written = statSync(cache as string).mtimeMs;
    await dodilRun(["completion", "bash"]);
    await dodilRun(["ignite", "config", "path"]);
    expect(statSync(cache as string).mtimeMs).toBe(written);
  });

  it("still loads external ES modules (conf, for a config write) in a run from the cache", async () => {
    await dodilRun(["ignite", "config", "path"]);
    expect(cacheFiles()).toHaveLength(1);
    const result = await dodilRun(["ignite", "config", "set", "output", "yaml"]);
    expect(result.stderr).toMatch(/ignite\.output set/);
    expect(readFileSync(join(home, ".config", "unified-cli", "config.yaml"), "utf8")).toMatch(/output: yaml/);
  });

  it("is replaced when it is corrupt, and the run is unaffected", async () => {
    const clean = await dodilRun(["ignite", "config", "view", "-o", "json"]);
    const [cache] = cacheFiles();
    writeFileSync(cache as string, "not a code cache");
    const result = await dodilRun(["ignite", "config", "view", "-o", "json"]);
    expect(result).toEqual(clean);
    expect(readFileSync(cache as string).length).toBeGreaterThan(1000);
  });

  it("is not written with NODE_DISABLE_COMPILE_CACHE=1, or where the cache directory cannot be made", async () => {
    const disabled = await dodilRun(["ignite", "config", "path"], { NODE_DISABLE_COMPILE_CACHE: "1" });
    expect(disabled.stdout.trim()).toBe(join(home, ".config", "unified-cli", "config.yaml"));
    expect(cacheFiles()).toEqual([]);
    // XDG_CACHE_HOME names a file: no cache, no message, same result.
    const blocker = join(home, "not-a-directory");
    writeFileSync(blocker, "");
    const blocked = await dodilRun(["ignite", "config", "path"], { XDG_CACHE_HOME: blocker });
    expect(blocked).toEqual(disabled);
  });

  it("ignores a relative XDG_CACHE_HOME, as the XDG spec says, and uses ~/.cache", async () => {
    await dodilRun(["ignite", "config", "path"], { XDG_CACHE_HOME: "relative-cache" });
    expect(cacheFiles()).toHaveLength(1);
    expect(existsSync(join(home, "relative-cache"))).toBe(false);
  });
});
