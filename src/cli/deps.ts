/**
 * Everything a command handler needs that is heavy to load (protobuf descriptors, the gRPC use
 * cases, protobuf JSON). Handlers import it on first use through `loadDeps()`, so `--help`, usage
 * errors and `config` commands start without evaluating any of it.
 */
export * from "../core/apps.js";
export * from "../core/context-cache.js";
export * from "../core/app-code.js";
export * from "../core/app-logs.js";
export * from "../core/app-settings.js";
export * from "../core/builds.js";
export * from "../core/deploy.js";
export * from "../core/draft-runs.js";
export * from "../core/drafts.js";
export * from "../core/executions.js";
export * from "../core/invoke.js";
export * from "../core/models.js";
export * from "../core/prepare-archive.js";
export * from "../core/secrets.js";
export * from "../core/versions.js";
export * from "../gen/dodil/ignite/v1/build_pb.js";
export * from "../gen/dodil/ignite/v1/common_pb.js";
export * from "../gen/dodil/ignite/v1/compute_pb.js";
export * from "../gen/dodil/ignite/v1/model_pb.js";
export * from "../gen/dodil/ignite/v1/secret_pb.js";
export * from "./resource-views.js";
export * from "./views.js";
