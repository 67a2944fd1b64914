/**
 * Pulls into the podman driver's storage (the policy is image-pull.ts): `podman pull` with TLS
 * verified except for loopback registries and the credentials in a one-off auth file — never the
 * user's own auth files, so an org pulls with its own secrets only; the digest the registry served;
 * an image pulled with credentials renamed into the org's local namespace; the names local storage
 * holds (for the offline error).
 * The repository of a pull with credentials is held for the org (PrivatePulls, image-pull.ts) from
 * before the pull until keepForOrg drops the registry's names.
 */
import { run, tail } from "./exec.js";
import { classifyPullError, credentialScrubber, insecureAllowed, PullFailure, pullFailureMessage, qualifiedRef, registryHost, repositoryName, writeAuthFile, type PrivatePulls } from "./image-pull.js";
import { localImageRef, localRefOrg } from "./image-ownership.js";
import type { PullRequest } from "./types.js";

/** The part of `podman image inspect` a pull reads. */
interface PulledInspect {
  Id: string;
  Digest?: string;
  RepoDigests?: string[] | null;
  RepoTags?: string[] | null;
}

const PULL_TIMEOUT_MS = 30 * 60_000;

async function inspect(env: NodeJS.ProcessEnv, ref: string): Promise<PulledInspect | undefined> {
  const r = await run("podman", ["image", "inspect", "--format", "json", ref], { env, timeoutMs: 30_000 });
  if (r.code !== 0) return undefined;
  try {
    return (JSON.parse(r.stdout) as PulledInspect[])[0];
  } catch {
    return undefined;
  }
}

/** Pulls `req.ref`; throws a PullFailure whose message names the registry and never the credentials. */
export async function podmanPull(env: NodeJS.ProcessEnv, authDir: string, req: PullRequest, holds?: PrivatePulls): Promise<{ id: string; digest: string }> {
  const registry = registryHost(req.ref);
  const ref = qualifiedRef(req.ref);
  const scrub = credentialScrubber(req.credentials);
  // held before the pull: the name appears in local storage as the pull ends
  const release = req.credentials && holds ? holds.hold(ref, req.org) : undefined;
  let kept = false;
  const auth = await writeAuthFile(authDir, registry, req.credentials).catch((e: unknown) => {
    release?.();
    throw e;
  });
  try {
    const args = ["pull", "--quiet", `--tls-verify=${!insecureAllowed(registry)}`, "--authfile", auth.file];
    const r = await run("podman", [...args, ref], { env, timeoutMs: PULL_TIMEOUT_MS, ...(req.signal ? { signal: req.signal } : {}) });
    if (r.code !== 0) {
      const detail = scrub(tail(r.stderr || r.stdout, 2) || `podman pull exited with ${r.code ?? r.signal}`);
      const kind = r.timedOut ? "network" : classifyPullError(detail);
      throw new PullFailure(kind, registry, pullFailureMessage({ ref: req.ref, kind, registry, detail, withCredentials: Boolean(req.credentials) }));
    }
    const id = r.stdout.trim().split("\n").pop()!.trim();
    const i = await inspect(env, id);
    if (!i) throw new PullFailure("other", registry, `the pulled image ${req.ref} cannot be found`);
    const digest = await servedDigest(env, ref, i, args);
    if (release) holds!.attach(i.Id, req.org, release);
    kept = true;
    return { id: i.Id, digest };
  } finally {
    if (!kept) release?.();
    await auth.remove();
  }
}

/**
 * The manifest digest the registry served for `ref`. podman lists, under the repository, every
 * digest the image has ever had (an image built here and pushed carries its local one too): with
 * one candidate that is it; with several, the one the registry answers a pull by digest for
 * (layers are local by then, so each try costs one manifest request).
 */
async function servedDigest(env: NodeJS.ProcessEnv, ref: string, i: PulledInspect, pullArgs: string[]): Promise<string> {
  const repo = repositoryName(ref);
  const candidates = (i.RepoDigests ?? []).filter((d) => d.startsWith(`${repo}@`)).map((d) => d.slice(repo.length + 1));
  if (candidates.length <= 1) return candidates[0] ?? i.Digest ?? "";
  for (const d of candidates) {
    if ((await run("podman", [...pullArgs, `${repo}@${d}`], { env, timeoutMs: PULL_TIMEOUT_MS })).code === 0) return d;
  }
  return i.Digest ?? "";
}

/**
 * Names an image pulled with credentials only inside `org`'s local namespace
 * (local.ignite/<org>/pulled:<id>), without its names from `registry`: another org's lookup of the registry name then finds nothing
 * and must pull (and authenticate) itself.
 */
export async function keepForOrg(env: NodeJS.ProcessEnv, id: string, o: { org: string; registry: string; holds?: PrivatePulls }): Promise<void> {
  const { org, registry, holds } = o;
  try {
    const i = await inspect(env, id);
    await run("podman", ["tag", id, localImageRef(org, "pulled", id.replace(/^sha256:/, "").slice(0, 32))], { env, timeoutMs: 30_000 });
    // only the names of the registry the credentials pulled from (the image may have others, e.g. a build of this plane)
    for (const n of i?.RepoTags ?? []) if (registryHost(n).toLowerCase() === registry.toLowerCase()) await run("podman", ["untag", id, n], { env, timeoutMs: 30_000 });
  } finally {
    holds?.releaseImage(id, org);
  }
}

/** The image names of local storage outside the plane's namespace; undefined when podman fails. */
export async function localImageNames(env: NodeJS.ProcessEnv): Promise<string[] | undefined> {
  const r = await run("podman", ["images", "--format", "{{.Repository}}:{{.Tag}}"], { env, timeoutMs: 30_000 });
  if (r.code !== 0) return undefined;
  return [...new Set(r.stdout.split("\n").map((l) => l.trim()).filter((l) => l && !l.includes("<none>") && localRefOrg(l) === undefined))].sort();
}
