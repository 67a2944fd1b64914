/**
 * The Rust managed runtime's compile (reference §5.2, §6.2, §6.3; target native), with the Rust
 * toolchain (cargo, rustc) of the control plane's machine and crates resolved offline from a local
 * crate directory: Debian's packaged crates at /usr/share/cargo/registry (apt-get install
 * librust-serde-dev librust-serde-derive-dev librust-serde-json-dev librust-tokio-dev), or
 * $IGNITE_CARGO_REGISTRY.
 *
 *   1. extracts the source (an archive with Cargo.toml and src/lib.rs, or one file, which becomes
 *      src/lib.rs under a generated Cargo.toml);
 *   2. checks there is a library target with an #[ignite::main] handler;
 *   3. adds the `ignite` SDK (rust-sdk.ts) under .ignite/sdk, points the app's `ignite` dependency
 *      at it, and adds serde (derive), serde_json and tokio when the app does not list them
 *      (`cargo add`, offline);
 *   4. builds a runner crate (.ignite/runner) whose main calls the handler's entry point: a static
 *      binary (crt-static), packed with .ignite/Dockerfile (busybox, non-root) as the build context.
 *
 * Compiled crates are kept per organization in the data dir (cache/compile/<org>/cargo-target), so
 * only an org's first Rust build compiles tokio and serde; a build script of one org cannot change
 * what another org's builds link. The wasm target answers UNIMPLEMENTED (see unsupportedRuntime).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants as fsConstants, promises as fsp } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { BuildFailure } from "../../drivers/types.js";
import { exists } from "../../atomic-fs.js";
import { RUST_SDK } from "./rust-sdk.js";
import { copyRuntimeSources } from "../runtime-sources.js";
import { binaryDockerfile, COMPILE_DOCKERFILE, packCompiled, type CompileInput, type Compiled, type CompileRun } from "../toolchain-steps.js";

const execFileP = promisify(execFile);
const CARGO_TIMEOUT_MS = 900_000;
const MISSING_CARGO = "the Rust toolchain (cargo) is not installed on the control plane's machine: install it (apt-get install cargo) or use an image build";
/** Debian's packages of the crates Rust apps build with (`apt-get install …`). */
export const CRATES_PACKAGES = "librust-serde-dev librust-serde-derive-dev librust-serde-json-dev librust-tokio-dev";

/** The local crate directory cargo resolves dependencies from (no network). */
export function cargoRegistryDir(env: NodeJS.ProcessEnv = process.env): string {
  return env["IGNITE_CARGO_REGISTRY"] || "/usr/share/cargo/registry";
}

/** The dependencies every Rust app gets when it does not list them (reference §5.2), as Cargo.toml lines. */
const INJECTED: ReadonlyArray<{ name: string; line: string }> = [
  { name: "serde", line: 'serde = { version = "1", features = ["derive"] }' },
  { name: "serde_json", line: 'serde_json = "1"' },
  { name: "tokio", line: 'tokio = { version = "1", features = ["rt-multi-thread", "macros", "time", "sync"] }' },
];

/**
 * The app's Cargo.toml with `ignite` pointing at the bundled SDK (whatever the app's own `ignite`
 * entry said: its `ignite = …` / `ignite.x = …` lines and [dependencies.ignite] table are dropped)
 * and the INJECTED crates it does not list. Line-based, which TOML allows: a dependency is a key at
 * the start of a line of its table, and inline tables cannot span lines. (`cargo add` would do this,
 * but older cargo versions resolve names wrongly against a directory source.)
 */
