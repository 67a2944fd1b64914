import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import {
  ComputeService,
  CreateAppRequestSchema,
  GetAppRequestSchema,
  ListAppsRequestSchema,
  SaveDraftRequestSchema,
  UpdateAppConfigRequestSchema,
  DeleteAppRequestSchema,
  HealthCheckRequestSchema,
  GetDraftInfoRequestSchema,
  PublishDraftRequestSchema,
} from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { BuildService, UploadBuildContextRequestSchema, type UploadBuildContextRequest } from "../../src/gen/dodil/ignite/v1/build_pb.js";
import { DeploymentState, ResourceTier, CodeKind } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import * as refl from "../../src/gen/grpc/reflection/v1/reflection_pb.js";
import * as reflAlpha from "../../src/gen/grpc/reflection/v1alpha/reflection_pb.js";
import { ChatCompletionRequestSchema, ModelService } from "../../src/gen/dodil/ignite/v1/model_pb.js";
import { OTHER_TOKEN as OTHER, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { grpcCode, rpcError, type RpcClient } from "../helpers/rpc-client.js";
import { cleanup, makeTarGz, tempDir } from "./helpers.js";

let fixture: TestControlPlane;
let c: RpcClient<typeof ComputeService>;
let b: RpcClient<typeof BuildService>;

beforeAll(async () => {
  fixture = await startTestControlPlane({ label: "api" });
  ({ compute: c, build: b } = fixture);
});

afterAll(async () => {
  await fixture?.stop();
});

describe("apps", () => {
  it("creates, gets, lists, rejects duplicates and unknowns", async () => {
    expect(fixture.plane.driver).toBe("host");
    const res = await c.createApp(
      create(CreateAppRequestSchema, { name: "greeter", description: "FastAPI greeter", env: { A: "1" } }),
    );
    expect(res.appId).toBe("acme-corp/greeter");
    expect(res.deploymentState).toBe(DeploymentState.CREATED);
    expect(res.appliedTier).toBe(ResourceTier.SMALL);
    expect(res.appliedLimits?.memoryMb).toBe(256);
    expect(res.appliedLimits?.cpuMillicores).toBe(250);
    expect(res.app?.organizationId).toMatch(/^org_[0-9a-f]{16}$/);
    expect(res.app?.publicUrls).toEqual([]);

    await c.createApp(create(CreateAppRequestSchema, { organizationName: "acme-corp", name: "alpha", resourceTier: ResourceTier.LARGE }));
    const got = await c.getApp(create(GetAppRequestSchema, { appName: "greeter" }));
    expect(got.app?.description).toBe("FastAPI greeter");
    expect(got.app?.env).toEqual({ A: "1" });

    const list = await c.listApps(create(ListAppsRequestSchema, {}));
    expect(list.apps.map((a) => a.name)).toEqual(["alpha", "greeter"]);
    const page1 = await c.listApps(create(ListAppsRequestSchema, { limit: 1 }));
    expect(page1.apps.map((a) => a.name)).toEqual(["alpha"]);
    const page2 = await c.listApps(create(ListAppsRequestSchema, { limit: 1, cursor: page1.nextCursor }));
    expect(page2.apps.map((a) => a.name)).toEqual(["greeter"]);
    expect(page2.nextCursor).toBe("");

    const dup = await rpcError(c.createApp(create(CreateAppRequestSchema, { name: "greeter" })));
    expect(grpcCode(dup)).toBe(grpc.status.ALREADY_EXISTS);
    expect(dup.details).toBe("app acme-corp/greeter already exists");

    const nf = await rpcError(c.getApp(create(GetAppRequestSchema, { appName: "nope" })));
    expect(grpcCode(nf)).toBe(grpc.status.NOT_FOUND);
    expect(nf.details).toBe("app acme-corp/nope not found");

    const bad = await rpcError(c.createApp(create(CreateAppRequestSchema, { name: "Bad_Name" })));
    expect(grpcCode(bad)).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it("patches config", async () => {
    const r = await c.updateAppConfig(
      create(UpdateAppConfigRequestSchema, { appName: "greeter", envSet: { B: "2" }, envUnset: ["A"], healthPath: "/health", resourceTier: ResourceTier.MEDIUM }),
    );
    expect(r.app?.env).toEqual({ B: "2" });
    expect(r.app?.healthPath).toBe("/health");
    expect(r.app?.limits?.memoryMb).toBe(512);
    expect(r.app?.description).toBe("FastAPI greeter");
    await c.deleteApp(create(DeleteAppRequestSchema, { appName: "alpha" }));
    const list = await c.listApps(create(ListAppsRequestSchema, {}));
    expect(list.apps.map((a) => a.name)).toEqual(["greeter"]);
  });

  it("enforces auth and org scoping", async () => {
    const none = await rpcError(c.getApp(create(GetAppRequestSchema, { appName: "greeter" }), { token: null }));
    expect(grpcCode(none)).toBe(grpc.status.UNAUTHENTICATED);
    expect(none.details).toBe("missing bearer token");
    const wrong = await rpcError(c.getApp(create(GetAppRequestSchema, { appName: "greeter" }), { token: "nope" }));
    expect(grpcCode(wrong)).toBe(grpc.status.UNAUTHENTICATED);
    expect(wrong.details).toBe("invalid token");
    const other = await rpcError(c.getApp(create(GetAppRequestSchema, { organizationName: "acme-corp", appName: "greeter" }), { token: OTHER }));
    expect(grpcCode(other)).toBe(grpc.status.PERMISSION_DENIED);
    expect(other.details).toBe("token for org other-org may not access org acme-corp");
    // the other org simply does not see acme's apps
    const list = await c.listApps(create(ListAppsRequestSchema, {}), { token: OTHER });
    expect(list.apps).toEqual([]);
    const health = await c.healthCheck(create(HealthCheckRequestSchema, {}), { token: null });
    expect(health.status).toBe("SERVING");
  });

  it("answers UNIMPLEMENTED naming the method for inference", async () => {
    const e = await rpcError(fixture.model.chatCompletion(create(ChatCompletionRequestSchema, { model: "kimi-k2.5" })));
    expect(grpcCode(e)).toBe(grpc.status.UNIMPLEMENTED);
    expect(e.details).toContain("ModelService.ChatCompletion is not available on the local control plane");
  });
});

describe("build contexts", () => {
  const upload = (bytes: Buffer, opts: { digest?: string; name?: string; token?: string } = {}) => {
    const msgs: UploadBuildContextRequest[] = [
      create(UploadBuildContextRequestSchema, {
        payload: { case: "metadata", value: { contentType: "application/gzip", name: opts.name ?? "ctx.tar.gz", expectedSizeBytes: BigInt(bytes.length), digest: opts.digest ?? "" } },
      }),
    ];
    for (let off = 0; off < bytes.length; off += 1024 * 1024) {
      msgs.push(create(UploadBuildContextRequestSchema, { payload: { case: "chunk", value: bytes.subarray(off, off + 1024 * 1024) } }));
    }
    return b.uploadBuildContext(msgs, { token: opts.token });
  };

  it("uploads, verifies digest, scopes contexts per org, validates the Dockerfile path", async () => {
    const bytes = await makeTarGz({ Dockerfile: "FROM scratch\nCMD [\"true\"]\n", "a.txt": "x".repeat(3 * 1024 * 1024) });
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    const r = await upload(bytes, { digest });
    expect(r.digest).toBe(digest);
    expect(r.contextId).toBe(`ctx_${digest.slice(7, 31)}`);
    expect(Number(r.sizeBytes)).toBe(bytes.length);

    const bad = await rpcError(upload(bytes, { digest: `sha256:${"0".repeat(64)}` }));
    expect(grpcCode(bad)).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/digest mismatch/);

    // another org cannot use it
    await c.createApp(create(CreateAppRequestSchema, { name: "thief" }), { token: OTHER });
    const stolen = await rpcError(c
      .saveDraft(create(SaveDraftRequestSchema, { appName: "thief", code: { source: { case: "image", value: { source: { case: "fromCode", value: { contextId: r.contextId, dockerfilePath: "Dockerfile" } } } } } }), { token: OTHER }));
    expect(grpcCode(stolen)).toBe(grpc.status.NOT_FOUND);

    await c.createApp(create(CreateAppRequestSchema, { name: "ctxapp" }));
    const noDf = await rpcError(c
      .saveDraft(create(SaveDraftRequestSchema, { appName: "ctxapp", code: { source: { case: "image", value: { source: { case: "fromCode", value: { contextId: r.contextId, dockerfilePath: "docker/Dockerfile" } } } } } })));
    expect(grpcCode(noDf)).toBe(grpc.status.INVALID_ARGUMENT);
    expect(noDf.details).toBe("Dockerfile 'docker/Dockerfile' not found in the build context");

    const none = await c.getDraftInfo(create(GetDraftInfoRequestSchema, { appName: "ctxapp" }));
    expect(none.draft).toBeUndefined();

    // prebuilt images are stored but cannot be published offline
    const pre = await c.saveDraft(
      create(SaveDraftRequestSchema, { appName: "ctxapp", code: { source: { case: "image", value: { source: { case: "prebuilt", value: { imageRef: "ghcr.io/acme/x:1" } } } } } }),
    );
    expect(pre.draft?.codeKind).toBe(CodeKind.PREBUILT);
    const pub = await rpcError(c.publishDraft(create(PublishDraftRequestSchema, { appName: "ctxapp" })));
    expect(grpcCode(pub)).toBe(grpc.status.FAILED_PRECONDITION);
    expect(pub.details).toMatch(/image ghcr.io\/acme\/x:1 is not available offline/);
  });

  it("verifies a streamed upload against its trailer (digest and size sent last) and refuses a misplaced one", async () => {
    const bytes = await makeTarGz({ Dockerfile: "FROM scratch\n", "b.txt": "streamed ".repeat(300_000) });
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    const meta = create(UploadBuildContextRequestSchema, { payload: { case: "metadata", value: { contentType: "application/gzip", name: "s.tar.gz" } } });
    const half = bytes.length >> 1;
    const chunks = [bytes.subarray(0, half), bytes.subarray(half)].map((value) => create(UploadBuildContextRequestSchema, { payload: { case: "chunk", value } }));
    const trailer = (d: string, size: number) => create(UploadBuildContextRequestSchema, { payload: { case: "trailer", value: { digest: d, sizeBytes: BigInt(size) } } });
    const ok = await b.uploadBuildContext([meta, ...chunks, trailer(digest, bytes.length)]);
    expect(ok.digest).toBe(digest);
    expect(Number(ok.sizeBytes)).toBe(bytes.length);
    const cases: Array<{ msgs: UploadBuildContextRequest[]; expect: RegExp }> = [
      { msgs: [meta, ...chunks, trailer(`sha256:${"1".repeat(64)}`, bytes.length)], expect: /digest mismatch: the trailer announced sha256:1{64}/ },
      { msgs: [meta, ...chunks, trailer(digest, bytes.length + 1)], expect: /the trailer announced \d+ bytes but \d+ were received/ },
      // A chunk lost on the way: the received bytes hash to something else.
      { msgs: [meta, chunks[1]!, trailer(digest, bytes.length - half)], expect: /digest mismatch/ },
      { msgs: [meta, chunks[0]!, trailer(digest, bytes.length), chunks[1]!], expect: /no chunk may follow the trailer/ },
      { msgs: [meta, ...chunks, trailer(digest, bytes.length), trailer(digest, bytes.length)], expect: /the trailer may only be sent once/ },
      { msgs: [trailer(digest, bytes.length), meta, ...chunks], expect: /the first message must carry metadata/ },
      { msgs: [meta, ...chunks, trailer("md5:abc", bytes.length)], expect: /invalid trailer digest 'md5:abc'/ },
    ];
    for (const c of cases) {
      const e = await rpcError(b.uploadBuildContext(c.msgs));
      expect(`${grpcCode(e)} ${e.details}`).toMatch(new RegExp(`^${grpc.status.INVALID_ARGUMENT} ${c.expect.source}`));
    }
  });

  it("rejects malicious archives with INVALID_ARGUMENT", async () => {
    const dir = tempDir("evil");
    try {
      const cases: { name: string; build: () => Buffer; expect: RegExp }[] = [
        {
          name: "traversal",
          build: () => {
            execFileSync("python3", ["-c", `import tarfile,io\nt=tarfile.open('${dir}/t.tgz','w:gz')\ni=tarfile.TarInfo('../escape.txt');i.size=3\nt.addfile(i,io.BytesIO(b'pwn'))\nt.close()`]);
            return readFileSync(path.join(dir, "t.tgz"));
          },
          expect: /'\.\.\/escape\.txt' escapes/,
        },
        {
          name: "absolute",
          build: () => {
            execFileSync("python3", ["-c", `import tarfile,io\nt=tarfile.open('${dir}/a.tar','w')\ni=tarfile.TarInfo('/etc/evil');i.size=3\nt.addfile(i,io.BytesIO(b'pwn'))\nt.close()`]);
            return readFileSync(path.join(dir, "a.tar"));
          },
          expect: /absolute path/,
        },
        {
          name: "symlink escape",
          build: () => {
            const src = path.join(dir, "s");
            mkdirSync(path.join(src, "sub"), { recursive: true });
            writeFileSync(path.join(src, "Dockerfile"), "FROM scratch\n");
            symlinkSync("../../etc/passwd", path.join(src, "sub", "link"));
            execFileSync("tar", ["-czf", path.join(dir, "s.tgz"), "-C", src, "."]);
            return readFileSync(path.join(dir, "s.tgz"));
          },
          expect: /symlink to '\.\.\/\.\.\/etc\/passwd', outside/,
        },
        {
          name: "zip traversal",
          build: () => {
            execFileSync("python3", ["-c", `import zipfile\nz=zipfile.ZipFile('${dir}/z.zip','w')\nz.writestr('../../x.txt','pwn')\nz.close()`]);
            return readFileSync(path.join(dir, "z.zip"));
          },
          expect: /escapes/,
        },
        {
          name: "device entry",
          build: () => {
            execFileSync("python3", ["-c", `import tarfile\nt=tarfile.open('${dir}/d.tgz','w:gz')\ni=tarfile.TarInfo('dev-null');i.type=tarfile.CHRTYPE;i.devmajor=1;i.devminor=3\nt.addfile(i)\nt.close()`]);
            return readFileSync(path.join(dir, "d.tgz"));
          },
          expect: /dev-null/,
        },
        {
          name: "hard link escape",
          build: () => {
            execFileSync("python3", ["-c", `import tarfile\nt=tarfile.open('${dir}/h.tgz','w:gz')\ni=tarfile.TarInfo('passwd');i.type=tarfile.LNKTYPE;i.linkname='../../etc/passwd'\nt.addfile(i)\nt.close()`]);
            return readFileSync(path.join(dir, "h.tgz"));
          },
          expect: /passwd/,
        },
      ];
      for (const k of cases) {
        const bytes = k.build();
        const e = await rpcError(upload(bytes));
        expect(grpcCode(e), k.name).toBe(grpc.status.INVALID_ARGUMENT);
        expect(e.details, k.name).toMatch(k.expect);
        // inline archives go through the same checks
        const e2 = await rpcError(c
          .saveDraft(create(SaveDraftRequestSchema, { appName: "ctxapp", code: { source: { case: "image", value: { source: { case: "fromCode", value: { archive: bytes, dockerfilePath: "Dockerfile" } } } } } })));
        expect(grpcCode(e2), k.name).toBe(grpc.status.INVALID_ARGUMENT);
      }
    } finally {
      cleanup(dir);
    }
  });
});

describe("reflection", () => {
  for (const [label, mod] of [
    ["v1", refl],
    ["v1alpha", reflAlpha],
  ] as const) {
    it(`lists services and serves descriptors (${label})`, async () => {
      const rc = fixture.client(mod.ServerReflection as typeof refl.ServerReflection, null);
      try {
        const call = rc.serverReflectionInfo();
        const answers: refl.ServerReflectionResponse[] = [];
        const done = new Promise<void>((resolve, reject) => {
          call.on("data", (m) => answers.push(m));
          call.on("error", reject);
          call.on("end", resolve);
        });
        const Req = mod.ServerReflectionRequestSchema as typeof refl.ServerReflectionRequestSchema;
        call.write(create(Req, { messageRequest: { case: "listServices", value: "" } }));
        call.write(create(Req, { messageRequest: { case: "fileContainingSymbol", value: "dodil.ignite.v1.ComputeService" } }));
        call.write(create(Req, { messageRequest: { case: "fileContainingSymbol", value: "dodil.ignite.v1.ComputeService.CreateApp" } }));
        call.write(create(Req, { messageRequest: { case: "fileByFilename", value: "dodil/ignite/v1/model.proto" } }));
        call.write(create(Req, { messageRequest: { case: "fileContainingSymbol", value: "no.Such" } }));
        call.end();
        await done;
        expect(answers).toHaveLength(5);
        const list = answers[0]!.messageResponse;
        expect(list.case).toBe("listServicesResponse");
        const names = list.case === "listServicesResponse" ? list.value.service.map((s) => s.name) : [];
        expect(names).toEqual(
          expect.arrayContaining(["dodil.ignite.v1.ComputeService", "dodil.ignite.v1.BuildService", "dodil.ignite.v1.SecretService", "dodil.ignite.v1.ModelService", "grpc.reflection.v1.ServerReflection"]),
        );
        const files = (i: number) => {
          const r = answers[i]!.messageResponse;
          return r.case === "fileDescriptorResponse" ? r.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name) : [];
        };
        expect(files(1)).toEqual(["dodil/ignite/v1/compute.proto", "dodil/ignite/v1/common.proto"]);
        expect(files(2)[0]).toBe("dodil/ignite/v1/compute.proto");
        expect(files(3)).toEqual(expect.arrayContaining(["dodil/ignite/v1/model.proto", "google/protobuf/struct.proto"]));
        expect(answers[4]!.messageResponse.case).toBe("errorResponse");
      } finally {
        rc.close();
      }
    });
  }
});

describe("git sources", () => {
  it("clones a local repository and builds from it", async () => {
    const repo = tempDir("repo");
    try {
      mkdirSync(path.join(repo, "svc"), { recursive: true });
      writeFileSync(path.join(repo, "svc", "Dockerfile"), 'FROM python:3.12-slim\nCOPY . /app\nCMD ["python", "/app/x.py"]\n');
      writeFileSync(path.join(repo, "svc", "x.py"), "print(1)\n");
      const git = (...a: string[]) => execFileSync("git", ["-C", repo, "-c", "user.email=t@t", "-c", "user.name=t", ...a]);
      git("init", "-q", "-b", "main");
      git("add", ".");
      git("commit", "-qm", "init");
      await c.createApp(create(CreateAppRequestSchema, { name: "fromgit" }));
      const r = await c.saveDraft(
        create(SaveDraftRequestSchema, { appName: "fromgit", code: { source: { case: "image", value: { source: { case: "fromGit", value: { url: repo, ref: "main", contextDir: "svc", dockerfilePath: "Dockerfile" } } } } } }),
      );
      expect(r.draft?.codeKind).toBe(CodeKind.GIT_IMAGE);
      expect(r.draft?.deployId).toMatch(/^bld_/);
      const bad = await rpcError(c
        .saveDraft(create(SaveDraftRequestSchema, { appName: "fromgit", code: { source: { case: "image", value: { source: { case: "fromGit", value: { url: path.join(repo, "nope") } } } } } })));
      expect(grpcCode(bad)).toBe(grpc.status.FAILED_PRECONDITION);
      expect(bad.details).toMatch(/git clone of .* failed/);
    } finally {
      cleanup(repo);
    }
  });
});
