/**
 * Helpers for the container-driver tests: tool detection (with a visible skip reason), the shared
 * offline base images, and the pipeline calls (upload, save, follow the build log, publish, invoke).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import {
  ComputeService,
  CreateAppRequestSchema,
  InvokeRequestSchema,
  PublishDraftRequestSchema,
  SaveDraftRequestSchema,
  StreamCompileLogsRequestSchema,
  type StreamCompileLogsResponse,
} from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { BuildService, UploadBuildContextRequestSchema } from "../../src/gen/dodil/ignite/v1/build_pb.js";
import { BuildStatus } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import { BASE_IMAGES, cacheStoreConfig, setupBaseImages } from "../../src/local/drivers/base-images.js";
import { defaultImageCacheDir } from "../../src/local/drivers/containers.js";
import type { RunningControlPlane } from "../../src/local/control-plane.js";
import { startTestControlPlane, type BuildClient, type ComputeClient, type TestPlaneOptions } from "../helpers/control-plane.js";
import { cleanup } from "./helpers.js";

function has(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Why the podman-driver tests cannot run here ("" when they can). In CI a missing tool is a failure, not a skip. */
export const podmanMissing = ["buildah", "podman", "runc"].filter((t) => !has(t)).map((t) => `${t} is not installed`).join(", ");
export const inCI = !!process.env["CI"];

export const imageCache = defaultImageCacheDir();

export function localImageExists(ref: string): boolean {
  if (podmanMissing) return false;
  try {
    execFileSync("podman", ["image", "exists", ref], {
      stdio: "ignore",
      env: { ...process.env, CONTAINERS_CONF: `${imageCache}/storage/containers.conf`, CONTAINERS_STORAGE_CONF: `${imageCache}/storage/storage.conf` },
    });
    return true;
  } catch {
    return false;
  }
}

/** Makes sure the busybox stand-in exists in the shared image cache (about 1 s the first time). */
export async function ensureBusybox(): Promise<void> {
  await cacheStoreConfig(imageCache);
  if (!localImageExists(BASE_IMAGES.busybox.refs[0]!)) await setupBaseImages({ images: ["busybox"], cacheDir: imageCache });
}

export const pythonImagePresent = () => localImageExists(BASE_IMAGES.python.refs[0]!);

export async function createApp(c: ComputeClient, name: string, extra: Record<string, unknown> = {}) {
  return c.createApp(create(CreateAppRequestSchema, { name, ...extra }));
}

export async function saveContext(c: ComputeClient, b: BuildClient, app: string, bytes: Buffer, o: { buildArgs?: Record<string, string>; dockerfilePath?: string } = {}) {
  const up = await b.uploadBuildContext([
    create(UploadBuildContextRequestSchema, { payload: { case: "metadata", value: { name: "app.tar.gz", expectedSizeBytes: BigInt(bytes.length) } } }),
    create(UploadBuildContextRequestSchema, { payload: { case: "chunk", value: bytes } }),
  ]);
  return c.saveDraft(
    create(SaveDraftRequestSchema, {
      appName: app,
      code: {
        source: {
          case: "image",
          value: { source: { case: "fromCode", value: { contextId: up.contextId, dockerfilePath: o.dockerfilePath ?? "Dockerfile", buildArgs: o.buildArgs ?? {} } } },
        },
      },
    }),
  );
}

/** Follows a build log to its end: the lines and the final status. */
export async function followBuild(c: ComputeClient, deployId: string): Promise<{ lines: string[]; status: BuildStatus; error: string; imageRef: string }> {
  const items = await c.streamCompileLogs(create(StreamCompileLogsRequestSchema, { deployId, follow: true }));
  const lines = items.filter((i) => i.item.case === "entry").map((i) => (i.item.value as { line: string }).line);
  const last = items[items.length - 1]?.item;
  const outcome = last?.case === "outcome" ? (last.value as { status: BuildStatus; error?: string; imageRef?: string }) : undefined;
  return { lines, status: outcome?.status ?? BuildStatus.UNSPECIFIED, error: outcome?.error ?? "", imageRef: outcome?.imageRef ?? "" };
}

/** Resolves once a build's log has a line `re` matches (the log is replayed, then followed). */
export async function untilBuildLine(c: ComputeClient, deployId: string, re: RegExp): Promise<void> {
  const call = c.open.streamCompileLogs(create(StreamCompileLogsRequestSchema, { deployId, follow: true }));
  try {
    await new Promise<void>((resolve, reject) => {
      call.on("data", (r: StreamCompileLogsResponse) => r.item.case === "entry" && re.test(r.item.value.line) && resolve());
      call.on("error", reject);
      call.on("end", () => reject(new Error(`the log of build ${deployId} ended before a line matched ${re}`)));
    });
  } finally {
    call.on("error", () => undefined);
    call.cancel();
  }
}

