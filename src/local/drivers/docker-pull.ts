/**
 * Pulls into a Docker Engine's storage (the policy is image-pull.ts, as for podman): `POST
 * /images/create` with the credentials in the `X-Registry-Auth` header of that one request (never
 * a config file of the user's, never stored); the engine's JSON progress stream read for its error,
 * which names the registry and never the credentials; the digest the registry served (the image's
 * RepoDigests under the pulled repository). An image pulled with credentials is then named only in
 * the org's local namespace (keepForOrgDocker), as the podman driver does.
 */
import { classifyPullError, credentialScrubber, PullFailure, pullFailureMessage, qualifiedRef, registryHost } from "./image-pull.js";
import { dockerJson, dockerRequest, jsonLines, type DockerEndpoint } from "./docker-api.js";
import { localImageRef } from "./image-ownership.js";
import type { PodmanImageInspect } from "./container-build.js";
import type { PullRequest } from "./types.js";
import { errorMessage } from "../errors.js";

const PULL_TIMEOUT_MS = 30 * 60_000;

/** The repository part of a reference: `host/repo:tag` and `host/repo@sha256:…` -> `host/repo`. */
function repositoryOf(ref: string): string {
  return ref.replace(/@.*$/, "").replace(/:[^/:]*$/, "");
}

/** Pulls `req.ref`; resolves to the image (as inspected) and the digest the registry served. */
export async function dockerPull(ep: DockerEndpoint, req: PullRequest): Promise<{ inspect: PodmanImageInspect; digest: string }> {
  const registry = registryHost(req.ref);
  const ref = qualifiedRef(req.ref);
  const scrub = credentialScrubber(req.credentials);
  // base64url with padding (Go's URLEncoding, what the engines decode)
  const auth = Buffer.from(JSON.stringify(req.credentials ? { username: req.credentials.username, password: req.credentials.password, serveraddress: registry } : {}))
    .toString("base64")
    .replace(/\+/g, "-")
    .replace(/\//g, "_");
  const fail = (detail: string): never => {
    const kind = classifyPullError(detail);
    throw new PullFailure(kind, registry, pullFailureMessage({ ref: req.ref, kind, registry, detail: scrub(detail), withCredentials: Boolean(req.credentials) }));
  };
  let failure = "";
  try {
    const res = await dockerRequest(ep, { method: "POST", path: "/images/create", query: { fromImage: ref }, headers: { "X-Registry-Auth": auth }, timeoutMs: PULL_TIMEOUT_MS, ...(req.signal ? { signal: req.signal } : {}) });
    await jsonLines(res, (o) => {
      if (typeof o["error"] === "string") failure = o["error"];
    });
  } catch (e) {
    fail(errorMessage(e));
  }
  if (failure) fail(failure);
  const inspect = await dockerJson<PodmanImageInspect>(ep, { path: `/images/${encodeURIComponent(ref)}/json`, timeoutMs: 30_000 }).catch(() => undefined);
  if (!inspect) throw new PullFailure("other", registry, `the pulled image ${req.ref} cannot be found`);
  const repo = repositoryOf(ref);
  const served = (inspect.RepoDigests ?? []).find((d) => d.startsWith(`${repo}@`) || d.startsWith(`${repositoryOf(req.ref)}@`));
  return { inspect, digest: served ? served.slice(served.indexOf("@") + 1) : (inspect.Digest ?? "") };
}

/**
 * Names an image pulled with `org`'s credentials only in `org`'s local namespace
 * (local.ignite/<org>/pulled:<id>) and drops its names of `registry`.
 */
export async function keepForOrgDocker(ep: DockerEndpoint, id: string, org: string, registry: string): Promise<void> {
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
