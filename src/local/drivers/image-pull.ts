/**
 * The pull policy of the plane, the part every container engine shares (engines run the pull):
 *
 * - an image missing locally is pulled when a registry answers (buildah's and Kaniko's default,
 *   `--pull=missing`); an image behind a registry secret is pulled at every use instead (publish and
 *   each cold start: the secret is resolved each time, so a revoked password stops new starts);
 * - offline (`dev --offline`), or when the pull fails for a network reason, the answer is the
 *   "not available offline" error naming what is available locally;
 * - plain HTTP (and unverified TLS) only for registries on loopback addresses;
 * - credentials reach the engine in a 0600 auth file that is removed after the pull, never on a
 *   command line (visible in /proc) and never in a message: every message passes `scrub`.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { isLoopbackHost } from "../net.js";

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** What a failed pull was, from the engine's own words. */
export type PullFailureKind = "auth" | "network" | "not-found" | "other";

export class PullFailure extends Error {
  constructor(
    readonly kind: PullFailureKind,
    readonly registry: string,
    message: string,
  ) {
    super(message);
    this.name = "PullFailure";
  }
}

const DOCKER_HUB = "docker.io";

/**
 * The registry host of an image reference, as docker resolves it: the first path component when it
 * looks like a host (has a dot or a port, or is localhost), else Docker Hub.
 */
export function registryHost(ref: string): string {
  const first = ref.split("/")[0]!;
  if (ref.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("["))) return first;
  return DOCKER_HUB;
}

/** `python:3.12-slim` -> `docker.io/library/python:3.12-slim`: what the pull asks for (never a search list). */
export function qualifiedRef(ref: string): string {
  if (registryHost(ref) !== DOCKER_HUB || ref.startsWith(`${DOCKER_HUB}/`)) return ref;
  return ref.includes("/") ? `${DOCKER_HUB}/${ref}` : `${DOCKER_HUB}/library/${ref}`;
}

/** The host without port or brackets, for the loopback check. */
function hostName(registry: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(registry);
  if (m) return m[1]!;
  return registry.replace(/:\d+$/, "");
}

/** Plain HTTP and unverified TLS are allowed for loopback registries only. */
export function insecureAllowed(registry: string): boolean {
  return isLoopbackHost(hostName(registry));
}

/** A server address as users write it ("https://ghcr.io/", "127.0.0.1:5000") -> "ghcr.io", "127.0.0.1:5000". */
export function normalizeServer(address: string): string {
  return address.trim().replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "").toLowerCase();
}

/** Docker Hub's other names are Docker Hub. */
export function canonicalRegistry(host: string): string {
  const h = host.toLowerCase();
  return h === "index.docker.io" || h === "registry-1.docker.io" ? DOCKER_HUB : h;
}

/**
 * The org's build credentials for `registry` (`build secrets set --registry-credential
 * REGISTRY=AUTH`, AUTH being base64 of "user:password" as in a docker config, or "user:password").
 */
export function buildCredentialsFor(registry: string, creds: Record<string, string> | undefined): RegistryCredentials | undefined {
  for (const [server, auth] of Object.entries(creds ?? {})) {
    if (canonicalRegistry(normalizeServer(server)) !== canonicalRegistry(registry)) continue;
    const decoded = /^[A-Za-z0-9+/]+=*$/.test(auth) ? Buffer.from(auth, "base64").toString("utf8") : "";
    const pair = decoded.includes(":") ? decoded : auth;
    const colon = pair.indexOf(":");
    if (colon > 0) return { username: pair.slice(0, colon), password: pair.slice(colon + 1) };
  }
  return undefined;
}

/**
 * How a refusal of the credentials reads, whichever tool reports it: the registry's own error codes
 * (distribution's `{"errors":[{"code":"UNAUTHORIZED"|"DENIED"}]}`, which podman and skopeo print as
 * `unauthorized: …` / `denied: …`), the HTTP status in the forms tools print it (`status 401`,
 * `status code 403`, `401 Unauthorized`, `HTTP/1.1 403`), and Docker Engine's sentences. A local
 * "permission denied" (a file) is not one.
 */
const AUTH_WORDS = [
  /"code"\s*:\s*"(unauthorized|denied)"/i,
  /\bunauthorized\b/i,
  /(?<!permission )\bdenied: /i,
  /authentication required/i,
  /requested access to the resource is denied/i,
  /pull access denied/i,
  /no basic auth credentials/i,
  /invalid username\/password|incorrect username or password/i,
  /\b(?:status(?: code)?|http(?:\/[\d.]+)?|response code)\s*:?\s*40[13]\b/i,
  /\b40[13] (?:unauthorized|forbidden)\b/i,
  /\bforbidden\b/i,
];
/** An absent image: distribution's MANIFEST_UNKNOWN / NAME_UNKNOWN codes, HTTP 404, the tools' "not found". */
const NOT_FOUND_WORDS = [/"code"\s*:\s*"(manifest_unknown|name_unknown)"/i, /manifest unknown|name unknown/i, /\b(?:status(?: code)?|http(?:\/[\d.]+)?)\s*:?\s*404\b/i, /\b404 not found\b/i, /: not found/i];
const NETWORK_WORDS = /connection refused|no such host|i\/o timeout|network is unreachable|no route to host|dial tcp|tls handshake timeout|temporary failure in name resolution|server misbehaving|connection reset|unexpected eof|econnrefused|econnreset|ehostunreach|enotfound/i;

