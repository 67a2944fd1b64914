/**
 * A standalone distribution registry for tests (src/local/registry/registry-server.ts on a free
 * loopback port, in a temp dir), optionally behind htpasswd users, and the ways to fill it: skopeo
 * copy from an OCI layout made here (ociLayoutImage: no container engine needed) or from an image in
 * the shared image cache that `dev setup` fills (imageCacheSource: the python/node/busybox stand-ins).
 */
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import * as tar from "tar";
import { run, tail } from "../../src/local/drivers/exec.js";
import { cacheStoreConfig } from "../../src/local/drivers/base-images.js";
import { defaultImageCacheDir } from "../../src/local/drivers/containers.js";
import { findRegistryBinary, startRegistry, type RunningRegistry } from "../../src/local/registry/registry-server.js";
import { tempDir } from "./temp-dirs.js";

export { findRegistryBinary };

export interface TestRegistry extends RunningRegistry {
  dir: string;
  /** The htpasswd users it was started with (name -> password); empty: no auth. */
  users: Record<string, string>;
}

/** Starts a registry in a temp dir; with `users`, behind htpasswd (Basic auth) for every request. */
export async function startTestRegistry(o: { users?: Record<string, string>; label?: string } = {}): Promise<TestRegistry> {
  const dir = tempDir(o.label ?? "registry");
  const users = o.users ?? {};
  const reg = await startRegistry({ dir, ...(Object.keys(users).length ? { auth: { kind: "htpasswd" as const, users } } : {}) });
  return { ...reg, dir, users };
}

/** Whether skopeo and the registry package are installed (tests that need them skip without). */
export async function registryToolsInstalled(): Promise<boolean> {
  return Boolean((await findRegistryBinary()) && (await run("skopeo", ["--version"], { timeoutMs: 10_000 })).code === 0);
}

let policyFile: string | undefined;
/** skopeo's signature policy: accept anything (tests copy unsigned images); never /etc's. */
async function skopeoPolicy(): Promise<string> {
  if (policyFile) return policyFile;
  const file = path.join(tempDir("skopeo-policy"), "policy.json");
  await fsp.writeFile(file, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
  return (policyFile = file);
}

export interface SkopeoOptions {
  /** "user:password" for the registry side. */
  creds?: string;
  /** Extra environment (CONTAINERS_STORAGE_CONF for a containers-storage source). */
  env?: NodeJS.ProcessEnv;
}

/**
 * skopeo copy SRC docker://DEST (a loopback registry over plain HTTP). SRC is any skopeo transport
 * reference ("oci:DIR:TAG", "containers-storage:REF", "docker://…"). Resolves to the manifest digest
 * the registry stored ("sha256:…"); rejects with skopeo's last lines on failure.
 */
export async function copyToRegistry(src: string, dest: string, o: SkopeoOptions = {}): Promise<string> {
  const digestFile = path.join(tempDir("skopeo-digest"), "digest");
  const r = await run(
    "skopeo",
    [
      "--policy",
      await skopeoPolicy(),
      "copy",
      "--dest-tls-verify=false",
      "--src-tls-verify=false",
      ...(o.creds ? ["--dest-creds", o.creds] : []),
      "--digestfile",
      digestFile,
      src,
      `docker://${dest}`,
    ],
    { timeoutMs: 300_000, env: { ...process.env, ...o.env } },
  );
  if (r.code !== 0) throw new Error(`skopeo copy ${src} ${dest}: ${tail(r.stderr || r.stdout, 3)}`);
  return (await fsp.readFile(digestFile, "utf8")).trim();
}

/** skopeo inspect docker://REF (raw manifest off): exit code and output, for tests to assert on. */
export async function skopeoInspect(ref: string, o: SkopeoOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await run("skopeo", ["--policy", await skopeoPolicy(), "inspect", "--tls-verify=false", ...(o.creds ? ["--creds", o.creds] : ["--no-creds"]), `docker://${ref}`], {
    timeoutMs: 60_000,
    env: { ...process.env, ...o.env },
  });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The skopeo source of an image in the shared image cache (`dev setup`'s stand-ins), with the
 * environment that points containers-storage at that store.
 */
export async function imageCacheSource(ref: string, cacheDir = process.env["IGNITE_IMAGE_CACHE"] ?? defaultImageCacheDir()): Promise<{ src: string; env: NodeJS.ProcessEnv }> {
  const c = await cacheStoreConfig(cacheDir);
  return { src: `containers-storage:${ref}`, env: { CONTAINERS_STORAGE_CONF: c.env["CONTAINERS_STORAGE_CONF"] } };
}

const sha256 = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/**
 * A small OCI image layout at `dir` (created): one gzip layer holding `files` (path -> content,
 * mode 0755 for paths under bin/), a config with `cmd` and the labels, tagged `tag`. Returns the
 * skopeo source "oci:DIR:TAG". Different files give a different digest.
 */
export async function ociLayoutImage(
  dir: string,
  o: { files?: Record<string, string>; cmd?: string[]; labels?: Record<string, string>; tag?: string } = {},
): Promise<string> {
  const tag = o.tag ?? "latest";
  const files = o.files ?? { "hello.txt": "hello from a test image\n" };
  const blobs = path.join(dir, "blobs", "sha256");
  await fsp.mkdir(blobs, { recursive: true });
  const root = path.join(dir, ".rootfs");
  for (const [p, content] of Object.entries(files)) {
    await fsp.mkdir(path.dirname(path.join(root, p)), { recursive: true });
    await fsp.writeFile(path.join(root, p), content, { mode: p.startsWith("bin/") ? 0o755 : 0o644 });
  }
  const chunks: Buffer[] = [];
  // Fixed mtime and owner: the same files give the same layer.
  const stream = tar.create({ cwd: root, portable: true, mtime: new Date(0), noDirRecurse: false }, Object.keys(files).map((p) => p.split("/")[0]!).filter((v, i, a) => a.indexOf(v) === i));
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  const layerTar = Buffer.concat(chunks);
  await fsp.rm(root, { recursive: true, force: true });
  const layer = gzipSync(layerTar);
  const write = async (b: Buffer | string) => {
    const d = sha256(b);
    await fsp.writeFile(path.join(blobs, d.slice("sha256:".length)), b);
    return { digest: d, size: Buffer.byteLength(b) };
  };
  const layerDesc = await write(layer);
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    created: "1970-01-01T00:00:00Z",
    config: { Cmd: o.cmd ?? ["/bin/sh"], Labels: o.labels ?? {} },
    rootfs: { type: "layers", diff_ids: [sha256(layerTar)] },
    history: [{ created: "1970-01-01T00:00:00Z", created_by: "test/helpers/registry.ts" }],
  });
  const configDesc = await write(config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...configDesc },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layerDesc }],
  });
  const manifestDesc = await write(manifest);
  await fsp.writeFile(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await fsp.writeFile(
    path.join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifestDesc, annotations: { "org.opencontainers.image.ref.name": tag } }],
    }),
  );
  return `oci:${dir}:${tag}`;
}
