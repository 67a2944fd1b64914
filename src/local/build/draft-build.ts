/**
 * Starting the build of a draft: image drafts (from_code, from_git) build their context with the
 * Dockerfile; compile drafts run the managed runtime's compile step first (managed-runtime/).
 * The org's build secrets (SaveBuildSecrets) are passed as build args to every build, redacted.
 */
import type { BuildManager } from "./build-manager.js";
import { compileBuildParams } from "../managed-runtime/index.js";
import type { SecretStore } from "../secrets/secret-store.js";
import type { ToolchainSandbox } from "../managed-runtime/toolchain-sandbox.js";
import type { BuildRecord, DraftRecord, Store } from "../store/store.js";

/** The rooms a draft's build uses: the builds, the store (compile sources), the org's build secrets, where compiles run. */
export interface DraftBuildRooms {
  builds: BuildManager;
  store: Store;
  secrets: SecretStore;
  toolchains: ToolchainSandbox;
}

export async function startDraftBuild(rooms: DraftBuildRooms, of: { org: string; app: string; draft: DraftRecord }): Promise<BuildRecord> {
  const { builds, store, secrets, toolchains } = rooms;
  const { org, app, draft: d } = of;
  if (d.source === "compile") {
    return builds.start(compileBuildParams(store, { org, app, sourceDigest: d.contextDigest!, ...(d.contextName ? { sourceName: d.contextName } : {}), runtime: d.runtime, ...(d.dependencies?.length ? { dependencies: d.dependencies } : {}) }, toolchains));
  }
  const bs = await secrets.buildSecrets(org);
  const secretArgs: Record<string, string> = {};
  for (const [k, v] of Object.entries(bs.buildSecrets)) if (!(k in d.buildArgs)) secretArgs[k] = v;
  return builds.start({
    org,
    app,
    kind: "draft",
    contextDigest: d.contextDigest!,
    ...(d.contextName ? { contextName: d.contextName } : {}),
    dockerfilePath: d.dockerfilePath,
    buildArgs: d.buildArgs,
    secretArgs,
    registryCredentials: bs.registryCredentials,
  });
}
