/**
 * `draft publish` says what it already knows: a build that fails is reported with the step that
 * failed and a pointer to `draft compile-logs`; on a terminal the build log streams to stderr while
 * publish waits, and --quiet silences it. The build is held on a fetch from a JSR registry this test
 * serves (JSR_URL, see startHeldRegistry), so it is still running when publish starts, and is released by what the test sees.
 */
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { runCli } from "../helpers/run-cli.js";
import { removeDir, tempDir } from "../helpers/temp-dirs.js";
import { withoutTraces } from "../helpers/workspace.js";
import { denoMissing } from "./deno-app.js";
import { inCI } from "./container-helpers.js";
import { outsideMissing, startOutsideServer } from "../helpers/outside-server.js";


/**
 * A JSR registry whose every answer waits until the test releases it (then 404). Where compiles run
 * in a network namespace of their own (root with ip), they reach the outside only through the
 * plane's egress proxy, which refuses this machine's addresses: the registry is then "outside", in a
 * namespace the test makes; elsewhere it is on loopback.
 */
interface HeldRegistry {
  url: string;
  onRequest?: () => void;
  release(): void;
  close(): void;
}

async function startHeldRegistry(): Promise<HeldRegistry> {
  if (!outsideMissing) {
    const outside = await startOutsideServer({ held: true });
    const registry: HeldRegistry = { url: `http://${outside.address}:${outside.port}/`, release: () => outside.release(), close: () => outside.close() };
    outside.onRequest = () => registry.onRequest?.();
    return registry;
  }
  const held: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    held.push(() => res.writeHead(404, { "content-type": "text/plain" }).end("no such package"));
    registry.onRequest?.();
    req.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const registry: HeldRegistry = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    release: () => held.splice(0).forEach((answer) => answer()),
    close: () => void server.close(),
  };
  return registry;
}

let registry: HeldRegistry | undefined;
const release = () => registry?.release();

let cp: TestControlPlane;
let work: string;
const cli = (argv: string[], extra: Parameters<typeof runCli>[1] = {}) => runCli(["ignite", ...argv], { env: cp.env, cwd: work, ...extra });

describe.skipIf(!!denoMissing && !inCI)("draft publish reports the build", () => {
  beforeAll(async () => {
    registry = await startHeldRegistry();
    process.env["JSR_URL"] = registry.url;
    // not offline: the compile reaches the outside registry through the egress proxy (the host driver pulls nothing)
    cp = await startTestControlPlane({ label: "publish-report", ...(outsideMissing ? {} : { offline: false }) });
    work = tempDir("publish-report");
    cpSync(join(import.meta.dirname, "..", "fixtures", "deno-unreachable"), join(work, "held"), { recursive: true });
    mkdirSync(join(work, "badcopy"));
    writeFileSync(join(work, "badcopy", "Dockerfile"), "FROM python:3.12-slim\nWORKDIR /app\nCOPY missing.txt /app/\nCMD [\"python3\", \"-m\", \"http.server\"]\n");
  }, 60_000);

  afterAll(async () => {
    release();
    await cp?.stop();
    if (cp) removeDir(cp.dataDir);
    if (work) removeDir(work);
    registry?.close();
  });

  /** Saves the held app's draft and resolves once its build is waiting on the registry. */
  async function saveHeld(app: string): Promise<void> {
    expect((await cli(["app", "create", `acme-corp:${app}`])).exitCode).toBe(0);
    const waiting = new Promise<void>((resolve) => (registry!.onRequest = resolve));
    const save = await cli(["draft", "save", `acme-corp:${app}`, "--code", "./held", "--runtime", "deno"]);
    expect(save.exitCode, save.stderr).toBe(0);
    await waiting;
  }

  it("on a terminal the build log streams to stderr while publish waits, and the failure names the step and compile-logs", async () => {
    await saveHeld("streamed");
    // Released only once publish has streamed a line of the running build.
    const publish = await cli(["draft", "publish", "acme-corp:streamed"], {
      stderrIsTTY: true,
      onStderr: (chunk) => {
        if (/Compiling acme-corp\/streamed for the deno managed runtime/.test(chunk)) release();
      },
    });
    expect(publish.exitCode).not.toBe(0);
    const err = withoutTraces(publish.stderr).join("\n");
    expect(err).toMatch(/^ {2}Compiling acme-corp\/streamed for the deno managed runtime$/m);
    expect(err).toMatch(/the build of acme-corp\/streamed failed at compile \(build bld_\w+\): cannot fetch jsr:@std\/ulid@\^1/);
    expect(err).toMatch(/the whole log: dodil ignite draft compile-logs acme-corp:streamed/);
  }, 120_000);

  it("--quiet publishes without the log", async () => {
    await saveHeld("quiet");
    const publishing = cli(["draft", "publish", "acme-corp:quiet", "--quiet"], { stderrIsTTY: true });
    release();
    const publish = await publishing;
    expect(publish.exitCode).not.toBe(0);
    expect(publish.stderr).not.toMatch(/Compiling acme-corp\/quiet/);
    expect(publish.stderr).toMatch(/failed at compile/);
  }, 120_000);

  it("an image build that fails names its STEP", async () => {
    expect((await cli(["app", "create", "acme-corp:badcopy"])).exitCode).toBe(0);
    expect((await cli(["draft", "save", "acme-corp:badcopy", "--code", "./badcopy", "--dockerfile-path", "Dockerfile"])).exitCode).toBe(0);
    const publish = await cli(["draft", "publish", "acme-corp:badcopy"]);
    expect(publish.exitCode).not.toBe(0);
    expect(publish.stderr).toMatch(/the build of acme-corp\/badcopy failed at STEP 3\/4: COPY missing\.txt \/app\/ \(build bld_\w+\): .*; the whole log: dodil ignite draft compile-logs acme-corp:badcopy/);
  }, 60_000);
});
