import { describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { expandVars, parseDockerfile, parseKeyValues } from "../../src/local/drivers/dockerfile.js";
import { extractArchive, inspectArchive } from "../../src/wire/archive.js";
import { HostDriver } from "../../src/local/drivers/host.js";
import { freePort } from "../../src/local/net.js";
import { ulid } from "../../src/local/ids.js";
import { PYTHON_BOOTSTRAP } from "../../src/local/managed-runtime/python/python-bootstrap.js";
import { copyRuntimeSources } from "../../src/local/managed-runtime/runtime-sources.js";
import { CompileRun } from "../../src/local/managed-runtime/toolchain-steps.js";
import { ToolchainSandbox } from "../../src/local/managed-runtime/toolchain-sandbox.js";
import { Store } from "../../src/local/store/store.js";
import { BuildFailure } from "../../src/local/drivers/types.js";
import { cleanup, tempDir } from "./helpers.js";
import { withSdkDependencies } from "../../src/local/managed-runtime/rust/rust-runtime.js";

describe("dockerfile parser", () => {
  it("handles continuations, comments, JSON/shell forms and flags", () => {
    const ins = parseDockerfile(`# syntax=docker/dockerfile:1
FROM python:3.12-slim AS base
RUN apt-get update && \\
    # a comment inside a continuation
    apt-get install -y curl
COPY --from=base --chown=1:1 a b /dst/
CMD ["python", "server.py"]
ENTRYPOINT exec python -m app
RUN <<EOF
echo hi
EOF
EXPOSE 8080
`);
    expect(ins.map((i) => i.keyword)).toEqual(["FROM", "RUN", "COPY", "CMD", "ENTRYPOINT", "RUN", "EXPOSE"]);
    expect(ins[1]!.rest).toBe("apt-get update &&     apt-get install -y curl");
    expect(ins[2]!.flags).toEqual({ from: "base", chown: "1:1" });
    expect(ins[2]!.rest).toBe("a b /dst/");
    expect(ins[3]!.json).toEqual(["python", "server.py"]);
    expect(ins[4]!.json).toBeUndefined();
    expect(ins[5]!.heredocs[0]!.body).toBe("echo hi\n");
  });

  it("expands variables and key/value forms", () => {
    const v = { A: "1", E: "" };
    expect(expandVars("$A-${A}-${B:-def}-${A:+alt}-${E-x}-\\$A", v)).toBe("1-1-def-alt--$A");
    expect(parseKeyValues('K1=v1 K2="two words"', "ENV")).toEqual([
      ["K1", "v1"],
      ["K2", "two words"],
    ]);
    expect(parseKeyValues("KEY some value here", "ENV")).toEqual([["KEY", "some value here"]]);
  });
});

describe("host driver build", () => {
  it("replays ARG/ENV/WORKDIR/COPY into rootfs and records the config", async () => {
    const dir = tempDir("hostbuild");
    try {
      const ctx = path.join(dir, "ctx");
      mkdirSync(path.join(ctx, "src", "pkg"), { recursive: true });
      writeFileSync(path.join(ctx, "src", "pkg", "m.py"), "x=1\n");
      writeFileSync(path.join(ctx, "a.txt"), "a");
      writeFileSync(path.join(ctx, "b.txt"), "b");
      symlinkSync("a.txt", path.join(ctx, "alias.txt"));
      writeFileSync(
        path.join(ctx, "Dockerfile"),
        `ARG BASE=python:3.12
FROM \${BASE} AS build
ARG MODE=dev
ENV MODE=$MODE PATH=/opt/venv/bin:$PATH
ENV LEGACY hello world
WORKDIR /srv
WORKDIR app
COPY src/ ./src/
COPY [ab].txt /data/
COPY a.txt single
ADD b.txt /opt/
USER 1000:1000
EXPOSE 8080/tcp 9090
ENTRYPOINT ["python"]
CMD ["-m", "src.pkg.m"]
`,
      );
      const archive = path.join(dir, "ctx.tar");
      execFileSync("tar", ["-cf", archive, "-C", ctx, "."]);
      const imageDir = path.join(dir, "image");
      mkdirSync(imageDir);
      const lines: string[] = [];
      const img = await new HostDriver().build(
        { buildId: "b1", org: "acme-corp", contextFile: archive, dockerfilePath: "Dockerfile", buildArgs: { MODE: "prod", UNUSED: "1" }, imageDir, imageRef: "local/x:1" },
        (l) => lines.push(l),
        new AbortController().signal,
      );
      const root = path.join(imageDir, "rootfs");
      expect(readFileSync(path.join(root, "srv/app/src/pkg/m.py"), "utf8")).toBe("x=1\n");
      expect(readFileSync(path.join(root, "data/a.txt"), "utf8")).toBe("a");
      expect(readFileSync(path.join(root, "data/b.txt"), "utf8")).toBe("b");
      expect(readFileSync(path.join(root, "srv/app/single"), "utf8")).toBe("a");
      expect(readFileSync(path.join(root, "opt/b.txt"), "utf8")).toBe("b");
      expect(img.config.workdir).toBe("/srv/app");
      expect(img.config.env).toEqual({ MODE: "prod", PATH: "/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LEGACY: "hello world" });
      expect(img.config.exposedPorts).toEqual([8080, 9090]);
      expect(img.config.entrypoint).toEqual(["python"]);
      expect(img.config.cmd).toEqual(["-m", "src.pkg.m"]);
      expect(img.config.user).toBe("1000:1000");
      expect(lines.some((l) => /not consumed: UNUSED/.test(l))).toBe(true);
      expect(lines).toContain("STEP 2/15: FROM ${BASE} AS build");
      expect(existsSync(path.join(imageDir, "context"))).toBe(false);
    } finally {
      cleanup(dir);
    }
  });
});

describe("archives", () => {
  it("extracts zip archives and keeps in-tree symlinks", async () => {
    const dir = tempDir("zip");
    try {
      execFileSync("python3", [
        "-c",
        [
          "import zipfile, stat",
          `z = zipfile.ZipFile('${dir}/c.zip', 'w', zipfile.ZIP_DEFLATED)`,
          "z.writestr('Dockerfile', 'FROM scratch\\n')",
          "z.writestr('app/main.py', 'print(1)\\n' * 100)",
          "i = zipfile.ZipInfo('app/link.py'); i.external_attr = (stat.S_IFLNK | 0o777) << 16",
          "z.writestr(i, 'main.py')",
          "z.close()",
        ].join("\n"),
      ]);
      const out = path.join(dir, "out");
      const info = await extractArchive(path.join(dir, "c.zip"), out);
      expect(info.kind).toBe("zip");
      expect(readFileSync(path.join(out, "app/main.py"), "utf8")).toBe("print(1)\n".repeat(100));
      expect(readlinkSync(path.join(out, "app/link.py"))).toBe("main.py");
    } finally {
      cleanup(dir);
    }
  });

  it("treats a non-archive as a single file and rejects FIFO entries", async () => {
    const dir = tempDir("single");
    try {
      writeFileSync(path.join(dir, "main.py"), "print('hi')\n");
      const info = await inspectArchive(path.join(dir, "main.py"), { singleFileName: "main.py" });
      expect(info.kind).toBe("file");
      expect(info.entries.map((e) => e.path)).toEqual(["main.py"]);
      execFileSync("python3", ["-c", `import tarfile\nt=tarfile.open('${dir}/d.tar','w')\ni=tarfile.TarInfo('fifo');i.type=tarfile.FIFOTYPE\nt.addfile(i)\nt.close()`]);
      await expect(inspectArchive(path.join(dir, "d.tar"))).rejects.toThrow(/FIFO/);
    } finally {
      cleanup(dir);
    }
  });

  it("rejects symlink chains that escape after extraction", async () => {
    const dir = tempDir("chain");
    try {
      // x/l -> .. (the root: fine on its own), y -> x/l/.. (lexically x, physically the parent of root)
      const src = path.join(dir, "src");
      mkdirSync(path.join(src, "x"), { recursive: true });
      symlinkSync("..", path.join(src, "x", "l"));
      symlinkSync("x/l/..", path.join(src, "y"));
      execFileSync("tar", ["-cf", path.join(dir, "c.tar"), "-C", src, "x", "y"]);
      await expect(extractArchive(path.join(dir, "c.tar"), path.join(dir, "out"))).rejects.toThrow(/outside/);
    } finally {
      cleanup(dir);
    }
  });
});

describe("ulid", () => {
  it("is 26 Crockford chars and monotonic", () => {
    const ids = Array.from({ length: 1000 }, () => ulid());
    for (const id of ids) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("control plane options", () => {
  it("generates and persists a token for org local; rejects unavailable drivers", async () => {
    const { startControlPlane } = await import("../../src/local/control-plane.js");
    const dataDir = tempDir("tokens");
    try {
      const opts = { listen: "127.0.0.1:0", gatewayListen: "127.0.0.1:0", dataDir, driver: "host" as const, tokens: {} };
      const a = await startControlPlane(opts);
      await a.stop();
      const b = await startControlPlane(opts);
      await b.stop();
      expect(Object.values(a.tokens)).toEqual(["local"]);
      expect(b.tokens).toEqual(a.tokens);
      expect(a.grpcEndpoint).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(a.gatewayUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const saved = process.env["DOCKER_HOST"];
      process.env["DOCKER_HOST"] = `unix://${dataDir}/no-such.sock`;
      try {
        await expect(startControlPlane({ ...opts, driver: "docker" })).rejects.toThrow(/driver docker is not usable: no Docker Engine API at unix:\/\/.*no-such\.sock/);
      } finally {
        if (saved === undefined) delete process.env["DOCKER_HOST"];
        else process.env["DOCKER_HOST"] = saved;
      }
      await expect(startControlPlane({ ...opts, driver: "nope" as "host" })).rejects.toThrow(/unknown driver 'nope'/);
    } finally {
      cleanup(dataDir);
    }
  });
});

describe("rust managed runtime: the app's Cargo.toml", () => {
  const sdk = 'ignite = { path = ".ignite/sdk/ignite" }';
  it("points ignite at the bundled SDK, whichever way the app listed it, and adds only the crates it does not list", () => {
    const manifest = [
      "[package]",
      'name = "hello-rs"',
      "",
      "[dependencies]",
      'ignite = "0.3"',
      'serde = { version = "1.0", features = ["derive", "rc"] }',
      "",
      "[dependencies.ignite]",
      'version = "9"',
      "",
      "[dev-dependencies]",
      'ignite = "0.3"',
    ].join("\n");
    const out = withSdkDependencies(manifest, new Set(["serde"])).split("\n");
    expect(out.slice(3, 8)).toEqual(["[dependencies]", sdk, 'serde_json = "1"', expect.stringMatching(/^tokio = \{ version = "1", features = \[/), 'serde = { version = "1.0", features = ["derive", "rc"] }']);
    expect(out.filter((l) => /^ignite\s*=/.test(l))).toEqual([sdk, 'ignite = "0.3"']); // the dev-dependency stays
    expect(out).not.toContain("[dependencies.ignite]");
    expect(out).not.toContain('version = "9"');
  });

  it("adds a [dependencies] table when there is none", () => {
    const out = withSdkDependencies('[package]\nname = "x"\n', new Set());
    expect(out).toMatch(/\n\[dependencies\]\nignite = \{ path = "\.ignite\/sdk\/ignite" \}\nserde = \{ version = "1", features = \["derive"\] \}\nserde_json = "1"\ntokio = /);
  });
});

describe("python managed runtime: the bootstrap's server", () => {
  it("listens with a backlog a burst of concurrent calls does not overflow (socketserver's default is 5)", async () => {
    const dir = tempDir("bootstrap");
    try {
      mkdirSync(path.join(dir, ".ignite"));
      writeFileSync(path.join(dir, "handler.py"), "def handler(payload, ctx):\n    return 'ok'\n");
      await copyRuntimeSources(PYTHON_BOOTSTRAP, path.join(dir, ".ignite"));
      const port = await freePort();
      const child = spawn("python3", [".ignite/bootstrap.py"], { cwd: dir, env: { ...process.env, PORT: String(port), IGNITE_BIND_HOST: "127.0.0.1" }, stdio: ["ignore", "pipe", "inherit"] });
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout!.on("data", (b: Buffer) => /serving/.test(b.toString()) && resolve());
          child.once("exit", (code) => reject(new Error(`the bootstrap exited with ${code}`)));
        });
        // for a listening socket, ss's Send-Q column is its backlog
        const line = execFileSync("ss", ["-ltnH", `sport = :${port}`], { encoding: "utf8" }).trim();
        const somaxconn = Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8"));
        expect(Number(line.split(/\s+/)[2])).toBe(Math.min(1024, somaxconn));
      } finally {
        child.kill("SIGKILL");
      }
    } finally {
      cleanup(dir);
    }
  });
});

describe("managed-runtime compile steps: toolchain runs", () => {
  const opts = { cwd: ".", env: {}, timeoutMs: 20_000, prefix: "tool", label: "tool build", missingHint: "the tool is not installed here" };
  /** A tool run in a workspace of a plane that runs toolchains as its own user (one organization). */
  const mustRunLogged = async (cmd: string, args: string[], o: typeof opts, log: (l: string) => void) => {
    const dir = tempDir("toolchain-run");
    const store = new Store(dir, () => undefined);
    await store.init();
    const ws = await new ToolchainSandbox({ store, severalOrgs: false, missing: "a unit test" }).open("acme-corp", log);
    try {
      await new CompileRun(store, ws, log, new AbortController().signal).mustTool(cmd, args, o);
    } finally {
      await ws.close();
      cleanup(dir);
    }
  };
  it("refuses a compile it cannot isolate while several organizations are served (the one-organization rule)", async () => {
    const dir = tempDir("toolchain-refused");
    try {
      const store = new Store(dir, () => undefined);
      await store.init();
      const refused = await new ToolchainSandbox({ store, severalOrgs: true, missing: "the plane does not run as root" }).open("acme-corp", () => undefined).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(BuildFailure);
      expect((refused as Error).message).toMatch(/cannot keep organizations apart here \(the plane does not run as root\), so with several organizations served they are refused/);
    } finally {
      cleanup(dir);
    }
  });

  it("logs each line once, whole, even when it arrives in two pieces", async () => {
    const lines: string[] = [];
    await mustRunLogged("sh", ["-c", "printf 'par'; sleep 0.2; printf 'tial\\n'; echo second >&2"], opts, (l) => lines.push(l));
    expect(lines).toEqual(["  tool: partial", "  tool: second"]);
  });

  it("fails the build with the tool's first error line and the two after it, else its last lines", async () => {
    const fail = (script: string) => mustRunLogged("sh", ["-c", script], opts, () => undefined).catch((e: unknown) => e);
    // as cargo does: everything on stderr (lines of two streams have no order between them)
    const first = await fail("{ echo compiling; echo 'error[E0425]: cannot find value'; echo ' --> src/lib.rs:3:8'; echo '  |'; echo later; } >&2; exit 101");
    expect(first).toBeInstanceOf(BuildFailure);
    expect((first as Error).message).toBe("tool build failed: error[E0425]: cannot find value; --> src/lib.rs:3:8; |");
    expect(((await fail("echo a; echo b; echo c; echo d; exit 1")) as Error).message).toBe("tool build failed: b; c; d");
  });

  it("names the missing tool's fix, and a timeout", async () => {
    const missing = await mustRunLogged("no-such-tool-for-ignite", [], opts, () => undefined).catch((e: unknown) => e);
    expect((missing as Error).message).toBe("the tool is not installed here");
    const slow = await mustRunLogged("sleep", ["5"], { ...opts, timeoutMs: 1_000 }, () => undefined).catch((e: unknown) => e);
    expect((slow as Error).message).toBe("tool build timed out after 1 s");
  });
});
