/** A replica of an app version: what it is started from, and the running one the pool keeps. */
import type { BuiltImage, RunningInstance } from "../drivers/types.js";

/** What the runtime starts a replica of: an app version's image and how it is run. */
export interface AppRunSpec {
  org: string;
  app: string;
  version: number;
  image: BuiltImage;
  env: Record<string, string>;
  ports: number[];
  healthPath: string;
  /** Shown in events, e.g. "test instance" for TestDraft/TestAppVersion. */
  label?: string;
  /** The app's tier (or --memory/--cpu) limits. */
  limits?: { memoryMb: number; cpuMillicores: number };
}

/** One running replica. */
export interface Slot {
  version: number;
  instance: RunningInstance;
  lastUsedMs: number;
  /** Calls being served by this replica right now. */
  inflight: number;
}
