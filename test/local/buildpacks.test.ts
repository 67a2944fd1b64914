/**
 * The buildpacks-like path with the host driver (no container tools needed): a Python and a Node
 * context without a Dockerfile build from a generated one, the log says so, and the apps answer.
 * Also the platform's USER rule under the host driver, and the units behind both.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { BuildStatus } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import { detectStack, generateDockerfile } from "../../src/local/drivers/buildpacks.js";
import { detectPipMirror } from "../../src/local/drivers/containers.js";
import { dockerfileImages } from "../../src/local/drivers/container-build.js";
import { runAsNonRootViolation } from "../../src/local/runtime/run-as-non-root.js";
import { createApp, expectBuildSucceeds, followBuild, invoke, NODE_SERVER, publish, saveContext } from "./container-helpers.js";
import { startTestControlPlane, type BuildClient, type ComputeClient, type TestControlPlane } from "../helpers/control-plane.js";
import { grpcCode } from "../helpers/rpc-client.js";
import { cleanup, makeTarGz, SERVER_PY, tempDir } from "./helpers.js";

let fixture: TestControlPlane;
let c: ComputeClient;
let b: BuildClient;

beforeAll(async () => {
  fixture = await startTestControlPlane({ label: "buildpacks" });
  ({ compute: c, build: b } = fixture);
});

afterAll(async () => {
  await fixture?.stop();
});

describe("without a Dockerfile (host driver)", () => {
  it("detects Python, generates the Dockerfile, says so in the log, and serves", async () => {
    await createApp(c, "py", { healthPath: "/health" });
    const saved = await saveContext(c, b, "py", await makeTarGz({ "requirements.txt": "# stdlib\n", "server.py": SERVER_PY.replace("__TAG__", "bp") }), { dockerfilePath: "" });
    const build = await followBuild(c, saved.draft!.deployId);
    expect(build.status, build.lines.join("\n")).toBe(BuildStatus.SUCCEEDED);
    expect(build.lines).toContain("No Dockerfile given: generating one (buildpacks-like path)");
    expect(build.lines.some((l) => /detected Python \(requirements\.txt, server\.py\)/.test(l))).toBe(true);
    expect(build.lines).toContain("  | FROM python:3.12-slim");
    expect(build.lines).toContain('  | CMD ["python","server.py"]');
    await publish(c, "py");
    const r = await invoke(c, "py", { name: "bp" });
    expect(r.json["greeting"]).toBe("Hello, bp!");
    expect(r.json["tag"]).toBe("bp");
  }, 60_000);

  it("detects Node with a start script", async () => {
    await createApp(c, "nd");
    const pkg = JSON.stringify({ name: "nd", version: "1.0.0", scripts: { start: "node server.js" } });
    const saved = await saveContext(c, b, "nd", await makeTarGz({ "package.json": pkg, "server.js": NODE_SERVER }), { dockerfilePath: "" });
    const build = await followBuild(c, saved.draft!.deployId);
    expect(build.status, build.lines.join("\n")).toBe(BuildStatus.SUCCEEDED);
    expect(build.lines.some((l) => /detected Node\.js/.test(l))).toBe(true);
    expect(build.lines).toContain('  | CMD ["npm","start"]');
    await publish(c, "nd");
    const r = await invoke(c, "nd", { a: 1 }, "/x?y=2");
    expect(r.json).toMatchObject({ runtime: "node", path: "/x?y=2", got: { a: 1 }, env: "production" });
  }, 60_000);

  it.each([
    ["nothing to go on", "none", { "README.md": "hi\n" }, /no recognised stack in the build context \([^)]*\): pass dockerfile_path$/],
    ["a Rust crate", "crate", { "Cargo.toml": "[package]\n", "src/lib.rs": "" }, /pass dockerfile_path, or save it for the rust managed runtime \(Cargo\.toml: a Rust crate\)$/],
    ["Go sources", "gosrc", { "main.go": "package main\n" }, /pass dockerfile_path, or save it for the go managed runtime \(Go sources\)$/],
  ])("rejects a context with neither a Dockerfile path nor a recognised stack: %s", async (_name, app, files, message) => {
    await createApp(c, app);
    const e = await saveContext(c, b, app, await makeTarGz(files), { dockerfilePath: "" }).catch((x: unknown) => x);
    expect(grpcCode(e)).toBe(grpc.status.INVALID_ARGUMENT);
    expect(String((e as Error).message)).toMatch(message);
  });
});

describe("runtime rules under the host driver", () => {
  it("refuses a named USER like CreateContainerConfigError", async () => {
    await createApp(c, "named");
    const df = 'FROM python:3.12-slim\nCOPY server.py .\nUSER app\nCMD ["python", "server.py"]\n';
    const saved = await saveContext(c, b, "named", await makeTarGz({ Dockerfile: df, "server.py": SERVER_PY }));
    await expectBuildSucceeds(c, saved.draft!.deployId);
    const e = await publish(c, "named").catch((x: unknown) => x);
    expect(grpcCode(e)).toBe(grpc.status.FAILED_PRECONDITION);
    expect(String((e as Error).message)).toMatch(/CreateContainerConfigError: USER app is not numeric, so the platform cannot verify that the user is non-root/);
  });
});

describe("units", () => {
  it("runAsNonRootViolation follows the platform's rule", () => {
    expect(runAsNonRootViolation("65534")).toBeUndefined();
    expect(runAsNonRootViolation("1000:1000")).toBeUndefined();
    expect(runAsNonRootViolation("1000:staff")).toBeUndefined();
    expect(runAsNonRootViolation("")).toBeUndefined();
    expect(runAsNonRootViolation("0")).toMatch(/is root/);
    expect(runAsNonRootViolation("0:0")).toMatch(/is root/);
    expect(runAsNonRootViolation("root")).toMatch(/not numeric/);
    expect(runAsNonRootViolation("app:app")).toMatch(/not numeric/);
  });

  it("dockerfileImages lists external FROM images with ARGs expanded, skipping stages and scratch", () => {
    const df = "ARG BASE=python\nARG TAG\nFROM ${BASE}:${TAG} AS build\nRUN x\nFROM build\nFROM scratch\nFROM busybox AS final\nCOPY --from=build /a /a\n";
    expect(dockerfileImages(df, { TAG: "3.12-slim" })).toEqual(["python:3.12-slim", "busybox"]);
    expect(dockerfileImages(df, { BASE: "node", TAG: "20" })).toEqual(["node:20", "busybox"]);
  });

  it("dockerfileImages lists the images COPY --from and RUN --mount from= read; refuses RUN --network", () => {
    const df = [
      "ARG OTHER=local.ignite/acme-corp/victim:1",
      "FROM busybox AS one",
      "FROM busybox",
      // redeclared in the stage: the global value
      "ARG OTHER",
      "COPY --from=one /a /a",
      "COPY --from=0 /a /b",
      "COPY --chown=1 --from=${OTHER} /app /stolen",
      "RUN --mount=type=cache,target=/c --mount=type=bind,from=acme-corp/victim:1,target=/v --mount=type=bind,from=one,target=/w ls /v",
      "",
    ].join("\n");
    expect(dockerfileImages(df, {})).toEqual(["busybox", "local.ignite/acme-corp/victim:1", "acme-corp/victim:1"]);
    expect(() => dockerfileImages("FROM busybox\nRUN --network=host wget http://127.0.0.1/\n", {})).toThrow(/line 2: RUN --network=host: build steps run without a network here/);
    expect(dockerfileImages("FROM busybox\nRUN --network=none true\n", {})).toEqual(["busybox"]);
    // a stage's ARG, from a build arg or its default, as buildah expands it
    expect(dockerfileImages("FROM busybox\nARG IMG\nCOPY --from=$IMG /a /a\n", { IMG: "acme-corp/victim:1" })).toEqual(["busybox", "acme-corp/victim:1"]);
    expect(dockerfileImages("FROM busybox\nARG IMG=acme-corp/victim:2\nRUN --mount=from=${IMG},target=/v true\n", {})).toEqual(["busybox", "acme-corp/victim:2"]);
  });

  it("detectStack and generateDockerfile", async () => {
    expect(detectStack(["package.json", "requirements.txt"])).toBe("node");
    expect(detectStack(["app.py"])).toBe("python");
    expect(detectStack(["sub/package.json", "README"])).toBe("");
    const dir = tempDir("bp-unit");
    try {
      mkdirSync(path.join(dir, "a"));
      writeFileSync(path.join(dir, "a", "requirements.txt"), "fastapi\nuvicorn[standard]\n");
      writeFileSync(path.join(dir, "a", "main.py"), "from fastapi import FastAPI\napp = FastAPI()\n");
      const g = await generateDockerfile(path.join(dir, "a"));
      expect(g?.stack).toBe("python");
      expect(g?.dockerfile).toContain('CMD ["sh","-c","exec uvicorn main:app --host 0.0.0.0 --port $PORT"]');
      expect(g?.dockerfile).toContain("USER 65534");
      mkdirSync(path.join(dir, "b"));
      writeFileSync(path.join(dir, "b", "package.json"), JSON.stringify({ dependencies: { x: "1" } }));
      writeFileSync(path.join(dir, "b", "Procfile"), "web: node web.js --port $PORT\n");
      const n = await generateDockerfile(path.join(dir, "b"));
      expect(n?.dockerfile).toContain("RUN npm install --omit=dev");
      expect(n?.dockerfile).toContain('CMD ["sh","-c","node web.js --port $PORT"]');
      expect(await generateDockerfile(dir)).toBeUndefined();
    } finally {
      cleanup(dir);
    }
  });

  it("detectPipMirror passes local indexes through and ignores remote ones", async () => {
    const dir = tempDir("pip");
    try {
      mkdirSync(path.join(dir, "idx", "simple"), { recursive: true });
      mkdirSync(path.join(dir, "wheels"));
      const m = await detectPipMirror({
        PATH: "/nonexistent",
        PIP_INDEX_URL: "https://pypi.example.invalid/simple",
        PIP_EXTRA_INDEX_URL: `file://${dir}/idx/simple`,
        PIP_FIND_LINKS: `${dir}/wheels`,
      });
      expect(m.env["PIP_INDEX_URL"]).toBe(`file://${dir}/idx/simple`);
      expect(m.env["PIP_FIND_LINKS"]).toBe(`${dir}/wheels`);
      expect(m.mounts).toEqual([`${dir}/idx`, `${dir}/wheels`].sort());
      const none = await detectPipMirror({ PATH: "/nonexistent" });
      expect(none.env).toEqual({});
    } finally {
      cleanup(dir);
    }
  });
});
