/**
 * The Go managed runtime's compile (reference §5.2, §6.2), with the Go toolchain of the control
 * plane's machine:
 *
 *   1. extracts the source (an archive with .go files and go.mod at the root, or one file, which
 *      becomes main.go);
 *   2. adds the `ignite` SDK (go/sdk/ignite) under .ignite/sdk/ignite, and a go.mod when there is none;
 *      points the app's go.mod at the SDK (`import "ignite"`) and runs `go mod tidy` offline;
 *   3. builds a static linux binary (CGO_ENABLED=0), and packs it with .ignite/Dockerfile (busybox,
 *      non-root) as the build context: the image holds the binary, not the sources.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { BuildFailure } from "../../drivers/types.js";
import { exists } from "../../atomic-fs.js";
import { GO_SDK } from "./go-sdk.js";
import { copyRuntimeSources } from "../runtime-sources.js";
import { binaryDockerfile, COMPILE_DOCKERFILE, packCompiled, type CompileInput, type Compiled, type CompileRun } from "../toolchain-steps.js";

const GO_TIMEOUT_MS = 600_000;
const MISSING_GO = "the Go toolchain (go) is not installed on the control plane's machine: install it (apt-get install golang-go) or use an image build";

/** Runs the go tool in the source directory, offline, with the org's caches; fails the build with its last lines. */
function goTool(r: CompileRun, args: string[]): Promise<void> {
  const env = {
    CGO_ENABLED: "0",
    GOFLAGS: "-mod=mod",
    // Offline: the app's own packages, the standard library and the bundled SDK only.
    GOPROXY: "off",
    GOSUMDB: "off",
    GOWORK: "off",
    GOTOOLCHAIN: "local",
    GOCACHE: path.join(r.ws.cache, "go-build"),
    GOMODCACHE: path.join(r.ws.cache, "go-mod"),
    GOPATH: path.join(r.ws.home, "go"),
  };
  return r.mustTool("go", args, { env, timeoutMs: GO_TIMEOUT_MS, prefix: "go", missingHint: MISSING_GO, label: `go ${args[0]}` });
}

export async function compileGo(r: CompileRun, c: CompileInput): Promise<Compiled> {
  const dir = r.dir;
  r.log(`Compiling ${c.org}/${c.app} for the go managed runtime`);
  await r.extractSource(c, "main.go");
  r.checkCancelled();
  const goFiles = (await fsp.readdir(dir)).filter((f) => f.endsWith(".go"));
  if (goFiles.length === 0) throw new BuildFailure(`no .go files at the root of the source (found: ${(await fsp.readdir(dir)).sort().slice(0, 10).join(", ") || "nothing"})`);
  await copyRuntimeSources(GO_SDK, path.join(dir, ".ignite", "sdk"));
  if (!(await exists(path.join(dir, "go.mod")))) {
    r.log("  no go.mod: creating one (go mod init)");
    await goTool(r, ["mod", "init", c.app.replace(/[^A-Za-z0-9._-]/g, "-")]);
  }
  // `import "ignite"` resolves to the bundled SDK.
  await goTool(r, ["mod", "edit", "-require=ignite@v0.0.0", "-replace=ignite=./.ignite/sdk/ignite"]);
  await goTool(r, ["mod", "tidy"]);
  r.log("Building a static linux binary (go build)");
  // the plane writes what it packs before the toolchain runs, never into what the toolchain wrote
  await fsp.mkdir(path.join(r.ws.out, ".ignite"), { recursive: true });
  await fsp.writeFile(path.join(r.ws.out, COMPILE_DOCKERFILE), binaryDockerfile("Go"));
  await goTool(r, ["build", "-trimpath", "-o", path.join(r.ws.out, ".ignite", "app"), "."]);
  return await packCompiled(r.store, r.ws.out, r.log, "the app's binary");
}
