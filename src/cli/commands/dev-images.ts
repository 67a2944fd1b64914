import { resolve } from "node:path";
import { CliError, UsageError } from "../../errors.js";
import { formatBytes } from "../../output/format-bytes.js";
import { defineCommand, opt, type CommandSpec } from "../command-spec.js";
import type { CommandContext } from "../command-context.js";
import type { OptionValues } from "../command-spec.js";
import { devDataDir } from "./dev-data-dir.js";

const STORE_OPTIONS = [
  { flags: "--data-dir <dir>", description: "the data directory whose podman image store to use (default ~/.local/share/dodil/ignite-dev)" },
  { flags: "--cache", description: "act on the shared image cache that `dev setup` fills (every data dir's builds see it) instead of the data dir's store" },
];

/** The local-images module, loaded on demand (as `dev` loads the plane), and the store options. */
async function imagesApi(options: OptionValues, ctx: CommandContext) {
  const api = await import("../../local/drivers/local-images.js");
  const store = { dataDir: devDataDir(opt.string(options, "dataDir"), ctx), cache: opt.flag(options, "cache") };
  // Its errors as the CLI's: bad input exit 2, a missing image exit 5.
  const mapped = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      if (e instanceof api.LocalImageError) throw e.kind === "invalid" ? new UsageError(e.message) : e.kind === "not-found" ? new CliError("NOT_FOUND", e.message) : new CliError("FAILURE", e.message);
      throw e;
    }
  };
  return { api, store, mapped };
}

const list = defineCommand({
  name: "list",
  aliases: ["ls"],
  summary: "List the images the podman driver sees (ref, digest, size, created)",
  description: "The data dir's own store and the shared image cache (STORE says which): what FROM lines and --image-ref resolve against.",
  options: [STORE_OPTIONS[0]!],
  examples: ["dodil ignite dev images list", "dodil ignite dev images list -o json"],
  async handler(_args, options, ctx) {
    const { api, store, mapped } = await imagesApi(options, ctx);
    const images = await mapped(() => api.listLocalImages({ ...store, cache: false }));
    return {
      data: { images: images.map((i) => ({ refs: i.refs, id: i.id, digest: i.digest, size_bytes: i.sizeBytes, created_at: i.createdAt, store: i.store })) },
      human: {
        kind: "table",
        empty: "No images (create base image stand-ins with 'dodil ignite dev setup', or 'dodil ignite dev images load FILE').",
        columns: [
          { key: "ref", header: "REF" },
          { key: "digest", header: "DIGEST" },
          { key: "size", header: "SIZE" },
          { key: "created", header: "CREATED" },
          { key: "store", header: "STORE" },
        ],
        rows: images.map((i) => ({ ref: i.refs.join(", "), digest: i.digest ? i.digest.slice(0, 19) : "-", size: formatBytes(i.sizeBytes), created: i.createdAt, store: i.store })),
      },
    };
  },
});

const load = defineCommand({
  name: "load",
  summary: "Load images from a `docker save` or OCI archive",
  args: [{ name: "file", description: "the archive (docker save tar or OCI archive)", required: true }],
  options: STORE_OPTIONS,
  examples: ["dodil ignite dev images load node-22.tar", "dodil ignite dev images load base.oci.tar --cache"],
  async handler(args, options, ctx) {
    const { api, store, mapped } = await imagesApi(options, ctx);
    const names = await mapped(() => api.loadLocalImage(store, resolve(ctx.cwd, args[0]!)));
    return { data: { loaded: names }, human: { kind: "text", text: names.length ? `Loaded ${names.join(", ")}` : "Loaded an image without a name (tag it: dodil ignite dev images tag ID NAME)" } };
  },
});

const tag = defineCommand({
  name: "tag",
  summary: "Give a local image another name (e.g. map node:22-alpine to a local Node image)",
  args: [
    { name: "src", description: "an existing image (name or id)", required: true },
    { name: "dst", description: "the new name", required: true },
  ],
  options: STORE_OPTIONS,
  examples: ["dodil ignite dev images tag node:22-slim node:22-alpine"],
  async handler(args, options, ctx) {
    const { api, store, mapped } = await imagesApi(options, ctx);
    const tagged = await mapped(() => api.tagLocalImage(store, args[0]!, args[1]!));
    return { data: { source: args[0], tagged }, human: { kind: "text", text: `Tagged ${args[0]} as ${tagged}` } };
  },
});

const rm = defineCommand({
  name: "rm",
  summary: "Remove an image name (the image goes with its last name)",
  args: [{ name: "ref", description: "the image name", required: true }],
  options: STORE_OPTIONS,
  examples: ["dodil ignite dev images rm node:22-alpine"],
  async handler(args, options, ctx) {
    const { api, store, mapped } = await imagesApi(options, ctx);
    await mapped(() => api.removeLocalImage(store, args[0]!));
    return { data: { removed: args[0] }, human: { kind: "text", text: `Removed ${args[0]}` } };
  },
});

/** `dodil ignite dev images`: the podman driver's local images. */
export const devImagesCommand: CommandSpec = defineCommand({
  name: "images",
  summary: "List, load, tag and remove the local images the podman driver builds from and runs",
  description:
    "Acts on the podman image store of a data dir (--data-dir, as for `dev`), or with --cache on the shared image cache of `dev setup`. " +
    "Names in the plane's own namespace (local.ignite/<org>/…) belong to builds and cannot be written here.",
  examples: ["dodil ignite dev images list", "dodil ignite dev images load app.tar", "dodil ignite dev images tag node:22-slim node:22-alpine", "dodil ignite dev images rm node:22-alpine"],
  subcommands: [list, load, tag, rm],
  async handler() {
    return { data: {}, human: { kind: "text", text: "Use a subcommand: list, load, tag or rm (dodil ignite dev images --help)" } };
  },
});
