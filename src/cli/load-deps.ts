/**
 * The heavy parts of the CLI (protobuf descriptors, gRPC use cases, build-context packing), one
 * loader per service area, so a command decodes only its own area's descriptors and `--help`,
 * usage errors and `config` commands load none of them.
 */
export const loadDeps = {
  compute: () => import("./deps/compute.js"),
  builds: () => import("./deps/builds.js"),
  packing: () => import("./deps/packing.js"),
  models: () => import("./deps/models.js"),
  secrets: () => import("./deps/secrets.js"),
};
