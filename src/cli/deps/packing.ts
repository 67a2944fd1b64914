/** What the commands that pack a local source need: build contexts, drafts, deploys, and both services. Loaded on first use through load-deps.ts. */
export * from "./compute.js";
export * from "./builds.js";
export * from "../../core/context-cache.js";
export * from "../../core/deploy.js";
export * from "../../core/drafts.js";
export * from "../../core/prepare-archive.js";