/** Reads a failed pull's output (podman, skopeo, the Docker Engine or the registry's own answer): credentials refused, registry unreachable, image absent, other. */
export function classifyPullError(text: string): PullFailureKind {
  if (AUTH_WORDS.some((re) => re.test(text))) return "auth";
  if (NOT_FOUND_WORDS.some((re) => re.test(text))) return "not-found";
  if (NETWORK_WORDS.test(text)) return "network";
  return "other";
}

/** Replaces every occurrence of the password (and its base64 forms) in engine output. */
export function credentialScrubber(creds: RegistryCredentials | undefined): (text: string) => string {
  if (!creds?.password) return (t) => t;
  const secrets = [creds.password, Buffer.from(`${creds.username}:${creds.password}`).toString("base64")].filter((s) => s.length >= 1);
  return (t) => secrets.reduce((acc, s) => acc.split(s).join("***"), t);
}

/**
 * Writes a containers auth file (`{"auths": {REGISTRY: {"auth": base64}}}`, mode 0600) under `dir`
 * for one pull (empty without credentials); the returned function removes it.
 */
export async function writeAuthFile(dir: string, registry: string, creds: RegistryCredentials | undefined): Promise<{ file: string; remove: () => Promise<void> }> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `auth-${randomBytes(8).toString("hex")}.json`);
  // without credentials an empty file: the engine must not fall back to the user's own auth files
  const auths = creds ? { [registry]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString("base64") } } : {};
  await fsp.writeFile(file, JSON.stringify({ auths }), { mode: 0o600, flag: "wx" });
  return { file, remove: () => fsp.rm(file, { force: true }) };
}

/** The one line for an image that cannot be had: offline, or its registry did not answer. */
export function notAvailableOffline(ref: string, why: string, localHint: string): string {
  return `image ${ref} is not available offline: ${why}. ${localHint}`;
}

/** What to say of local storage after "not available offline": the images there, and how to add one. */
export function localImagesHint(ref: string, names: readonly string[] | undefined): string {
  const list = names === undefined ? "unknown" : names.length ? names.slice(0, 12).join(", ") + (names.length > 12 ? ", …" : "") : "none";
  return `Local images: ${list}. Load or tag one as ${ref} with 'dodil ignite dev images load|tag'`;
}

/** The message of a pull failure, naming the registry (never the credentials). */
export function pullFailureMessage(o: { ref: string; kind: PullFailureKind; registry: string; detail: string; withCredentials: boolean }): string {
  const { ref, kind, registry, detail, withCredentials } = o;
  switch (kind) {
    case "auth":
      return withCredentials
        ? `registry ${registry} refused the credentials for ${ref}: check the registry secret's username and password`
        : `registry ${registry} requires credentials for ${ref}: set --registry-secret-ref (a registry secret) or the org's build registry credentials`;
    case "not-found":
      return `registry ${registry} has no image ${ref}`;
    default:
      return `pulling ${ref} from ${registry} failed: ${detail}`;
  }
}

/** The repository part of a reference: `host/repo:tag` and `host/repo@sha256:…` -> `host/repo`. */
export function repositoryName(ref: string): string {
  return ref.replace(/@.*$/, "").replace(/:[^/:]*$/, "");
}

/** `Host/repo:tag` or `…@sha256:…` -> `host/repo`, lower case: what a hold is on. */
function repositoryOf(name: string): string {
  return repositoryName(qualifiedRef(name)).toLowerCase();
}

/**
 * Repositories pulled with an org's credentials whose registry names are still on the image. While
 * they are (from the pull until keepForOrg, e.g. for the whole build that pulled its FROM), another
 * org's lookup would find the image by that name: lookups of other orgs treat an image with a held
 * name as absent, so they pull, and authenticate, themselves.
 */
export class PrivatePulls {
  /** repository -> org -> pulls in that window */
  private readonly byRepo = new Map<string, Map<string, number>>();
  /** image id -> the holds of its pulls, ended by keepForOrg */
  private readonly byImage = new Map<string, Array<{ org: string; release: () => void }>>();

  /** Holds `ref`'s repository for `org`; the function ends the hold (once). */
  hold(ref: string, org: string): () => void {
    const repo = repositoryOf(ref);
    const orgs = this.byRepo.get(repo) ?? new Map<string, number>();
    orgs.set(org, (orgs.get(org) ?? 0) + 1);
    this.byRepo.set(repo, orgs);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (orgs.get(org) ?? 1) - 1;
      if (n > 0) orgs.set(org, n);
      else orgs.delete(org);
      if (!orgs.size) this.byRepo.delete(repo);
    };
  }

  /** A successful pull's hold lasts until releaseImage(id, org). */
  attach(id: string, org: string, release: () => void): void {
    const key = id.replace(/^sha256:/, "");
    this.byImage.set(key, [...(this.byImage.get(key) ?? []), { org, release }]);
  }

  /** The registry names of image `id` are gone: `org`'s holds through it end. */
  releaseImage(id: string, org: string): void {
    const key = id.replace(/^sha256:/, "");
    const list = this.byImage.get(key) ?? [];
    for (const h of list) if (h.org === org) h.release();
    const rest = list.filter((h) => h.org !== org);
    if (rest.length) this.byImage.set(key, rest);
    else this.byImage.delete(key);
  }

  /** Whether an image with these names is, for now, another org's private pull (held by it and not by `org`). */
  heldElsewhere(org: string, names: readonly string[]): boolean {
    return names.some((n) => {
      const orgs = this.byRepo.get(repositoryOf(n));
      return !!orgs && orgs.size > 0 && !orgs.has(org);
    });
  }
}
