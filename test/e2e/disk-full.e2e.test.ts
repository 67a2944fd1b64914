import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACME_TOKEN, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { runCli } from "../helpers/run-cli.js";

/** A data directory on a 3 MB tmpfs: mounting needs root, as CI and the dev machines have. */
const isRoot = process.getuid?.() === 0;
let mountPoint = "";
let fixture: TestControlPlane | undefined;
let work: string;

beforeAll(async () => {
  if (!isRoot) return;
  mountPoint = mkdtempSync(join(tmpdir(), "ignite-full-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", mountPoint], { stdio: "ignore" });
  fixture = await startTestControlPlane({ dataDir: join(mountPoint, "data") });
  work = mkdtempSync(join(tmpdir(), "ignite-full-work-"));
  cpSync(join(import.meta.dirname, "..", "..", "examples", "greeter"), join(work, "app"), { recursive: true });
});

afterAll(async () => {
  await fixture?.stop();
  // Fails ("target is busy") if stop() left anything open in the data directory.
  if (mountPoint) execFileSync("umount", [mountPoint]);
  if (mountPoint) rmSync(mountPoint, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!isRoot && !process.env.CI)("a full data directory", () => {
  it("refuses the upload with exit 7, keeps the state, and works again once there is room", async () => {
    const env = { IGNITE_API_ENDPOINT: fixture!.plane.grpcEndpoint, IGNITE_TOKEN: ACME_TOKEN, IGNITE_DEBUG: "1" };
    expect((await runCli(["ignite", "app", "create", "acme-corp:big"], { env })).exitCode).toBe(0);
    mkdirSync(join(work, "app", "data"));
    writeFileSync(join(work, "app", "data", "noise.bin"), randomBytes(4_000_000));
    const full = await runCli(["ignite", "draft", "save", "acme-corp:big", "--code", "app", "--dockerfile-path", "Dockerfile"], { env, cwd: work });
    expect(full.exitCode).toBe(7);
    expect(full.stderr).toMatch(/data directory is full/);
    expect(JSON.parse((await runCli(["ignite", "draft", "info", "acme-corp:big", "-o", "json"], { env })).stdout)).toEqual({ status: "no draft" });
    rmSync(join(work, "app", "data"), { recursive: true });
    const small = await runCli(["ignite", "draft", "save", "acme-corp:big", "--code", "app", "--dockerfile-path", "Dockerfile", "-o", "json"], { env, cwd: work });
    expect(small.exitCode, small.stderr).toBe(0);
    expect(JSON.parse(small.stdout).draft.status).toBe("VERSION_STATUS_DRAFT");
  });
});
