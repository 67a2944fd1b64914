/** The scaling config the runtime applies to an app's pool, and how a requested one is made sane. */
/** The app's scaling config as the runtime applies it. */
export interface ScalePolicy {
  /** Replicas kept warm (never scaled below). */
  reserved: number;
  /** Upper bound of replicas (at least 1). */
  maxReplicas: number;
  /** Calls in flight per replica before another replica starts (at least 1). */
  target: number;
  /** Hard limit of calls in flight per replica (the app's `max_concurrency`); 0: none, calls never wait. */
  maxConcurrency: number;
}

export const DEFAULT_POLICY: ScalePolicy = { reserved: 0, maxReplicas: 1, target: 1, maxConcurrency: 0 };

/** Whole numbers within bounds: at least one replica and a target of 1; reserved at most maxReplicas. */
export function normalizePolicy(p: ScalePolicy): ScalePolicy {
  const maxReplicas = Math.max(1, Math.floor(p.maxReplicas || 1), Math.floor(p.reserved || 0));
  return {
    reserved: Math.min(maxReplicas, Math.max(0, Math.floor(p.reserved || 0))),
    maxReplicas,
    target: Math.max(1, Math.floor(p.target || 1)),
    maxConcurrency: Math.max(0, Math.floor(p.maxConcurrency || 0)),
  };
}