export function withSdkDependencies(manifest: string, listed: ReadonlySet<string>): string {
  const lines = manifest.split(/\r?\n/);
  const out: string[] = [];
  let table = "";
  for (const line of lines) {
    const header = /^\s*\[([^\]]*)\]\s*(#.*)?$/.exec(line);
    if (header) table = header[1]!.replace(/\s+/g, "");
    if (table === "dependencies.ignite") continue;
    if (table === "dependencies" && !header && /^\s*["']?ignite["']?\s*[.=]/.test(line)) continue;
    out.push(line);
  }
  const added = ['ignite = { path = ".ignite/sdk/ignite" }', ...INJECTED.filter((d) => !listed.has(d.name)).map((d) => d.line)];
  const at = out.findIndex((l) => /^\s*\[\s*dependencies\s*\]\s*(#.*)?$/.test(l));
  if (at >= 0) out.splice(at + 1, 0, ...added);
  else out.push("", "[dependencies]", ...added);
  return out.join("\n");
}

interface CargoPackage {
  name: string;
  /** kind: null for [dependencies], "dev" or "build" for the others. */
  dependencies: Array<{ name: string; rename?: string | null; kind?: string | null }>;
  targets: Array<{ name: string; kind: string[]; src_path: string }>;
}

export async function compileRust(r: CompileRun, c: CompileInput): Promise<Compiled> {
  const dir = r.dir;
  const registry = cargoRegistryDir();
  // Compiled crates are the org's (its compile user's), kept across its builds.
  const env = { CARGO_NET_OFFLINE: "true", CARGO_TERM_COLOR: "never", CARGO_TARGET_DIR: path.join(r.ws.cache, "cargo-target"), CARGO_HOME: path.join(r.ws.home, ".cargo") };
  // Crates come from the local directory, never from crates.io.
  const offline = ["--config", `source.crates-io.replace-with="ignite-offline"`, "--config", `source.ignite-offline.directory=${JSON.stringify(registry)}`];
  const cargo = (args: string[], cwd: string, extraEnv: NodeJS.ProcessEnv = {}) =>
    r.mustTool("cargo", [...offline, ...args], { cwd, env: { ...env, ...extraEnv }, timeoutMs: CARGO_TIMEOUT_MS, prefix: "cargo", missingHint: MISSING_CARGO, label: `cargo ${args[0]}` });
  r.log(`Compiling ${c.org}/${c.app} for the rust managed runtime (target native)`);
  const kind = await r.extractSource(c, "src/lib.rs");
  r.checkCancelled();
  if (!(await exists(path.join(dir, "Cargo.toml")))) {
    if (kind === "archive" && !(await exists(path.join(dir, "src", "lib.rs")))) {
      throw new BuildFailure(`Cargo.toml not found at the root of the source (found: ${(await fsp.readdir(dir)).sort().slice(0, 10).join(", ") || "nothing"})`);
    }
    r.log("  no Cargo.toml: creating one for src/lib.rs");
    await fsp.writeFile(path.join(dir, "Cargo.toml"), `[package]\nname = ${JSON.stringify(crateName(c.app))}\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n`);
  }
  if (!(await exists(registry))) throw new BuildFailure(`no local crate directory at ${registry}: install the crates Rust apps build with (apt-get install ${CRATES_PACKAGES}) or set IGNITE_CARGO_REGISTRY`);
  await copyRuntimeSources(RUST_SDK, path.join(dir, ".ignite", "sdk"));

  const pkg = await cargoMetadata(r, { ...env }, offline);
  const lib = pkg.targets.find((t) => t.kind.includes("lib"));
  if (!lib) throw new BuildFailure("the crate has no library target: the handler goes in src/lib.rs, marked #[ignite::main]");
  if (!(await hasMainAttribute(path.dirname(lib.src_path)))) {
    throw new BuildFailure("no #[ignite::main] handler in the crate's sources: mark it, e.g. #[ignite::main] fn handler(req: ignite::Request, ctx: ignite::Context) -> Result<serde_json::Value, ignite::Error>");
  }
  // only [dependencies] count: a dev-dependency is not there when the library is built
  const listed = new Set(pkg.dependencies.filter((d) => d.name !== "ignite" && !d.kind).map((d) => d.rename || d.name));
  for (const dep of INJECTED) if (!listed.has(dep.name)) r.log(`  adding ${dep.name}: the app does not list it`);
  const manifest = await fsp.readFile(path.join(dir, "Cargo.toml"), "utf8");
  await fsp.writeFile(path.join(dir, "Cargo.toml"), withSdkDependencies(manifest, listed));

  // The runner: a binary whose main serves the handler. A name of its own per build, because the
  // target dir is shared and the binary is taken out of it once built.
  const bin = `ignite-app-${randomBytes(6).toString("hex")}`;
  const runner = path.join(dir, ".ignite", "runner");
  await fsp.mkdir(runner, { recursive: true });
  await fsp.writeFile(path.join(runner, "Cargo.toml"), runnerManifest(bin, pkg.name));
  await fsp.writeFile(path.join(runner, "main.rs"), "fn main() {\n    app::__ignite_start()\n}\n");
  const { host, release } = await rustcInfo();
  const wanted = String(((c.runtime as Record<string, Record<string, unknown>> | undefined)?.["rust"] ?? {})["toolchainVersion"] ?? "");
  if (wanted && !release.startsWith(wanted)) r.log(`  [Warning] toolchain ${wanted} was asked for; this machine builds with rustc ${release}`);
  const out = r.ws.out;
  await fsp.mkdir(path.join(out, ".ignite"), { recursive: true });
  await fsp.writeFile(path.join(out, COMPILE_DOCKERFILE), binaryDockerfile("Rust"));
  r.log(`Building a static linux binary (cargo build --release --target ${host})`);
  // An explicit --target keeps crt-static off the proc macros, which cannot be static.
  await cargo(["build", "--release", "--target", host], runner, { RUSTFLAGS: "-C target-feature=+crt-static" });
  // the binary the build wrote, as the plane sees the org's cache (never through a link the build made)
  const built = path.join(r.ws.hostCache, "cargo-target", host, "release", bin);
  const binary = await fsp.open(built, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW).catch(() => undefined);
  if (!binary || !(await binary.stat()).isFile()) {
    await binary?.close();
    throw new BuildFailure(`cargo build wrote no binary ${bin}`);
  }
  try {
    // read through this descriptor, opened without following a link the build left at that name
    await fsp.writeFile(path.join(out, ".ignite", "app"), await binary.readFile(), { mode: 0o755 });
  } finally {
    await binary.close();
  }
  await fsp.rm(built, { force: true });
  return await packCompiled(r.store, out, r.log, "the app's binary");
}

/** The runner crate's manifest: a binary `bin` whose main calls the app crate's entry point. */
function runnerManifest(bin: string, app: string): string {
  return [
    "[package]",
    'name = "ignite-runner"',
    'version = "0.0.0"',
    'edition = "2021"',
    "publish = false",
    "",
    "[[bin]]",
    `name = ${JSON.stringify(bin)}`,
    'path = "main.rs"',
    "",
    "[dependencies]",
    `app = { path = "../..", package = ${JSON.stringify(app)} }`,
    "",
    "# its own workspace: the app's Cargo.toml is not one",
    "[workspace]",
    "",
  ].join("\n");
}

/** A valid crate name from an app name. */
function crateName(app: string): string {
  const n = app.replace(/[^A-Za-z0-9_-]/g, "-").replace(/^[^A-Za-z]+/, "");
  return n || "app";
}

/** The app's package as cargo reads its Cargo.toml (no dependency resolution, no network). */
async function cargoMetadata(r: CompileRun, env: NodeJS.ProcessEnv, offline: string[]): Promise<CargoPackage> {
  const res = await r.ws.exec("cargo", [...offline, "metadata", "--no-deps", "--format-version", "1"], { cwd: r.dir, env, timeoutMs: 60_000, maxBuffer: 16 * 1024 * 1024, signal: r.signal });
  if (res.spawnError === "ENOENT") throw new BuildFailure(MISSING_CARGO);
  if (res.code !== 0) {
    const lines = res.stderr.split("\n").map((l) => l.trim()).filter(Boolean);
    throw new BuildFailure(`Cargo.toml cannot be read: ${lines.slice(0, 3).join("; ") || "cargo metadata failed"}`);
  }
  let packages: CargoPackage[];
  try {
    packages = (JSON.parse(res.stdout) as { packages: CargoPackage[] }).packages;
  } catch {
    throw new BuildFailure("Cargo.toml cannot be read: cargo metadata answered no JSON");
  }
  const pkg = packages.find((p) => path.dirname((p as { manifest_path?: string }).manifest_path ?? "") === r.dir);
  if (!pkg) throw new BuildFailure("Cargo.toml at the root of the source describes no package (a workspace alone cannot be deployed)");
  return pkg;
}

/** Whether a .rs file under `srcDir` carries the handler attribute. */
async function hasMainAttribute(srcDir: string): Promise<boolean> {
  const files = await fsp.readdir(srcDir, { recursive: true }).catch(() => [] as string[]);
  for (const f of files) {
    if (!String(f).endsWith(".rs")) continue;
    const text = await fsp.readFile(path.join(srcDir, String(f)), "utf8").catch(() => "");
    if (/#\s*\[\s*(ignite\s*::\s*)?main\s*\]/.test(text)) return true;
  }
  return false;
}

/** The host's target triple and rustc's release (rustc -vV). */
async function rustcInfo(): Promise<{ host: string; release: string }> {
  try {
    const { stdout } = await execFileP("rustc", ["-vV"], { timeout: 30_000 });
    const host = /^host:\s*(\S+)/m.exec(stdout)?.[1];
    if (host) return { host, release: /^release:\s*(\S+)/m.exec(stdout)?.[1] ?? "" };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new BuildFailure(MISSING_CARGO.replace("(cargo)", "(rustc)"));
  }
  throw new BuildFailure("cannot tell the Rust toolchain's host target (rustc -vV)");
}
