/** What the ModelService commands need. Loaded on first use through load-deps.ts. */
export * from "../../core/models.js";
export * from "../../gen/dodil/ignite/v1/model_pb.js";
export * from "../views.js";
