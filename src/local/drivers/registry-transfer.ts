/**
 * Moving images between a container engine's local storage and the plane's registry (podman push
 * and pull against a loopback registry over plain HTTP). Credentials come in an auth file the
 * caller writes (0600) and removes, never on the command line, where `ps` shows them to everyone.
 */
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BuildFailure } from "./types.js";
import { run, tail } from "./exec.js";

export interface RegistryTransferOptions {
  /** A containers auth.json holding the registry's credentials. */
  authFile: string;
  signal?: AbortSignal;
}

/** Only loopback registries are spoken to in plain HTTP (--tls-verify=false). */
function requireLoopback(ref: string): void {
  const host = ref.split("/")[0] ?? "";
  if (!/^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])(:\d+)?$/.test(host)) throw new Error(`${host} is not a loopback registry: plain HTTP is for loopback addresses only`);
}

/**
 * podman push LOCAL DEST; resolves to the manifest digest the registry stored ("sha256:…").
 * A failure is a BuildFailure with podman's last lines.
 */
export async function podmanPush(env: NodeJS.ProcessEnv, localRef: string, dest: string, o: RegistryTransferOptions): Promise<string> {
  requireLoopback(dest);
  const digestFile = path.join(os.tmpdir(), `ignite-push-${randomBytes(8).toString("hex")}.digest`);
  try {
    const r = await run("podman", ["push", "--tls-verify=false", "--authfile", o.authFile, "--digestfile", digestFile, "--quiet", localRef, `docker://${dest}`], {
      env,
      timeoutMs: 30 * 60_000,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    if (r.code !== 0) throw new BuildFailure(`pushing ${localRef} to ${dest} failed: ${tail(r.stderr || r.stdout, 2) || `podman exited with ${r.code ?? r.signal}`}`);
    const digest = (await fsp.readFile(digestFile, "utf8")).trim();
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new BuildFailure(`pushing ${localRef} to ${dest}: podman reported no digest`);
    return digest;
  } finally {
    await fsp.rm(digestFile, { force: true });
  }
}

/**
 * podman pull REF (a digest reference), then names the image `localRef` and drops the registry's
 * name, so the local store knows it by the plane's local name only (image-ownership.ts reads
 * names). Resolves to the image id.
 */
export async function podmanPullAs(env: NodeJS.ProcessEnv, ref: string, localRef: string, o: RegistryTransferOptions): Promise<string> {
  requireLoopback(ref);
  const r = await run("podman", ["pull", "--tls-verify=false", "--authfile", o.authFile, "--quiet", `docker://${ref}`], {
    env,
    timeoutMs: 30 * 60_000,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (r.code !== 0) throw new Error(`pulling ${ref} failed: ${tail(r.stderr || r.stdout, 2) || `podman exited with ${r.code ?? r.signal}`}`);
  const id = r.stdout.trim().split("\n").pop() ?? "";
  const tag = await run("podman", ["tag", id, localRef], { env, timeoutMs: 60_000 });
  if (tag.code !== 0) throw new Error(`naming the pulled image ${localRef} failed: ${tail(tag.stderr, 2)}`);
  // A digest reference is not a tag, so untag may say it has none by that name: nothing to drop.
  await run("podman", ["untag", id, ref], { env, timeoutMs: 60_000 });
  return id;
}
