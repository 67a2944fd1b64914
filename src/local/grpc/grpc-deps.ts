/** What the service files of grpc/ are built from; control-plane.ts constructs every part. */
import type { Platform } from "../apps/platform.js";
import type { BuildManager } from "../build/build-manager.js";
import type { ExecutionManager } from "../invoke/executions.js";
import type { ObservabilityHub } from "../observability/observability-hub.js";
import type { RpcKit } from "./rpc-kit.js";
import type { BuildRecord } from "../store/store.js";
import { notFound } from "../errors.js";

export interface GrpcDeps {
  platform: Platform;
  builds: BuildManager;
  executions: ExecutionManager;
  hub: ObservabilityHub;
  kit: RpcKit;
}

/** The call's deadline in ms since the epoch; an hour from now when it has none. */
export function deadlineOf(call: { getDeadline(): unknown }): number {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : Number(d);
  return Number.isFinite(ms) && ms > 0 ? ms : Date.now() + 3_600_000;
}

/** The org's build `id`; NOT_FOUND for another org's, as for a missing one. */
export async function buildOf(platform: Platform, id: string, org: string): Promise<BuildRecord> {
  const rec = await platform.store.getBuild(id);
  if (!rec || rec.org !== org) throw notFound(`build ${id || "(empty id)"} not found`);
  return rec;
}
