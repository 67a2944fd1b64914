/**
 * The compile path (CodeSource.compile): turns a managed-runtime draft's source into a build
 * context that runs through the same driver seam as image builds. BuildParams.prepare runs the
 * runtime's compile, logged in the build/compile log:
 *
 *   python  python/    handler.py + requirements, with the runtime's bootstrap server
 *   go      go/        a static binary built against the bundled `ignite` package
 *   rust    rust/      a static binary built against the bundled `ignite` crate (target native)
 *   deno    deno/      main.ts with the `ignite` SDK and its imports cached at compile time
 *
 * Rust's wasm target answers UNIMPLEMENTED naming what is missing.
 */
import type { JsonValue } from "@bufbuild/protobuf";
import type { BuildParams } from "../build/build-manager.js";
import { unimplemented } from "../errors.js";
import type { Store } from "../store/store.js";
import { compileDeno } from "./deno/deno-runtime.js";
import { compileGo } from "./go/go-runtime.js";
import { compilePython } from "./python/python-runtime.js";
import { compileRust } from "./rust/rust-runtime.js";
import { COMPILE_DOCKERFILE, CompileRun, type CompileInput, type CompileLog, type Compiled } from "./toolchain-steps.js";
import type { ToolchainSandbox } from "./toolchain-sandbox.js";

export type { CompileInput } from "./toolchain-steps.js";

export type RuntimeName = "python" | "rust" | "go" | "deno";

/** The runtime named by a draft's stored Runtime (protobuf JSON); python when absent. */
export function runtimeName(runtime: JsonValue | undefined): RuntimeName {
  const r = (runtime ?? {}) as Record<string, unknown>;
  for (const k of ["python", "rust", "go", "deno"] as const) if (k in r) return k;
  return "python";
}

/** MCP/catalog runtime label: "python", "rust-native", "rust-wasm", "go", "deno". */
export function runtimeLabel(runtime: JsonValue | undefined): string {
  const n = runtimeName(runtime);
  if (n !== "rust") return n;
  const t = String(((runtime as Record<string, Record<string, unknown>>)["rust"] ?? {})["target"] ?? "");
  return t.endsWith("WASM") ? "rust-wasm" : "rust-native";
}

/** Why a runtime cannot be compiled here, or undefined when it can. */
export function unsupportedRuntime(runtime: JsonValue | undefined): string | undefined {
  const label = runtimeLabel(runtime);
  if (label === "rust-wasm") return "the rust managed runtime's wasm target is not available on the local control plane (its native target is: --rust-target native)";
  return undefined;
}

/** UNIMPLEMENTED for runtimes the local control plane cannot compile; returns the runtime otherwise. */
export function requireSupportedRuntime(runtime: JsonValue | undefined, what: string): RuntimeName {
  const why = unsupportedRuntime(runtime);
  if (why) throw unimplemented(`${why}; cannot ${what}. Use an image build instead (a Dockerfile with --dockerfile-path)`);
  return runtimeName(runtime);
}

const COMPILERS = { python: compilePython, go: compileGo, rust: compileRust, deno: compileDeno } as const;

/**
 * Build parameters of a compile: BuildManager runs `prepare` (the compile, its toolchain in a
 * workspace of `toolchains`) then the driver build.
 */
export function compileBuildParams(store: Store, c: CompileInput, toolchains: ToolchainSandbox): BuildParams {
  const runtime = requireSupportedRuntime(c.runtime, "compile");
  const compile = COMPILERS[runtime];
  return {
    org: c.org,
    app: c.app,
    kind: "compile",
    contextDigest: c.sourceDigest,
    dockerfilePath: COMPILE_DOCKERFILE,
    buildArgs: {},
    prepare: (log, signal) => {
      // Only the python runtime installs SaveDraftRequest.dependencies (the platform's docs); the others
      // resolve their own manifests (go.mod, Cargo.toml, deno.json), so the names are ignored, said so.
      if (runtime !== "python" && c.dependencies?.length) log(`[Warning] dependencies are installed only by the python runtime; ignored for the ${runtime} runtime: ${c.dependencies.join(", ")}`);
      return inWorkspace(toolchains, { store, c, log, signal }, compile);
    },
  };
}

/** Runs a compiler in a fresh workspace of the org's, removed afterwards. */
async function inWorkspace(
  toolchains: ToolchainSandbox,
  o: { store: Store; c: CompileInput; log: CompileLog; signal: AbortSignal },
  compile: (r: CompileRun, c: CompileInput) => Promise<Compiled>,
): Promise<Compiled> {
  const ws = await toolchains.open(o.c.org, o.log);
  try {
    o.log(`The toolchain runs ${ws.describe}`);
    return await compile(new CompileRun(o.store, ws, o.log, o.signal), o.c);
  } finally {
    await ws.close();
  }
}
