/**
 * Pulls into a Docker Engine's storage (the policy is image-pull.ts, as for podman): `POST
 * /images/create` with the credentials in the `X-Registry-Auth` header of that one request (never
 * a config file of the user's, never stored); the engine's JSON progress stream read for its error,
 * which names the registry and never the credentials; the digest the registry served (the image's
 * RepoDigests under the pulled repository). An image pulled with credentials is then named only in
 * the org's local namespace (keepForOrgDocker), as the podman driver does.
 */
import { classifyPullError, credentialScrubber, PullFailure, pullFailureMessage, qualifiedRef, registryHost, repositoryName, type PrivatePulls } from "./image-pull.js";
import { dockerJson, dockerRequest, jsonLines, type DockerEndpoint } from "./docker-api.js";
import { localImageRef } from "./image-ownership.js";
import type { PodmanImageInspect } from "./container-build.js";
import { BuildFailure, RegistryUnreachable, type PullRequest } from "./types.js";
import { errorMessage } from "../errors.js";
import { readFile } from "node:fs/promises";

const PULL_TIMEOUT_MS = 30 * 60_000;

/** Pulls `req.ref`; resolves to the image (as inspected) and the digest the registry served. */
export async function dockerPull(ep: DockerEndpoint, req: PullRequest, holds?: PrivatePulls): Promise<{ inspect: PodmanImageInspect; digest: string }> {
  const registry = registryHost(req.ref);
  const ref = qualifiedRef(req.ref);
  const scrub = credentialScrubber(req.credentials);
  const auth = registryAuthHeader(req.credentials, registry);
  const fail = (detail: string): never => {
    const kind = classifyPullError(detail);
    throw new PullFailure(kind, registry, pullFailureMessage({ ref: req.ref, kind, registry, detail: scrub(detail), withCredentials: Boolean(req.credentials) }));
  };
  // held before the pull: the name appears in local storage as the pull ends (image-pull.ts PrivatePulls)
  const release = req.credentials && holds ? holds.hold(ref, req.org) : undefined;
  try {
    try {
      const res = await dockerRequest(ep, { method: "POST", path: "/images/create", query: { fromImage: ref }, headers: { "X-Registry-Auth": auth }, timeoutMs: PULL_TIMEOUT_MS, ...(req.signal ? { signal: req.signal } : {}) });
      await progress(res);
    } catch (e) {
      fail(errorMessage(e));
    }
    const inspect = await dockerJson<PodmanImageInspect>(ep, { path: `/images/${encodeURIComponent(ref)}/json`, timeoutMs: 30_000 }).catch(() => undefined);
    if (!inspect) throw new PullFailure("other", registry, `the pulled image ${req.ref} cannot be found`);
    const repo = repositoryName(ref);
    const served = (inspect.RepoDigests ?? []).find((d) => d.startsWith(`${repo}@`) || d.startsWith(`${repositoryName(req.ref)}@`));
    if (release) holds!.attach(inspect.Id, req.org, release);
    return { inspect, digest: served ? served.slice(served.indexOf("@") + 1) : (inspect.Digest ?? "") };
  } catch (e) {
    release?.();
    throw e;
  }
}

/**
 * Names an image pulled with `org`'s credentials only in `org`'s local namespace
 * (local.ignite/<org>/pulled:<id>) and drops its names of `registry`.
 */
export async function keepForOrgDocker(ep: DockerEndpoint, id: string, o: { org: string; registry: string; holds?: PrivatePulls }): Promise<void> {
  try {
    await dropRegistryNames(ep, id, o.org, o.registry);
  } finally {
    o.holds?.releaseImage(id, o.org);
  }
}

async function dropRegistryNames(ep: DockerEndpoint, id: string, org: string, registry: string): Promise<void> {
  const short = id.replace(/^sha256:/, "").slice(0, 32);
  const local = localImageRef(org, "pulled", short);
  (await dockerRequest(ep, { method: "POST", path: `/images/${encodeURIComponent(id)}/tag`, query: { repo: local.replace(/:[^:]*$/, ""), tag: short }, timeoutMs: 30_000 })).resume();
  const inspect = await dockerJson<PodmanImageInspect>(ep, { path: `/images/${encodeURIComponent(id)}/json`, timeoutMs: 30_000 });
  for (const n of inspect.RepoTags ?? []) {
    if (registryHost(n).toLowerCase() !== registry.toLowerCase()) continue;
    // DELETE of one name of an image with others untags it
    (await dockerRequest(ep, { method: "DELETE", path: `/images/${encodeURIComponent(n)}`, query: { noprune: "1" }, timeoutMs: 30_000 })).resume();
  }
}

