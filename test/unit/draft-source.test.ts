import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { resolveDraftSource, type SourceFlags } from "../../src/core/draft-source.js";
import { UsageError } from "../../src/errors.js";
import { tempDir } from "../helpers/temp-dirs.js";

let cwd: string;
beforeAll(() => {
  cwd = tempDir("src");
  mkdirSync(join(cwd, "app"));
  writeFileSync(join(cwd, "app", "Dockerfile"), "FROM scratch\n");
  writeFileSync(join(cwd, "handler.py"), "def handler(payload, ctx):\n    return 'hi'\n");
  writeFileSync(join(cwd, "code.tar.gz"), "not really");
  const sample = (dir: string, infoYaml: string) => {
    mkdirSync(join(cwd, dir));
    writeFileSync(join(cwd, dir, "info.yaml"), infoYaml);
  };
  sample("deno-sample", 'name: ask-your-notes\ndescription: "notes"\nruntime: deno # the sample\ninput:\n  runtime: python\n');
  sample("rust-sample", "runtime: 'rust-wasm'\n");
  sample("no-runtime", "name: x\ninput:\n  runtime: go\n");
  sample("bad-runtime", "runtime: cobol\n");
});

describe("draft save source flags", () => {
  it.each<[string, SourceFlags, RegExp]>([
    ["no source", {}, /no source given: pass one of --code/],
    ["--dockerfile-path without --code", { dockerfilePath: "Dockerfile" }, /--dockerfile-path requires a context/],
    ["two sources", { code: "app", gitUrl: "file:///repo" }, /--code and --git-url cannot be used together/],
    ["three sources", { code: "app", gitUrl: "x", imageRef: "y" }, /--code and --git-url and --image-ref cannot be used together/],
    ["--image-ref with --build-arg", { imageRef: "ghcr.io/a/b:1", buildArg: ["A=1"] }, /--build-arg cannot be used with --image-ref/],
    ["--image-ref with --dockerfile-path", { imageRef: "ghcr.io/a/b:1", dockerfilePath: "Dockerfile" }, /--dockerfile-path cannot be used with --image-ref/],
    ["missing --code path", { code: "nope" }, /--code nope does not exist/],
    ["Dockerfile missing from the context", { code: "app", dockerfilePath: "Dockerfile.prod" }, /--dockerfile-path Dockerfile.prod not found in app/],
    ["Dockerfile outside the context", { code: "app", dockerfilePath: "../Dockerfile" }, /must be a path inside the context/],
    ["--dockerfile-path with a single file", { code: "handler.py", dockerfilePath: "Dockerfile" }, /--dockerfile-path requires a context/],
    ["bad --build-arg", { code: "app", dockerfilePath: "Dockerfile", buildArg: ["NOEQUALS"] }, /invalid --build-arg "NOEQUALS"/],
    ["--git-ref without --git-url", { code: "app", gitRef: "main" }, /--git-ref needs --git-url/],
    ["--registry-secret-ref without --image-ref", { code: "app", registrySecretRef: "pull" }, /--registry-secret-ref needs --image-ref/],
    ["unknown runtime", { code: "app", runtime: "cobol" }, /invalid value "cobol" for --runtime/],
    ["--rust-target without --runtime", { code: "app", rustTarget: "native" }, /^--rust-target goes with --runtime rust$/],
    ["--rust-target with another runtime", { code: "handler.py", runtime: "python", rustTarget: "native" }, /--rust-target goes with --runtime rust, not --runtime python/],
    ["--toolchain with an image", { imageRef: "ghcr.io/a/b:1", toolchain: "1.82" }, /--toolchain goes with --runtime rust/],
    ["unknown --rust-target", { code: "app", runtime: "rust", rustTarget: "riscv" }, /invalid value "riscv" for --rust-target: use native or wasm/],
    ["an info.yaml runtime that is not one", { code: "bad-runtime" }, /^bad-runtime\/info\.yaml:\d+: runtime: cobol: use one of python, rust, go, deno there, or pass --runtime or --dockerfile-path$/],
    ["malformed --toolchain", { code: "app", runtime: "rust", toolchain: "latest!" }, /invalid value "latest!" for --toolchain/],
    ["--runtime with --dockerfile-path on an archive", { code: "code.tar.gz", runtime: "python", dockerfilePath: "Dockerfile" }, /--runtime and --dockerfile-path cannot be used together/],
  ])("%s", async (_name, flags, message) => {
    const error = await resolveDraftSource(flags, cwd).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
  });

  it("accepts the seed's directory + Dockerfile + build args", async () => {
    const source = await resolveDraftSource({ code: "./app", dockerfilePath: "Dockerfile", buildArg: ["APP_ENV=prod", "URL=https://x/?a=b"] }, cwd);
    expect(source).toMatchObject({ kind: "directory", path: join(cwd, "app"), dockerfilePath: "Dockerfile", buildArgs: { APP_ENV: "prod", URL: "https://x/?a=b" } });
  });

  it("classifies archives, single files, git and images", async () => {
    expect((await resolveDraftSource({ code: "code.tar.gz" }, cwd)).kind).toBe("archive");
    expect((await resolveDraftSource({ code: "handler.py", runtime: "python" }, cwd)).kind).toBe("file");
    expect(await resolveDraftSource({ gitUrl: "file:///repo", gitRef: "v1", dockerfilePath: "Dockerfile" }, cwd)).toMatchObject({ kind: "git", ref: "v1" });
    expect(await resolveDraftSource({ imageRef: "ghcr.io/acme/app:1.2.3", registrySecretRef: "pull" }, cwd)).toMatchObject({ kind: "image", registrySecretRef: "pull" });
  });

  it("takes the runtime from the directory's info.yaml when no --runtime or --dockerfile-path says otherwise", async () => {
    expect(await resolveDraftSource({ code: "deno-sample" }, cwd)).toMatchObject({ kind: "directory", runtime: "deno", runtimeFrom: "info.yaml" });
    expect(await resolveDraftSource({ code: "rust-sample" }, cwd)).toMatchObject({ runtime: "rust", rust: { target: "wasm" }, runtimeFrom: "info.yaml" });
    // a nested `runtime:` key is not the app's
    expect(await resolveDraftSource({ code: "no-runtime" }, cwd)).toMatchObject({ runtime: undefined });
    const flagged = await resolveDraftSource({ code: "deno-sample", runtime: "python" }, cwd);
    expect(flagged).toMatchObject({ runtime: "python" });
    expect(flagged).not.toHaveProperty("runtimeFrom");
    mkdirSync(join(cwd, "deno-sample", "web"));
    writeFileSync(join(cwd, "deno-sample", "web", "Dockerfile"), "FROM scratch\n");
    expect(await resolveDraftSource({ code: "deno-sample", dockerfilePath: "web/Dockerfile" }, cwd)).toMatchObject({ runtime: undefined, dockerfilePath: "web/Dockerfile" });
  });

  it("carries --rust-target and --toolchain with --runtime rust (native when not given)", async () => {
    expect(await resolveDraftSource({ code: "app", runtime: "rust", rustTarget: "wasm", toolchain: "1.82" }, cwd)).toMatchObject({ runtime: "rust", rust: { target: "wasm", toolchain: "1.82" } });
    expect(await resolveDraftSource({ code: "app", runtime: "rust", toolchain: "stable" }, cwd)).toMatchObject({ rust: { target: "native", toolchain: "stable" } });
    expect((await resolveDraftSource({ code: "app", runtime: "rust" }, cwd)).kind).toBe("directory");
  });
});
