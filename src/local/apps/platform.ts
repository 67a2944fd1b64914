/**
 * The local platform's use cases, independent of gRPC, in four rooms: apps, drafts (and the
 * contexts their code comes from), versions (publish, rollback) and scaling. Platform constructs
 * them over the shared parts; gRPC handlers and the gateway authenticate, then call a room with the
 * caller's organization.
 */
import type { ToolchainSandbox } from "../managed-runtime/toolchain-sandbox.js";
import type { BuildManager } from "../build/build-manager.js";
import type { Driver } from "../drivers/types.js";
import { KeyedMutex } from "../keyed-mutex.js";
import type { RuntimeManager } from "../runtime/runtime-manager.js";
import { systemClock, type Clock } from "../../clock.js";
import { SecretStore } from "../secrets/secret-store.js";
import type { Store } from "../store/store.js";
import { Apps } from "./apps.js";
import { Drafts } from "./drafts.js";
import { HostNames } from "./host-names.js";
import { Scaling } from "./scaling.js";
import { Versions } from "./versions.js";

export interface PlatformDeps {
  store: Store;
  builds: BuildManager;
  runtime: RuntimeManager;
  baseDomain: string;
  /** The apps' hosts file (the public names -> the gateway), kept by HostNames; absent: none. */
  hostsFile?: string;
  gatewayPort: () => number;
  /** "https" when the gateway serves TLS. */
  gatewayScheme?: "http" | "https";
  log: (line: string) => void;
  /** The build/run driver (prebuilt images are looked up in its local storage). */
  driver?: Driver;
  /** A save superseded a draft: what only it referred to can be collected (store/disk-collector.ts). */
  draftSuperseded?: () => void;
  /** The plane's registry HOST:PORT once it listens: its `<org>/…` names are org namespaces. */
  privateRegistries?: () => string[];
  /** A stored image ref as it is shown: one naming a former port of the plane's registry names its current one. */
  resolveImageRef?: (ref: string) => string;
  /** The time records are stamped with (src/clock.ts); the system clock unless a test gives one. */
  clock?: Pick<Clock, "now">;
  /** Where managed-runtime compiles run their toolchain (managed-runtime/toolchain-sandbox.ts). */
  toolchains: ToolchainSandbox;
}

/** What every room of apps/ works with: the platform's parts, and the per-app lock they share. */
export interface RoomDeps extends PlatformDeps {
  /** As in PlatformDeps; the ref itself where the plane has no registry. */
  resolveImageRef: (ref: string) => string;
  /** Serialises changes to one app (config, draft, publish, rollback). */
  appLocks: KeyedMutex;
  secrets: SecretStore;
  hostNames: HostNames;
}

export class Platform {
  readonly apps: Apps;
  readonly drafts: Drafts;
  readonly versions: Versions;
  readonly scaling: Scaling;
  readonly appLocks = new KeyedMutex();
  readonly secrets: SecretStore;
  readonly hostNames: HostNames;
  readonly store: Store;
  readonly builds: BuildManager;
  readonly runtime: RuntimeManager;
  readonly toolchains: ToolchainSandbox;
  /** A stored image ref as every view shows it (PlatformDeps.resolveImageRef). */
  readonly shownImageRef: (ref: string) => string;

  constructor(d: PlatformDeps) {
    this.store = d.store;
    this.toolchains = d.toolchains;
    this.builds = d.builds;
    this.runtime = d.runtime;
    this.secrets = new SecretStore(d.store.dataDir, d.store.quarantine, d.clock ?? systemClock);
    this.hostNames = new HostNames(d.store, d.baseDomain, d.hostsFile);
    this.shownImageRef = d.resolveImageRef ?? ((ref) => ref);
    const rooms: RoomDeps = { ...d, resolveImageRef: this.shownImageRef, appLocks: this.appLocks, secrets: this.secrets, hostNames: this.hostNames };
    this.apps = new Apps(rooms, this);
    this.drafts = new Drafts(rooms, this);
    this.versions = new Versions(rooms, this);
    this.scaling = new Scaling(rooms, this);
  }
}
