/** What the BuildService commands need. Loaded on first use through load-deps.ts. */
export * from "../../core/builds.js";
export * from "../../gen/dodil/ignite/v1/build_pb.js";
export * from "../../gen/dodil/ignite/v1/common_pb.js";
export * from "../build-views.js";
export * from "../views.js";
