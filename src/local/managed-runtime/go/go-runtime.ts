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
import type { Store } from "../../store/store.js";
import { exists } from "../../atomic-fs.js";
import { GO_SDK } from "./go-sdk.js";
import { copyRuntimeSources } from "../runtime-sources.js";
import { binaryDockerfile, COMPILE_DOCKERFILE, extractSource, mustRunLogged, packCompiled, type CompileInput, type CompileLog, type Compiled } from "../toolchain-steps.js";

const GO_TIMEOUT_MS = 600_000;

/** Runs the go tool in `dir`, offline; fails the build with its last lines. */
function goTool(args: string[], dir: string, log: CompileLog, signal: AbortSignal): Promise<void> {
  const env = {
    ...process.env,
    CGO_ENABLED: "0",
    GOFLAGS: "-mod=mod",
    // Offline: the app's own packages, the standard library and the bundled SDK only.
    GOPROXY: "off",
    GOSUMDB: "off",
    GOWORK: "off",
    GOTOOLCHAIN: "local",
  };
  const missingHint = "the Go toolchain (go) is not installed on the control plane's machine: install it (apt-get install golang-go) or use an image build";
  return mustRunLogged("go", args, { cwd: dir, env, timeoutMs: GO_TIMEOUT_MS, prefix: "go", missingHint, label: `go ${args[0]}` }, log, signal);
}

export async function compileGo(store: Store, c: CompileInput, log: CompileLog, signal: AbortSignal): Promise<Compiled> {
  const dir = store.tmpPath("compile");
  const out = store.tmpPath("compiled-go");
  try {
    log(`Compiling ${c.org}/${c.app} for the go managed runtime`);
    await extractSource(store, c, dir, "main.go", log);
    if (signal.aborted) throw new BuildFailure("build cancelled");
    const goFiles = (await fsp.readdir(dir)).filter((f) => f.endsWith(".go"));
    if (goFiles.length === 0) throw new BuildFailure(`no .go files at the root of the source (found: ${(await fsp.readdir(dir)).sort().slice(0, 10).join(", ") || "nothing"})`);
    await copyRuntimeSources(GO_SDK, path.join(dir, ".ignite", "sdk"));
    if (!(await exists(path.join(dir, "go.mod")))) {
      log("  no go.mod: creating one (go mod init)");
      await goTool(["mod", "init", c.app.replace(/[^A-Za-z0-9._-]/g, "-")], dir, log, signal);
    }
    // `import "ignite"` resolves to the bundled SDK.
    await goTool(["mod", "edit", "-require=ignite@v0.0.0", "-replace=ignite=./.ignite/sdk/ignite"], dir, log, signal);
    await goTool(["mod", "tidy"], dir, log, signal);
    log("Building a static linux binary (go build)");
    await fsp.mkdir(path.join(out, ".ignite"), { recursive: true });
    await goTool(["build", "-trimpath", "-o", path.join(out, ".ignite", "app"), "."], dir, log, signal);
    await fsp.writeFile(path.join(out, COMPILE_DOCKERFILE), binaryDockerfile("Go"));
    return await packCompiled(store, out, log, "the app's binary");
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.rm(out, { recursive: true, force: true });
  }
}
