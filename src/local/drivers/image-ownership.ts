/**
 * The plane's own image namespace, `local.ignite/<org>/…`: every image the plane builds is tagged
 * there, under the building organization. Local refs are guessable, so an organization may name
 * (as `--image-ref` or in a Dockerfile's FROM) only images of its own namespace; images of other
 * registries stay usable, except when the name resolves to an image the plane built for another
 * organization (a short name such as `acme-corp/private` matches `local.ignite/acme-corp/private`
 * in podman's and docker's local lookup).
 */
import { permissionDenied } from "../errors.js";

export const LOCAL_REGISTRY = "local.ignite";

/** The ref of an image the plane builds for `org`: `local.ignite/<org>/<repo>:<tag>`. */
export function localImageRef(org: string, repo: string, tag: string): string {
  return `${LOCAL_REGISTRY}/${org}/${repo}:${tag}`;
}

/**
 * The organization whose namespace `ref` names, or undefined when it is not a `local.ignite` ref.
 * The registry part is compared as engines compare host names: case-insensitively, any port, a
 * `docker.io/`-style prefix does not hide it (that would be a different image, but it is refused
 * rather than guessed about).
 */
export function localRefOrg(ref: string, registries: readonly string[] = []): string | undefined {
  const parts = ref.trim().split("/");
  // The plane's own registry (HOST:PORT as in its image refs) is an org namespace as well.
  if (parts.length > 2 && registries.some((r) => r.toLowerCase() === parts[0]!.toLowerCase())) return parts[1]!.toLowerCase().replace(/[:@].*$/, "");
  const i = parts.findIndex((p) => p.toLowerCase().replace(/:\d*$/, "") === LOCAL_REGISTRY);
  if (i < 0 || i >= parts.length - 1) return undefined;
  return parts[i + 1]!.toLowerCase().replace(/[:@].*$/, "");
}

/**
 * Refuses a ref in another organization's local namespace (PermissionDenied naming the image and
 * the caller's org), before anything looks the image up, so the answer does not depend on whether
 * the image exists.
 */
export function checkImageRefOwner(org: string, ref: string, what = "image", registries: readonly string[] = []): void {
  const owner = localRefOrg(ref, registries);
  if (owner !== undefined && owner !== org) {
    throw permissionDenied(`${what} ${ref} is not in organization ${org}'s local namespace: organization ${org} may use only its own local images (${LOCAL_REGISTRY}/${org}/…)`);
  }
}

/**
 * Whether an image, by the names it carries, is another organization's: it has a name in another
 * organization's local namespace and none outside it (a base image such as busybox that a build
 * left tagged `local.ignite/<org>/…` is still everyone's). Callers answer as for an absent image:
 * whether another organization holds an image of that name is not the caller's to learn.
 */
export function heldByAnotherOrg(org: string, names: readonly string[], registries: readonly string[] = []): boolean {
  const owners = names.map((n) => localRefOrg(n, registries));
  return owners.some((o) => o !== undefined && o !== org) && !owners.some((o) => o === undefined || o === org);
}

/**
 * Whether `org` may be served a local image that carries `names`: not another organization's
 * (heldByAnotherOrg), and not still named after another organization's private pull (the engine's
 * PrivatePulls hold, image-pull.ts). Otherwise it is answered as absent, and pulled.
 */
export function usableByOrg(org: string, names: readonly string[], registries: readonly string[], pulledElsewhere?: (org: string, names: readonly string[]) => boolean): boolean {
  return !heldByAnotherOrg(org, names, registries) && !pulledElsewhere?.(org, names);
}
