/** What the SecretService commands need. Loaded on first use through load-deps.ts. */
export * from "../../core/secrets.js";
export * from "../../gen/dodil/ignite/v1/secret_pb.js";
export * from "../views.js";