/** The X-Registry-Auth value for `registry` from a containers auth.json (the plane's one-off file); empty credentials when it has none. */
async function registryAuthFromFile(authFile: string, registry: string): Promise<string> {
  const parsed = JSON.parse(await readFile(authFile, "utf8")) as { auths?: Record<string, { auth?: string }> };
  const decoded = Buffer.from(parsed.auths?.[registry]?.auth ?? "", "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return registryAuthHeader(colon > 0 ? { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) } : undefined, registry);
}

/** base64url with padding (Go's URLEncoding, what the engines decode) of the engine's auth JSON. */
export function registryAuthHeader(creds: { username: string; password: string } | undefined, registry: string): string {
  return Buffer.from(JSON.stringify(creds ? { username: creds.username, password: creds.password, serveraddress: registry } : {}))
    .toString("base64")
    .replace(/\+/g, "-")
    .replace(/\//g, "_");
}

/** Reads an engine's JSON progress stream: its error (thrown) and the pushed digest (aux.Digest). */
async function progress(res: import("node:http").IncomingMessage): Promise<string> {
  let failure = "";
  let digest = "";
  await jsonLines(res, (o) => {
    if (typeof o["error"] === "string") failure = o["error"];
    const aux = o["aux"] as { Digest?: unknown } | undefined;
    if (aux && typeof aux.Digest === "string") digest = aux.Digest;
    // dockerd's last status line says it too ("<tag>: digest: sha256:… size: N")
    const m = typeof o["status"] === "string" ? /digest: (sha256:[0-9a-f]{64})/.exec(o["status"]) : null;
    if (m && !digest) digest = m[1]!;
  });
  if (failure) throw new Error(failure);
  return digest;
}

/**
 * Pushes `localRef` to the plane's registry as `dest` (tagged for the push, the tag dropped after):
 * resolves to the manifest digest the registry stored.
 */
export async function dockerPush(ep: DockerEndpoint, localRef: string, dest: string, o: { authFile: string; signal?: AbortSignal }): Promise<string> {
  const registry = registryHost(dest);
  const repo = repositoryName(dest);
  const tag = dest.slice(repo.length + 1) || "latest";
  (await dockerRequest(ep, { method: "POST", path: `/images/${encodeURIComponent(localRef)}/tag`, query: { repo, tag }, timeoutMs: 60_000 })).resume();
  try {
    const res = await dockerRequest(ep, { method: "POST", path: `/images/${encodeURIComponent(repo)}/push`, query: { tag }, headers: { "X-Registry-Auth": await registryAuthFromFile(o.authFile, registry) }, timeoutMs: PULL_TIMEOUT_MS, ...(o.signal ? { signal: o.signal } : {}) });
    // dockerd speaks plain HTTP to loopback registries; one in a VM or another network namespace
    // does not reach this machine's loopback, and podman's service needs registries.conf `insecure`
    const digest = await progress(res).catch((e: unknown) => {
      throw new RegistryUnreachable(`the Docker Engine could not push to the plane's registry ${registry} (${errorMessage(e)})`);
    });
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new BuildFailure(`pushing ${localRef} to ${dest}: the engine reported no digest`);
    return digest;
  } finally {
    await dockerRequest(ep, { method: "DELETE", path: `/images/${encodeURIComponent(dest)}`, query: { noprune: "1" }, timeoutMs: 60_000 }).then((r) => r.resume(), () => undefined);
  }
}

/** Pulls a digest reference of the plane's registry and names it `localRef` only. */
export async function dockerPullAs(ep: DockerEndpoint, ref: string, localRef: string, o: { authFile: string; signal?: AbortSignal }): Promise<void> {
  const registry = registryHost(ref);
  const res = await dockerRequest(ep, { method: "POST", path: "/images/create", query: { fromImage: ref }, headers: { "X-Registry-Auth": await registryAuthFromFile(o.authFile, registry) }, timeoutMs: PULL_TIMEOUT_MS, ...(o.signal ? { signal: o.signal } : {}) });
  await progress(res).catch((e: unknown) => {
    throw new Error(`pulling ${ref} failed: ${errorMessage(e)}`);
  });
  const inspect = await dockerJson<PodmanImageInspect>(ep, { path: `/images/${encodeURIComponent(ref)}/json`, timeoutMs: 30_000 });
  const colon = localRef.lastIndexOf(":");
  (await dockerRequest(ep, { method: "POST", path: `/images/${encodeURIComponent(inspect.Id)}/tag`, query: { repo: localRef.slice(0, colon), tag: localRef.slice(colon + 1) }, timeoutMs: 60_000 })).resume();
  // the registry's names go: local lookups know the plane's local name only
  for (const n of inspect.RepoTags ?? []) if (registryHost(n) === registry) await dockerRequest(ep, { method: "DELETE", path: `/images/${encodeURIComponent(n)}`, query: { noprune: "1" }, timeoutMs: 60_000 }).then((r) => r.resume(), () => undefined);
}
