/**
 * Prebuilt images (`--image-ref`). Publishing one records a finished "build" that points at the
 * image, so versions, rollback and cold starts treat it like a built image. Only the caller's own
 * images of the plane's namespace can be named (image-ownership.ts).
 *
 * Where the image comes from (drivers/image-pull.ts has the policy):
 * - without a registry secret, local storage first, else a pull when a registry answers (offline,
 *   or when it does not answer: "not available offline");
 * - with a registry secret, always the registry: the secret is resolved and the image pulled at
 *   publish and again, by the digest published, at every cold start (repullPrebuilt), so a changed or
 *   deleted secret stops new starts. The local copy is then named only in the org's namespace, so
 *   another org cannot start it without credentials of its own.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { BuildStatus } from "../../gen/dodil/ignite/v1/common_pb.js";
import type { BuiltImage, Driver } from "../drivers/types.js";
import { errorMessage, failedPrecondition, notFound, permissionDenied } from "../errors.js";
import type { BuildRecord, Store } from "../store/store.js";
import { ulid } from "../ids.js";
import { writeJson } from "../atomic-fs.js";
import { checkImageRefOwner, usableByOrg } from "../drivers/image-ownership.js";
import { credentialScrubber, localImagesHint, notAvailableOffline, PullFailure, registryHost, type RegistryCredentials } from "../drivers/image-pull.js";

export interface PrebuiltSource {
  org: string;
  app: string;
  ref: string;
  /** The plane registry's HOST:PORT: its `<org>/…` repositories are org namespaces (image-ownership.ts). */
  privateRegistries?: readonly string[];
  /** The draft's registry secret (name and resolved value), when it has one. */
  secret?: { name: string; credentials: RegistryCredentials };
}

export async function prebuiltBuild(store: Store, driver: Driver | undefined, src: PrebuiltSource): Promise<BuildRecord> {
  const { org, app, ref } = src;
  const privateRegistries = src.privateRegistries ?? [];
  if (!driver?.localImage) {
    throw failedPrecondition(
      `image ${ref} is not available offline: the ${driver?.name ?? "current"} driver cannot run images; prebuilt images need a container driver (--driver podman or docker)`,
    );
  }
  checkImageRefOwner(org, ref, "image", privateRegistries);
  let img: BuiltImage | undefined;
  let pulledBy = "";
  if (!src.secret) {
    const local = await driver.localImage(ref);
    if (local && usableByOrg(org, local.names ?? [], privateRegistries, driver.privatelyPulledElsewhere?.bind(driver))) img = local;
  }
  if (!img) {
    const pulled = await pullPrebuilt(driver, org, ref, src.secret?.credentials);
    img = pulled;
    pulledBy = pulled.digest ? `${ref.replace(/[:@][^/]*$/, "")}@${pulled.digest}` : ref;
  }
  const id = `bld_${ulid()}`;
  const now = Date.now();
  const rec: BuildRecord = {
    id,
    org,
    app,
    status: BuildStatus.SUCCEEDED,
    contextDigest: "",
    dockerfilePath: "",
    buildArgs: {},
    imageRef: ref,
    createdAtMs: now,
    startedAtMs: now,
    finishedAtMs: now,
    ...(pulledBy ? { pulledRef: pulledBy } : {}),
    ...(src.secret ? { registrySecretRef: src.secret.name } : {}),
  };
  const dir = store.imageDir(id);
  await fsp.mkdir(dir, { recursive: true });
  await writeJson(path.join(dir, "image.json"), { ...img, ref });
  await fsp.mkdir(store.buildDir(id), { recursive: true });
  const how = pulledBy ? `Pulled ${ref} from ${registryHost(ref)}${src.secret ? ` with registry secret '${src.secret.name}'` : ""}` : `Using the local image ${ref}`;
  await fsp.writeFile(path.join(store.buildDir(id), "log.jsonl"), JSON.stringify({ offset: 0, timestampMs: now, line: `${how} (${img.dir.replace(/^sha256:/, "").slice(0, 12)}); nothing to build` }) + "\n");
  await store.putBuild(rec);
  return rec;
}

/**
 * A cold start (or rollback) of a pulled version whose image must come from its registry again: one
 * behind a registry secret always (with the secret as it is now), another when its local copy is
 * gone. Pulls the published digest and points the version's image at what came.
 */
export async function repullPrebuilt(store: Store, driver: Driver | undefined, b: BuildRecord, credentials: RegistryCredentials | undefined): Promise<BuiltImage> {
  if (!driver?.pullImage) throw failedPrecondition(`image ${b.imageRef} must be pulled from its registry, and the ${driver?.name ?? "current"} driver cannot pull`);
  const img = await pullPrebuilt(driver, b.org, b.pulledRef || b.imageRef, credentials);
  const built: BuiltImage = { ...img, ref: b.imageRef };
  await writeJson(path.join(store.imageDir(b.id), "image.json"), built);
  return built;
}

/** A pull for a prebuilt image, its failure as the RPC error users see (never with the secret). */
async function pullPrebuilt(driver: Driver, org: string, ref: string, credentials: RegistryCredentials | undefined): Promise<BuiltImage & { digest: string }> {
  const registry = registryHost(ref);
  const offline = async (why: string) => failedPrecondition(notAvailableOffline(ref, `${why}, and the ${driver.name} driver has no local image with that reference`, localImagesHint(ref, await driver.localImageNames?.().catch(() => undefined))));
  if (!driver.pullImage || driver.offline) throw await offline(driver.offline ? "the local control plane runs with --offline" : `the ${driver.name} driver cannot pull`);
  const scrub = credentialScrubber(credentials);
  try {
    const pulled = await driver.pullImage({ ref, org, log: () => undefined, ...(credentials ? { credentials } : {}) });
    if (credentials) await driver.keepForOrg?.(pulled.dir, org, registry);
    return pulled;
  } catch (e) {
    if (!(e instanceof PullFailure)) throw new Error(scrub(errorMessage(e)));
    const msg = scrub(e.message);
    if (e.kind === "auth") throw permissionDenied(msg);
    if (e.kind === "not-found") throw notFound(msg);
    if (e.kind === "network") throw await offline(`registry ${registry} did not answer (${msg})`);
    throw failedPrecondition(msg);
  }
}
