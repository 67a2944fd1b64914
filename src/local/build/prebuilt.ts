/**
 * Prebuilt images (`--image-ref`): no registry can be reached, so the image must already be in the
 * driver's local storage (podman or docker). Publishing one records a finished "build" that points
 * at the local image, so versions, rollback and cold starts treat it like a built image. Only the
 * caller's own images of the plane's namespace can be named (image-ownership.ts).
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { BuildStatus } from "../../gen/dodil/ignite/v1/common_pb.js";
import type { Driver } from "../drivers/types.js";
import { failedPrecondition } from "../errors.js";
import type { BuildRecord, Store } from "../store/store.js";
import { ulid } from "../ids.js";
import { writeJson } from "../atomic-fs.js";
import { checkImageRefOwner, heldByAnotherOrg } from "../drivers/image-ownership.js";

export async function prebuiltBuild(store: Store, driver: Driver | undefined, org: string, app: string, ref: string, privateRegistries: readonly string[] = []): Promise<BuildRecord> {
  if (!driver?.localImage) {
    throw failedPrecondition(
      `image ${ref} is not available offline: the ${driver?.name ?? "current"} driver cannot run images; prebuilt images need a container driver with the image in its local storage (--driver podman or docker)`,
    );
  }
  checkImageRefOwner(org, ref, "image", privateRegistries);
  const img = await driver.localImage(ref);
  if (!img || heldByAnotherOrg(org, img.names ?? [], privateRegistries)) {
    throw failedPrecondition(`image ${ref} is not available offline: the ${driver.name} driver has no local image with that reference, and the local control plane cannot pull from a registry`);
  }
  const id = `bld_${ulid()}`;
  const now = Date.now();
  const rec: BuildRecord = { id, org, app, status: BuildStatus.SUCCEEDED, contextDigest: "", dockerfilePath: "", buildArgs: {}, imageRef: ref, createdAtMs: now, startedAtMs: now, finishedAtMs: now };
  const dir = store.imageDir(id);
  await fsp.mkdir(dir, { recursive: true });
  await writeJson(path.join(dir, "image.json"), { ...img, ref });
  await fsp.mkdir(store.buildDir(id), { recursive: true });
  await fsp.writeFile(path.join(store.buildDir(id), "log.jsonl"), JSON.stringify({ offset: 0, timestampMs: now, line: `Using the local image ${ref} (${img.dir.replace(/^sha256:/, "").slice(0, 12)}); nothing to build` }) + "\n");
  await store.putBuild(rec);
  return rec;
}
