import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkContextSize } from "../../src/core/context-size.js";
import { CliError } from "../../src/errors.js";
import { removeDir, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dirs.js";

let cp: TestControlPlane;
let work: string;

beforeAll(async () => {
  cp = await startTestControlPlane();
  work = mkdtempSync(join(tmpdir(), "ignite-save-"));
  const app = join(work, "app");
  mkdirSync(join(app, "node_modules", "left-pad"), { recursive: true });
  mkdirSync(join(app, "data"));
  writeFileSync(join(app, "Dockerfile"), 'FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nUSER 65534\nCMD ["python", "server.py"]\n');
  writeFileSync(join(app, "server.py"), "print('hi')\n");
  writeFileSync(join(app, "node_modules", "left-pad", "index.js"), "module.exports = 1;\n");
  writeFileSync(join(app, "data", "big.bin"), Buffer.alloc(5000, 7));
  writeFileSync(join(app, "secret.env"), "TOKEN=abc\n");
  writeFileSync(join(app, ".dockerignore"), "# local secrets stay local\n*.env\n");
});

afterAll(async () => {
  await cp?.stop();
  removeDir(cp?.dataDir ?? "");
  removeDir(work ?? "");
});

const cli = (argv: string[]) => runCli(["ignite", ...argv], { env: cp.env, cwd: work });

describe("draft save: the build context", () => {
  it("--dry-run packs locally, lists what would be sent and contacts no server", async () => {
    const result = await runCli(["ignite", "draft", "save", "acme-corp:x", "--code", "app", "--dockerfile-path", "Dockerfile", "--dry-run", "-o", "json"], {
      cwd: work,
      env: { IGNITE_API_ENDPOINT: "127.0.0.1:1", IGNITE_DEBUG: "1" },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(plan.files.map((f: { path: string }) => f.path)).toEqual([".dockerignore", "Dockerfile", "data/big.bin", "server.py"]);
    expect(plan.files.find((f: { path: string }) => f.path === "server.py")).toEqual({ path: "server.py", size: 12, mode: "0644", type: "file" });
    expect(plan).toMatchObject({ file_count: 4, total_bytes: expect.any(Number), archive_bytes: expect.any(Number) });
    expect(plan.excluded).toEqual(
      expect.arrayContaining([
        { path: "node_modules", rule: "node_modules", source: "default" },
        { path: "secret.env", rule: "*.env", source: ".dockerignore:2" },
      ]),
    );
    expect(result.stderr).not.toMatch(/ComputeService|BuildService/);
  });

  it("--explain names the rule behind each exclusion", async () => {
    const result = await cli(["draft", "save", "acme-corp:x", "--code", "app", "--dry-run", "--explain"]);
    expect(result.stdout).toMatch(/node_modules\s+\(default exclude node_modules\)/);
    expect(result.stdout).toMatch(/secret\.env\s+\(\.dockerignore:2: \*\.env\)/);
    expect(result.stdout).toMatch(/4 files, .*dry run: nothing was sent/);
  });

  it("--no-default-excludes sends node_modules too", async () => {
    const result = await cli(["draft", "save", "acme-corp:x", "--code", "app", "--dry-run", "--no-default-excludes", "-o", "json"]);
    expect(JSON.parse(result.stdout).files.map((f: { path: string }) => f.path)).toContain("node_modules/left-pad/index.js");
  });

  it("warns above the size threshold, naming the largest paths with an ignore line", async () => {
    const result = await cli(["draft", "save", "acme-corp:x", "--code", "app", "--dry-run", "--size-warning", "1kB"]);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(/Warning: the build context is 5\.\d kB \(over 1\.0 kB\)/);
    expect(result.stderr).toMatch(/5\.0 kB {2}data\/ {4}\(to leave it out, add "data\/" to \.dockerignore\)/);
    const quiet = await cli(["draft", "save", "acme-corp:x", "--code", "app", "--dry-run", "--size-warning", "0"]);
    expect(quiet.stderr).not.toMatch(/Warning/);
  });

  it("refuses an archive over the hard limit before sending it", () => {
    const archive = { sizeBytes: 3000, totalBytes: 3000, files: [] };
    expect(() => checkContextSize(archive, 0, 2000)).toThrow(CliError);
    expect(() => checkContextSize(archive, 0, 2000)).toThrow(/the limit is 2000 bytes/);
  });

  it("does not upload an unchanged context again", async () => {
    expect((await cli(["app", "create", "acme-corp:same"])).exitCode).toBe(0);
    const args = ["draft", "save", "acme-corp:same", "--code", "app", "--dockerfile-path", "Dockerfile", "-o", "json"];
    const first = JSON.parse((await cli(args)).stdout);
    const second = JSON.parse((await cli(args)).stdout);
    expect(first.uploaded_bytes).toBe(first.archive_bytes);
    expect(second.uploaded_bytes).toBe(0);
    expect(second.digest).toBe(first.digest);
    expect(second.context_id).toBe(first.context_id);
    const info = JSON.parse((await cli(["draft", "info", "acme-corp:same", "-o", "json"])).stdout);
    expect(info.code_hash).toBe(first.digest);
  });

  it("does not even pack a tree unchanged since its last save", async () => {
    const tree = join(work, "settled");
    cpSync(join(work, "app"), tree, { recursive: true });
    // Files older than the racy window (2 s), as in any tree not being edited right now.
    const past = new Date(Date.now() - 60_000);
    for (const name of ["Dockerfile", "server.py", ".dockerignore", "secret.env", "data/big.bin", "data", "node_modules/left-pad/index.js", ""]) utimesSync(join(tree, name), past, past);
    await cli(["app", "create", "acme-corp:settled"]);
    const home = tempDir("cache-home");
    const save = () => runCli(["ignite", "draft", "save", "acme-corp:settled", "--code", "settled", "--dockerfile-path", "Dockerfile", "-o", "json"], { env: cp.env, cwd: work, home });
    const first = JSON.parse((await save()).stdout);
    const second = await save();
    expect(first.packed).toBe(true);
    expect(JSON.parse(second.stdout)).toMatchObject({ packed: false, uploaded_bytes: 0, digest: first.digest, context_id: first.context_id });
    expect(second.stderr).not.toMatch(/UploadBuildContext/);
    // A change is noticed: the next save packs again.
    writeFileSync(join(tree, "server.py"), "print('changed')\n");
    utimesSync(join(tree, "server.py"), past, new Date(Date.now() - 30_000));
    const third = JSON.parse((await save()).stdout);
    expect(third.packed).toBe(true);
    expect(third.digest).not.toBe(first.digest);
  });

  it("does not pack a large unchanged tree either (streamed the first time), and packs it again when a file's mtime moves", async () => {
    // Above 8 MiB the first save packs while it uploads; its walk is also the cache's signature.
    const tree = join(work, "settled-large");
    mkdirSync(join(tree, "data"), { recursive: true });
    writeFileSync(join(tree, "Dockerfile"), 'FROM python:3.12-slim\nCOPY . /app\nUSER 65534\nCMD ["python", "/app/x.py"]\n');
    writeFileSync(join(tree, "data", "blob.bin"), randomBytes(9 * 1024 * 1024));
    const past = new Date(Date.now() - 60_000);
    for (const name of ["Dockerfile", "data/blob.bin", "data", ""]) utimesSync(join(tree, name), past, past);
    await cli(["app", "create", "acme-corp:settled-large"]);
    const home = tempDir("cache-home-large");
    const save = () => runCli(["ignite", "draft", "save", "acme-corp:settled-large", "--code", "settled-large", "--dockerfile-path", "Dockerfile", "--size-warning", "0", "-o", "json"], { env: cp.env, cwd: work, home });
    const first = JSON.parse((await save()).stdout);
    expect(first).toMatchObject({ packed: true });
    expect(first.uploaded_bytes).toBeGreaterThan(9 * 1024 * 1024);
    expect(JSON.parse((await save()).stdout)).toMatchObject({ packed: false, uploaded_bytes: 0, digest: first.digest });
    // Same bytes, another mtime: the cache cannot vouch for it, so the tree is packed (and found on the server).
    utimesSync(join(tree, "data", "blob.bin"), past, new Date(Date.now() - 30_000));
    expect(JSON.parse((await save()).stdout)).toMatchObject({ packed: true, digest: first.digest });
  });

  it("prints a byte count line when stderr is not a terminal", async () => {
    await cli(["app", "create", "acme-corp:progress"]);
    writeFileSync(join(work, "app", "server.py"), `print(${Date.now()})\n`);
    const result = await cli(["draft", "save", "acme-corp:progress", "--code", "app", "--dockerfile-path", "Dockerfile"]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^Uploading [\d.]+ (B|kB) \/ [\d.]+ (B|kB)$/m);
  });

  it.each([
    [["--explain"], /--explain goes with --dry-run/],
    [["--dry-run", "--image-ref", "x/y:1"], /--dry-run needs --code/],
    [["--dry-run", "--size-warning", "lots"], /invalid size "lots"/],
  ])("rejects %j", async (extra, message) => {
    const argv = extra.includes("--image-ref") ? ["draft", "save", "acme-corp:x", ...extra] : ["draft", "save", "acme-corp:x", "--code", "app", ...extra];
    const result = await cli(argv);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
