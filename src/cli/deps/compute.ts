/** What the ComputeService commands (apps, drafts, versions, invoke, executions, logs) need. Loaded on first use through load-deps.ts. */
export * from "../../core/apps.js";
export * from "../../core/app-code.js";
export * from "../../core/app-logs.js";
export * from "../../core/app-settings.js";
export * from "../../core/draft-runs.js";
export * from "../../core/executions.js";
export * from "../../core/invoke.js";
export * from "../../core/versions.js";
export * from "../../gen/dodil/ignite/v1/common_pb.js";
export * from "../../gen/dodil/ignite/v1/compute_pb.js";
export * from "../resource-views.js";
export * from "../views.js";
export * from "../../core/mcp-apps.js";