/** Follows a build to its end and fails the test unless it succeeded, showing why and its last lines. */
export async function expectBuildSucceeds(c: ComputeClient, deployId: string): Promise<{ lines: string[]; status: BuildStatus; error: string; imageRef: string }> {
  const build = await followBuild(c, deployId);
  if (build.status !== BuildStatus.SUCCEEDED) throw new Error(`build ${deployId} ended ${BuildStatus[build.status]}: ${build.error}\n${build.lines.slice(-20).join("\n")}`);
  return build;
}

export function publish(c: ComputeClient, app: string) {
  return c.publishDraft(create(PublishDraftRequestSchema, { appName: app }), { deadlineMs: 180_000 });
}

export async function invoke(c: ComputeClient, app: string, body: unknown, p = "/") {
  const frames = await c.invoke(
    create(InvokeRequestSchema, { appName: app, http: { method: "POST", path: p, headers: {} }, body: Buffer.from(JSON.stringify(body)) }),
  );
  const head = frames[0]?.frame.case === "head" ? frames[0].frame.value : undefined;
  const chunks = frames.filter((f) => f.frame.case === "bodyChunk").map((f) => f.frame.value as Uint8Array);
  const text = Buffer.concat(chunks).toString("utf8");
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { raw: text };
  }
  return { head: head!, json, text };
}

/** Containers in a data dir's own storage (what `podman ps -a` shows with the control plane's config). */
export function containersOf(dataDir: string): string[] {
  // The run root under /tmp that the control plane removed when it stopped: `podman ps` makes it
  // again, holding nothing but its own bookkeeping, so it goes again afterwards.
  const runRoot = JSON.parse(/^runroot = (".*")$/m.exec(readFileSync(`${dataDir}/containers/storage.conf`, "utf8"))?.[1] ?? '""') as string;
  const made = runRoot !== "" && !existsSync(runRoot);
  try {
    const out = execFileSync("podman", ["ps", "-a", "-q"], {
      env: { ...process.env, CONTAINERS_CONF: `${dataDir}/containers/containers.conf`, CONTAINERS_STORAGE_CONF: `${dataDir}/containers/storage.conf` },
      encoding: "utf8",
    });
    return out.split("\n").filter(Boolean);
  } finally {
    if (made) cleanup(runRoot);
  }
}

/** A busybox httpd app answering POST /cgi-bin/app with JSON about its sandbox. */
export function busyboxAppFiles(o: { user?: string; from?: string; extra?: string } = {}): Record<string, string> {
  return {
    Dockerfile: [
      `FROM ${o.from ?? "busybox"}`,
      "ARG GREETING_ARG=hello",
      "ARG API_TOKEN",
      "WORKDIR /www",
      "COPY app.cgi /www/cgi-bin/app",
      'RUN chmod 755 /www/cgi-bin/app && echo "built with $GREETING_ARG, token $API_TOKEN"',
      "ENV BUILT_GREETING=$GREETING_ARG",
      ...(o.extra ? [o.extra] : []),
      ...(o.user === undefined ? ["USER 65534"] : o.user ? [`USER ${o.user}`] : []),
      'CMD ["sh", "-c", "exec httpd -f -p 127.0.0.1:$PORT -h /www"]',
      "",
    ].join("\n"),
    "app.cgi": [
      "#!/bin/sh",
      'if touch /www/probe 2>/dev/null; then ROOTFS=writable; else ROOTFS=read-only; fi',
      'if touch "$HOME/probe" 2>/dev/null; then HOMEW=writable; else HOMEW=read-only; fi',
      "printf 'Content-Type: application/json\\r\\n\\r\\n'",
      'echo "{\\"uid\\":\\"$(id -u)\\",\\"home\\":\\"$HOME\\",\\"home_state\\":\\"$HOMEW\\",\\"rootfs\\":\\"$ROOTFS\\",\\"built\\":\\"$BUILT_GREETING\\",\\"app_env\\":\\"$APP_SETTING\\",\\"port\\":\\"$PORT\\"}"',
      "",
    ].join("\n"),
  };
}

/** A Node HTTP server on $PORT echoing the request as JSON. */
export const NODE_SERVER = `
const http = require("http");
http.createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ runtime: "node", path: req.url, got: body ? JSON.parse(body) : null, env: process.env.NODE_ENV }));
  });
}).listen(Number(process.env.PORT), "127.0.0.1");
`;

export interface PodmanPlane {
  cp: RunningControlPlane;
  dataDir: string;
  /** ComputeService and BuildService clients as org acme-corp. */
  c: ComputeClient;
  b: BuildClient;
  stop(): Promise<void>;
}

/** A control plane on the podman driver with the shared offline images, in a fresh data dir. */
export async function startPodmanPlane(label: string, extra: TestPlaneOptions = {}): Promise<PodmanPlane> {
  if (podmanMissing) throw new Error(`the podman driver tests need ${podmanMissing} (CI must install buildah podman runc)`);
  await ensureBusybox();
  const fixture = await startTestControlPlane({ label, driver: "podman", imageCacheDir: imageCache, ...extra });
  return {
    cp: fixture.plane,
    dataDir: fixture.dataDir,
    c: fixture.compute,
    b: fixture.build,
    async stop() {
      await fixture.stop();
      cleanup(fixture.dataDir);
    },
  };
}
