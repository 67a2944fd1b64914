/**
 * The Deno managed runtime (reference §5.2) through the CLI: main.ts calls start(handler) from
 * "ignite", which deno.json maps to ./deno/sdk/ignite/bootstrap.ts, the SDK the runtime provides.
 * On the host driver and on podman (the Deno base image, a numeric non-root user). An import that
 * cannot be fetched fails the compile naming the specifier.
 */
import { cpSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_IMAGES, DENO_VERSION } from "../../src/local/drivers/base-images.js";
import { doctor } from "../../src/local/doctor.js";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { runCli } from "../helpers/run-cli.js";
import { removeDir, tempDir } from "../helpers/temp-dirs.js";
import { withoutTraces } from "../helpers/workspace.js";
import { denoMissing } from "./deno-app.js";
import { imageCache, inCI, localImageExists, podmanMissing } from "./container-helpers.js";

const fixtures = join(import.meta.dirname, "..", "fixtures");
// Hermetic: the JSR registry is a closed loopback port, wherever the test runs.
process.env["JSR_URL"] = "http://127.0.0.1:9/";

function suite(driver: "host" | "podman") {
  let cp: TestControlPlane;
  let work: string;
  const cli = (argv: string[]) => runCli(["ignite", ...argv], { env: cp.env, cwd: work });

  beforeAll(async () => {
    cp = await startTestControlPlane({ label: `deno-${driver}`, driver, ...(driver === "podman" ? { imageCacheDir: imageCache } : {}) });
    work = tempDir(`deno-${driver}-work`);
    cpSync(join(fixtures, "deno-app"), join(work, "app"), { recursive: true });
    cpSync(join(fixtures, "deno-unreachable"), join(work, "unreachable"), { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await cp?.stop();
    if (cp) removeDir(cp.dataDir);
    if (work) removeDir(work);
  });

  it("app deploy --runtime deno builds main.ts with the ignite SDK and serves its handler with the call's context", async () => {
    const deploy = await cli(["app", "deploy", "acme-corp:denohello", "--code", "./app", "--runtime", "deno", "--env", "GREETING_SUFFIX=!", "-o", "json"]);
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect(JSON.parse(deploy.stdout)).toMatchObject({ created: true, version: 1 });
    const logs = await cli(["draft", "compile-logs", "acme-corp:denohello"]);
    expect(logs.stdout).toMatch(/Compiling acme-corp\/denohello for the deno managed runtime/);
    expect(logs.stdout).toMatch(/deno install --entrypoint main\.ts/);

    const invoke = await cli(["invoke", "acme-corp:denohello", "-p", '{"name": "dino"}', "-o", "json"]);
    expect(invoke.exitCode, invoke.stderr).toBe(0);
    const result = JSON.parse(invoke.stdout);
    expect(result.status_code).toBe(200);
    expect(result.body).toMatchObject({ greeting: "hello dino", org: expect.stringMatching(/\S/), function_id: "acme-corp/denohello", env: "!" });
    expect(result.body.execution_id).toBe(result.execution_id);
    const text = await cli(["invoke", "acme-corp:denohello", "-p", '{"name": "t", "text": true}', "-o", "json"]);
    expect(JSON.parse(text.stdout)).toMatchObject({ status_code: 200, body: "text for t" });
    expect((await cli(["app", "logs", "acme-corp:denohello"])).stdout).toMatch(/handling dino/);
  }, 240_000);

  it("a thrown error is HTTP 500 with the error as JSON, and the server keeps serving", async () => {
    const failed = await cli(["invoke", "acme-corp:denohello", "-p", '{"fail": true}', "-o", "json"]);
    expect(failed.exitCode).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ status_code: 500, body: { error: "asked to fail", type: "Error" } });
    expect((await cli(["invoke", "acme-corp:denohello", "-p", '{"name": "again"}'])).stdout).toMatch(/hello again/);
  }, 60_000);

  it("a jsr: import the registry cannot serve fails the compile naming the specifier, without a stack", async () => {
    expect((await cli(["app", "create", "acme-corp:denojsr"])).exitCode).toBe(0);
    const save = await cli(["draft", "save", "acme-corp:denojsr", "--code", "./unreachable", "--runtime", "deno"]);
    expect(save.exitCode, save.stderr).toBe(0);
    const logs = await cli(["draft", "compile-logs", "acme-corp:denojsr", "--follow"]);
    expect(logs.exitCode).not.toBe(0);
    const err = withoutTraces(logs.stderr).join("\n");
    expect(err).toMatch(/cannot fetch jsr:@std\/ulid@\^1 \(imported as "@std\/ulid"\) at main\.ts:3: the JSR registry cannot be reached/);
    expect(err).not.toMatch(/Stack backtrace|at file:\/\//);
  }, 120_000);
}

describe.skipIf(!!denoMissing && !inCI)(`the deno managed runtime on the host driver${denoMissing ? ` (skipped: ${denoMissing})` : ""}`, () => suite("host"));

const podmanSkip = podmanMissing || denoMissing || (localImageExists(BASE_IMAGES.deno.refs[0]!) ? "" : `${BASE_IMAGES.deno.refs[0]} is not in the image cache (dodil ignite dev setup)`);
describe.skipIf(!!podmanSkip && !inCI)(`the deno managed runtime on podman${podmanSkip ? ` (skipped: ${podmanSkip})` : ""}`, () => suite("podman"));

describe.skipIf(!!denoMissing && !inCI)("dev doctor and the deno runtime", () => {
  it("reports the deno it compiles with, at the pinned version", async () => {
    const found = (await doctor()).runtimes.find((r) => r.runtime === "deno");
    expect(found).toEqual({ runtime: "deno", tool: "deno", version: DENO_VERSION, fix: "" });
  }, 60_000);
});
