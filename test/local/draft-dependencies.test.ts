/**
 * `draft save -d/--dependency NAME` (repeatable), as the platform documents it: the python managed
 * runtime installs the named packages with the app's requirements; an unavailable one fails the
 * compile naming it (offline, pip finds nothing to install); other sources warn naming what ignores
 * them. pip here reads only a wheel directory the test makes (PIP_NO_INDEX, no machine config), so no
 * package index is ever contacted.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDir, tempDir } from "../helpers/temp-dirs.js";
import { startWorkspace, withoutTraces, type Workspace } from "../helpers/workspace.js";

let workspace: Workspace;
let wheels: string;
const saved: Record<string, string | undefined> = {};
const cli: Workspace["cli"] = (argv, env, extra) => workspace.cli(argv, env, extra);

/** A minimal pure-Python wheel: ph_greeting with GREETING. */
const MAKE_WHEEL = `
import sys, zipfile
out = sys.argv[1] + "/ph_greeting-1.0-py3-none-any.whl"
files = {
  "ph_greeting/__init__.py": 'GREETING = "hello from a -d dependency"\\n',
  "ph_greeting-1.0.dist-info/METADATA": "Metadata-Version: 2.1\\nName: ph-greeting\\nVersion: 1.0\\n",
  "ph_greeting-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
files["ph_greeting-1.0.dist-info/RECORD"] = "".join(p + ",,\\n" for p in list(files) + ["ph_greeting-1.0.dist-info/RECORD"])
with zipfile.ZipFile(out, "w") as z:
  for p, text in files.items(): z.writestr(p, text)
`;

describe("draft save -d/--dependency", () => {
  beforeAll(async () => {
    wheels = tempDir("wheels");
    execFileSync("python3", ["-c", MAKE_WHEEL, wheels]);
    // a package index every user may read: as root the plane's compiles run as a user of their own
    chmodSync(wheels, 0o755);
    // The plane runs in this process: its pip sees only the test's wheels.
    for (const [k, v] of Object.entries({ PIP_NO_INDEX: "1", PIP_FIND_LINKS: wheels, PIP_CONFIG_FILE: "/dev/null" })) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    workspace = await startWorkspace("draft-deps");
    mkdirSync(join(workspace.work, "fn"));
    writeFileSync(join(workspace.work, "fn", "handler.py"), "from ph_greeting import GREETING\n\ndef handler(payload, ctx):\n    return {'greeting': GREETING}\n");
    writeFileSync(join(workspace.work, "fn", "requirements.txt"), "# nothing of its own\n");
    expect((await cli(["app", "create", "acme-corp:deps"])).exitCode).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await workspace?.close();
    removeDir(wheels);
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("the python runtime installs a named dependency, and the handler imports it", async () => {
    const save = await cli(["draft", "save", "acme-corp:deps", "-c", "fn", "--runtime", "python", "-d", "ph-greeting"]);
    expect(save.exitCode, save.stderr).toBe(0);
    const publish = await cli(["draft", "publish", "acme-corp:deps", "--quiet"]);
    expect(publish.exitCode, publish.stderr).toBe(0);
    const logs = await cli(["draft", "compile-logs", "acme-corp:deps"]);
    expect(logs.stdout + logs.stderr).toMatch(/Installing 1 dependency of the draft into \.ignite\/deps: ph-greeting/);
    const invoke = await cli(["invoke", "acme-corp:deps", "-p", "{}"]);
    expect(invoke.exitCode, invoke.stderr).toBe(0);
    expect(invoke.stdout).toMatch(/hello from a -d dependency/);
  }, 180_000);

  it("a dependency no index has fails the compile naming it, and publish says so; the version serving stays", async () => {
    const save = await cli(["draft", "save", "acme-corp:deps", "-c", "fn", "--runtime", "python", "-d", "ph-greeting", "-d", "ph-not-anywhere==9.9"]);
    const publish = save.exitCode === 0 ? await cli(["draft", "publish", "acme-corp:deps", "--quiet"]) : save;
    expect(publish.exitCode).not.toBe(0);
    expect(withoutTraces(publish.stderr).join("\n")).toMatch(/dependency ph-not-anywhere==9\.9 could not be installed: pip found no distribution for it/);
    const app = JSON.parse((await cli(["app", "get", "acme-corp:deps", "-o", "json"])).stdout);
    expect(app.active_version).toBe(1);
  }, 180_000);

  it("other sources warn naming what ignores the dependency, and send none", async () => {
    writeFileSync(join(workspace.work, "fn", "main.ts"), "console.log('x')\n");
    const deno = await cli(["draft", "save", "acme-corp:deps", "-c", "fn", "--runtime", "deno", "-d", "requests", "--dry-run"]);
    expect(deno.exitCode, deno.stderr).toBe(0);
    expect(deno.stderr).toMatch(/-d\/--dependency is installed only by the python runtime; ignored for the deno runtime \(requests\)/);
    const image = await cli(["draft", "save", "acme-corp:deps", "-c", "app", "--dockerfile-path", "Dockerfile", "-d", "requests", "-d", "numpy", "--dry-run"]);
    expect(image.exitCode, image.stderr).toBe(0);
    expect(image.stderr).toMatch(/ignored for an image build \(Dockerfile\) \(requests, numpy\)/);
  }, 60_000);

  it("a dependency that is not one requirement is a usage error, and nothing is sent", async () => {
    for (const bad of ["requests numpy", "https://example.invalid/x.whl", "-e."]) {
      const r = await cli(["draft", "save", "acme-corp:deps", "-c", "fn", "--runtime", "python", `--dependency=${bad}`]);
      expect(r.exitCode, `${bad}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/invalid --dependency/);
    }
  }, 60_000);
});
