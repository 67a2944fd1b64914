/**
 * The driver seam: one implementation builds images and runs them (host processes, buildah +
 * podman, the Docker Engine API), all with the same shape:
 * `build` produces an image the driver can later `start`, identified by `ref`; `start` runs it with
 * PORT and env and maps the container's ports to loopback host ports.
 */
import type { RegistryCredentials } from "./image-pull.js";

export interface BuildRequest {
  buildId: string;
  /** The building organization: base images of another organization's local namespace are refused. */
  org: string;
  /** Archive (tar, tar.gz, zip or one file) holding the build context, inside the data dir. */
  contextFile: string;
  /** File name used when the context is a single file. */
  contextName?: string;
  /** Dockerfile path relative to the context root. */
  dockerfilePath: string;
  buildArgs: Record<string, string>;
  /** Directory the driver owns for this image (created by the caller, empty). */
  imageDir: string;
  /** Reference the image is tagged with (e.g. "local.ignite/acme-corp/greeter:bld_01J..."). */
  imageRef: string;
  /** The plane's registry (HOST:PORT): its `<org>/…` repositories are org namespaces like local.ignite. */
  privateRegistries?: string[];
  /** The org's build registry credentials (REGISTRY -> AUTH), for FROM images that must be pulled. */
  registryCredentials?: Record<string, string>;
}

/**
 * The engine could not reach the plane's loopback registry (a Docker Engine in another network
 * namespace or VM, or one that speaks only HTTPS to it): the build keeps its local image.
 */
export class RegistryUnreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegistryUnreachable";
  }
}

/** A pull of an image into a container driver's local storage (drivers/image-pull.ts has the policy). */
export interface PullRequest {
  ref: string;
  /** Credentials for the image's registry; the pulled image is then kept under `org`'s local namespace only. */
  credentials?: RegistryCredentials;
  org: string;
  log: (line: string) => void;
  signal?: AbortSignal;
}

export interface ImageConfig {
  workdir: string;
  env: Record<string, string>;
  entrypoint: string[] | null;
  cmd: string[] | null;
  user: string;
  exposedPorts: number[];
  labels: Record<string, string>;
  /** Stop signal declared by STOPSIGNAL (default SIGTERM). */
  stopSignal: string;
}

export interface BuiltImage {
  ref: string;
  driver: string;
  /** Driver-specific location: the image directory for host, the image id for containers. */
  dir: string;
  config: ImageConfig;
  createdAtMs: number;
  /** Every name the engine knows the image by (tags, earlier tags); container drivers only. */
  names?: string[];
}

export interface StartOptions {
  /** The app, as "org/app": the host driver gives each app a user of its own. */
  owner: string;
  /** Environment: app env (the driver adds image ENV, PORT and HOME). */
  env: Record<string, string>;
  /** Port the app listens on inside its sandbox (PORT); the driver maps it to a host port. */
  port: number;
  /** Further declared ports the app may listen on. */
  extraPorts: number[];
  /** A writable directory for this instance (HOME, logs). */
  instanceDir: string;
  /** Human log lines about the start (not the app's own output). */
  log: (line: string) => void;
  /** Each complete line the app writes to stdout/stderr (no trailing newline); feeds GetAppLogs. */
  onOutput?: (stream: "stdout" | "stderr", line: string) => void;
  /** The app's tier limits (0: none); container drivers apply them, the host driver cannot. */
  limits?: { memoryMb: number; cpuMillicores: number };
}

export interface InstanceExit {
  code: number | null;
  signal: string | null;
}

/**
 * Where the plane connects to one of an instance's ports (spreads into `http.request` options): the
 * same port on the host's loopback (host networking), or a unix socket that a forwarder inside the
 * instance's own network namespace answers (drivers/app-network.ts). A unix socket needs no host
 * port another app could find.
 */
export type InstanceEndpoint = { host: "127.0.0.1"; port: number } | { socketPath: string };

/** An endpoint for a log line or an error. */
export function describeEndpoint(e: InstanceEndpoint): string {
  return "socketPath" in e ? `its network namespace's socket ${e.socketPath}` : `port ${e.port}`;
}

export interface RunningInstance {
  id: string;
  /** Where the app's main port is reached. */
  endpoint: InstanceEndpoint;
  /** Declared port -> where it is reached. */
  endpoints: Map<number, InstanceEndpoint>;
  startedAtMs: number;
  /** Resolves when the process/container ends. */
  exited: Promise<InstanceExit>;
  alive(): boolean;
  /** The last lines the app wrote to stdout/stderr. */
  recentOutput(lines?: number): string[];
  /** Graceful stop: stop signal, then kill after a grace period. Idempotent. */
  stop(): Promise<void>;
}

export interface Driver {
  readonly name: string;
  build(req: BuildRequest, log: (line: string) => void, signal: AbortSignal): Promise<BuiltImage>;
  /** Whether an image built earlier (maybe before a restart) can still be started. */
  imageAvailable(image: BuiltImage): Promise<boolean>;
  start(image: BuiltImage, opts: StartOptions): Promise<RunningInstance>;
  /** Removes an image's data (best effort); a container engine removes its ref, not its id. */
  removeImage(image: BuiltImage): Promise<void>;
  /** An image already present in the driver's local storage (prebuilt images); undefined when absent. */
  localImage?(ref: string): Promise<BuiltImage | undefined>;
  /**
   * Pushes a local image to the plane's registry (loopback, plain HTTP) as `dest`, with the
   * credentials in `authFile`; resolves to the manifest digest. Container drivers that can push.
   */
  pushImage?(localRef: string, dest: string, o: { authFile: string; signal?: AbortSignal }): Promise<string>;
  /** Pulls a digest reference from the plane's registry and names it `localRef` (only that name). */
  pullImageAs?(ref: string, localRef: string, o: { authFile: string; signal?: AbortSignal }): Promise<void>;
  /** The names of local images outside the plane's namespace, for the "not available offline" error. */
  localImageNames?(): Promise<string[]>;
  /** Whether the driver was told not to pull (dev --offline): a missing image is "not available offline". */
  readonly offline?: boolean;
  /**
   * Pulls an image into local storage (container drivers); throws a PullFailure (image-pull.ts).
   * The result's `dir` is the image id, `digest` the manifest digest the registry served.
   */
  pullImage?(req: PullRequest): Promise<BuiltImage & { digest: string }>;
  /**
   * Whether an image with these names was pulled with another org's credentials and still carries
   * its registry names (until keepForOrg): lookups of `org` then treat it as absent.
   */
  privatelyPulledElsewhere?(org: string, names: readonly string[]): boolean;
  /** Names an image (by id) in `org`'s local namespace and drops its names from `registry`: what `org`'s credentials pulled from there. */
  keepForOrg?(id: string, org: string, registry: string): Promise<void>;
  /** Final cleanup after every instance was stopped (e.g. containers left by a crashed client). */
  close?(): Promise<void>;
  /** Removes every instance at once, without grace (stop() when the graceful stop overran its bound). */
  forceStop?(): Promise<void>;
}

export class BuildFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BuildFailure";
  }
}

/** The uid:gid a container driver runs an image without USER as (a warning is logged). */
export const DEFAULT_NON_ROOT_USER = "65534:65534";
