/**
 * The local control plane: a grpc-js server with ComputeService, BuildService, SecretService,
 * ModelService and server reflection, backed by on-disk state, a driver and an HTTP gateway.
 */
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import type * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { BuildService } from "../gen/dodil/ignite/v1/build_pb.js";
import { ComputeService } from "../gen/dodil/ignite/v1/compute_pb.js";
import { ModelService } from "../gen/dodil/ignite/v1/model_pb.js";
import { SecretService } from "../gen/dodil/ignite/v1/secret_pb.js";
import * as reflV1 from "../gen/grpc/reflection/v1/reflection_pb.js";
import * as reflV1alpha from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { grpcServiceDefinition, MAX_MESSAGE_BYTES } from "../wire/grpc-service.js";
import { rejectMalformedRequests } from "./grpc/malformed-requests.js";
import { BuildManager, registryHosts } from "./build/build-manager.js";
import { systemClock, type Clock, type ClockTimer } from "../clock.js";
import { probeDocker, probePodman } from "./drivers/detect.js";
import { DockerDriver } from "./drivers/docker.js";
import { dockerEndpoint } from "./drivers/docker-api.js";
import { HostDriver } from "./drivers/host.js";
import { checkTenantIsolation } from "./drivers/tenant-isolation.js";
import { AppNetworks, appNetworkMissing } from "./drivers/app-network.js";
import { EGRESS_PROXY_PORT, EgressProxy } from "./egress/egress-proxy.js";
import { HostSandboxes } from "./drivers/host-sandbox.js";
import { ToolchainSandbox, type ToolchainSandboxDeps } from "./managed-runtime/toolchain-sandbox.js";
import { PodmanDriver } from "./drivers/podman.js";
import type { Driver } from "./drivers/types.js";
import { createGateway } from "./gateway/gateway.js";
import { createTokenServer, generatedServiceAccounts, resolveTokens, TOKEN_PATH, TokenAuthority, type ServiceAccount } from "./auth/token-authority.js";
import { ensureGeneratedTls, loadGivenTls, serverHosts } from "./auth/tls.js";
import { Platform } from "./apps/platform.js";
import { reflectionHandlers } from "./grpc/reflection.js";
import { RuntimeManager } from "./runtime/runtime-manager.js";
import { grpcServices } from "./grpc/server.js";
import { rpcKit } from "./grpc/rpc-kit.js";
import { OrgAccess } from "./auth/org-access.js";
import { ExecutionManager } from "./invoke/executions.js";
import { ObservabilityHub } from "./observability/observability-hub.js";
import { Store } from "./store/store.js";
import { DataDirLock } from "./store/data-dir-lock.js";
import { DiskCollector } from "./store/disk-collector.js";
import { closeServer, listenOn, parseListen, urlHost } from "./net.js";
import { PlaneRegistry, registryAbsence } from "./registry/plane-registry.js";
import { REGISTRY_TOKEN_PATH, RegistryTokenIssuer } from "./registry/registry-token.js";

export interface ControlPlaneOptions {
  /** gRPC listen address, e.g. "127.0.0.1:0" (0 picks a free port). */
  listen: string;
  /** HTTP gateway listen address, e.g. "127.0.0.1:0". */
  gatewayListen: string;
  /** All state lives here; created if missing. */
  dataDir: string;
  driver: "auto" | "host" | "podman" | "docker";
  /** Never pull images (dev --offline): a FROM or --image-ref missing locally is "not available offline". */
  offline?: boolean;
  /** token -> organization name. Empty: one random token for org "local", persisted in dataDir. */
  tokens: Record<string, string>;
  /** Default "ignite.localhost". */
  baseDomain?: string;
  /** Human log lines (server side). Default: none. */
  log?: (line: string) => void;
  /** How long a new instance may take to answer HTTP (default 60 s). */
  readyTimeoutMs?: number;
  /** Offline base images shared by every data dir (default $IGNITE_IMAGE_CACHE or ~/.cache/dodil/ignite-images). */
  imageCacheDir?: string;
  /** Idle time after which an app without reserved capacity scales to zero (default 15 min; 0 = never). */
  idleTimeoutMs?: number;
  /** TLS for gRPC and the token endpoint: "generate" (a CA + server certificate in dataDir/tls) or a given PEM certificate + key. Absent: plaintext. */
  tls?: "generate" | { certFile: string; keyFile: string };
  /** Service accounts for the token endpoint. Empty with no tokens either: one generated for org "local" (kept in dataDir/auth). */
  serviceAccounts?: ServiceAccount[];
  /** Lifetime of the JWTs the token endpoint issues (default 3600 s). */
  tokenLifetimeSeconds?: number;
  /**
   * The clock of token lifetimes, idle scale-to-zero and the max_concurrency wait (default the
   * system clock). Only tests in this process give one, to move time forward (test/helpers/fake-clock.ts).
   */
  clock?: Clock;
  /** OAuth2 token endpoint listen address (default "127.0.0.1:0"). */
  authListen?: string;
  /** How often unreferenced builds, archives and stopped instances' dirs are collected (default 10 min; 0 = only at start-up). */
  collectIntervalMs?: number;
  /** When authListen's port is taken, listen on a free port instead of failing (its default in `dev`). */
  authListenFallback?: boolean;
  /**
   * The image registry's loopback listen address (default: the port it had last time in this data
   * dir, else a free one). Started with a driver that pushes (podman, docker) when the registry is installed.
   */
  registryListen?: string;
}

/** How long in-flight gRPC calls may take to finish once stop() begins. */
const GRPC_DRAIN_MS = 2_000;
/**
 * stop() stops apps gracefully (each gets STOP_GRACE_SECS to exit, see drivers) and, when that is not
 * done by then, removes what is left by force; with the engine's own time it returns within the
 * documented 10 s.
 */
const STOP_FORCE_AFTER_MS = 8_000;

export interface RunningControlPlane {
  grpcEndpoint: string;
  gatewayUrl: string;
  tokens: Record<string, string>;
  driver: string;
  /** true when gRPC and the token endpoint serve TLS. */
  tls: boolean;
  /** The CA certificate clients should trust (generated TLS only). */
  caCertFile?: string;
  /** The OAuth2 token endpoint (client-credentials grant). */
  tokenUrl: string;
  /** Service accounts the token endpoint accepts (with secrets only when generated here). */
  serviceAccounts: ServiceAccount[];
  /** HOST:PORT of the plane's image registry (images at <host>/<org>/<app>); absent without one. */
  registryHost?: string;
  stop(): Promise<void>;
}

/**
 * Picks the driver. "auto" takes podman when buildah + podman can run a container here (a quick
 * probe), else the Docker Engine API when it answers, else the host-process driver; an explicit
 * container driver that cannot work fails with why.
 */
async function chooseDriver(
  name: ControlPlaneOptions["driver"],
  dataDir: string,
  using: { imageCacheDir: string | undefined; hostsFile: string; networks?: AppNetworks; sandboxes?: HostSandboxes; offline?: boolean },
  log: (l: string) => void,
): Promise<Driver> {
  const { imageCacheDir, hostsFile, networks, sandboxes, offline = false } = using;
  const podman = async () => {
    const d = new PodmanDriver({ dataDir, hostsFile, ...(imageCacheDir ? { imageCacheDir } : {}), ...(networks ? { networks } : {}), log, offline });
    await d.init();
    return d;
  };
  const containersDir = path.join(dataDir, "containers");
  const host = async () => {
    const d = new HostDriver({ processDir: path.join(dataDir, "host-processes"), ...(sandboxes ? { sandboxes } : {}), ...(networks ? { networks } : {}), log });
    await d.init();
    return d;
  };
  switch (name) {
    case "host":
      return host();
    case "auto": {
      const rep = await probePodman({ stateDir: containersDir, ...(imageCacheDir ? { imageCacheDir } : {}) });
      if (rep.usable) return podman();
      const ep = dockerEndpoint();
      const drep = await probeDocker();
      if (ep && drep.usable) {
        log(`driver auto: podman is not usable (${rep.why}); using the Docker Engine API at ${ep.display}`);
        const d = new DockerDriver(ep, createHash("sha256").update(dataDir).digest("hex").slice(0, 16), { offline });
        await d.init();
        return d;
      }
      log(`driver auto: podman is not usable (${rep.why}) and ${drep.why}; using the host-process driver`);
      return host();
    }
    case "podman": {
      const rep = await probePodman({ stateDir: containersDir, ...(imageCacheDir ? { imageCacheDir } : {}) });
      if (!rep.usable) throw new Error(`driver podman is not usable: ${rep.why}${rep.fix ? ` (${rep.fix})` : ""}`);
      return podman();
    }
    case "docker": {
      const ep = dockerEndpoint();
      const rep = await probeDocker();
      if (!ep || !rep.usable) throw new Error(`driver docker is not usable: ${rep.why}${rep.fix ? ` (${rep.fix})` : ""}`);
      const d = new DockerDriver(ep, createHash("sha256").update(dataDir).digest("hex").slice(0, 16), { offline });
      await d.init();
      return d;
    }
    default:
      throw new Error(`unknown driver '${String(name)}' (use auto, host, podman or docker)`);
  }
}

export async function startControlPlane(o: ControlPlaneOptions): Promise<RunningControlPlane> {
  const dataDir = path.resolve(o.dataDir);
  await fsp.mkdir(dataDir, { recursive: true, mode: 0o700 });
  // Before anything touches the data dir: start-up cleans up what "a previous run" left (containers,
  // processes, builds), which on a dir in use would be another plane's live apps.
  const lock = await DataDirLock.acquire(dataDir);
  try {
    return await startLocked(o, dataDir, lock);
  } catch (e) {
    await lock.release();
    throw e;
  }
}

type Log = (line: string) => void;
type Listen = ReturnType<typeof parseListen>;

/** Parts made after the parts that refer to them: the gateway's port once it listens, the registry once the token endpoint does. */
interface LateParts {
  gatewayPort: number;
  registry?: PlaneRegistry;
}

async function startLocked(o: ControlPlaneOptions, dataDir: string, lock: DataDirLock): Promise<RunningControlPlane> {
  const log = o.log ?? (() => undefined);
  const baseDomain = (o.baseDomain ?? "ignite.localhost").replace(/^\.+|\.+$/g, "");
  const at = { grpc: parseListen(o.listen), gateway: parseListen(o.gatewayListen), auth: parseListen(o.authListen ?? "127.0.0.1:0") };
  const serviceAccounts = o.serviceAccounts?.length ? o.serviceAccounts : Object.keys(o.tokens).length === 0 ? await generatedServiceAccounts(dataDir) : [];
  const tokens = await resolveTokens(dataDir, o.tokens);
  const clock = o.clock ?? systemClock;
  const authority = await TokenAuthority.open({ dataDir, tokens, serviceAccounts, clock, ...(o.tokenLifetimeSeconds ? { tokenLifetimeSeconds: o.tokenLifetimeSeconds } : {}) });
  // One certificate serves gRPC, the token endpoint and the gateway: a generated one also covers the
  // gateway's listen host and every app host name under the base domain.
  const tlsHosts = [...new Set([...serverHosts(at.grpc.host), ...serverHosts(at.gateway.host), `*.${baseDomain}`])];
  const tls = o.tls === "generate" ? await ensureGeneratedTls(dataDir, tlsHosts) : o.tls ? await loadGivenTls(o.tls.certFile, o.tls.keyFile) : undefined;
  const gatewayScheme: "http" | "https" = tls ? "https" : "http";
  // The plane's files are its own: apps (other users on the host driver) cannot open the data dir.
  await fsp.chmod(dataDir, 0o700);
  const late: LateParts = { gatewayPort: 0 };
  const { driver, hostsFile, gatewaySocket, networkMissing, isolation, egress } = await openDriver(o, dataDir, late, log);
  const orgs = [...new Set([...Object.values(tokens), ...serviceAccounts.map((a) => a.org)])].sort();
  checkTenantIsolation(driver, orgs, networkMissing, log);
  const rooms = await openRooms(o, { dataDir, driver, hostsFile, baseDomain, gatewayScheme, late, clock, log, toolchains: { ...isolation, severalOrgs: orgs.length > 1 } });
  const { store, builds, runtime, collector, platform } = rooms;
  const access = new OrgAccess(tokens, authority);

  // Gateway first: public URLs need its port.
  const gateway = createGateway({ platform, access, baseDomain, log, ...(tls ? { tls } : {}) });
  const gatewayLocal = await listenGateway(gateway, at.gateway, gatewaySocket);
  late.gatewayPort = (gateway.address() as AddressInfo).port;
  const server = createGrpcServer(rooms, access, log);
  const registryTokens = (await registryAbsence(driver)) ? undefined : await RegistryTokenIssuer.open({ dir: path.join(dataDir, "registry"), orgOf: (t) => access.orgOf(t), clock, log });
  const tokenServer = createTokenServer(authority, tls, log, registryTokens ? { [REGISTRY_TOKEN_PATH]: registryTokens.handle } : {});
  let port: number;
  try {
    await listenOn(tokenServer, at.auth).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== "EADDRINUSE" || !o.authListenFallback) throw e;
      log(`token endpoint: ${at.auth.host}:${at.auth.port} is in use; listening on a free port instead`);
      await listenOn(tokenServer, { host: at.auth.host, port: 0 });
    });
    port = await bindGrpc(server, at.grpc, tls);
  } catch (e) {
    await closeServer(gateway);
    await closeServer(gatewayLocal);
    await closeServer(tokenServer);
    await egress?.close();
    throw e;
  }
  const grpcHost = urlHost(at.grpc.host);
  const gwHost = urlHost(at.gateway.host);
  log(`gRPC listening on ${grpcHost}:${port} (driver ${driver.name}, data ${dataDir})`);
  const authHost = urlHost(at.auth.host);
  const tokenPort = (tokenServer.address() as AddressInfo).port;
  const tokenUrl = `${tls ? "https" : "http"}://${authHost}:${tokenPort}${TOKEN_PATH}`;
  log(`token endpoint ${tokenUrl}${tls ? ` (TLS${tls.caCertFile ? `, CA certificate ${tls.caCertFile}` : ""})` : ""}`);
  log(`gateway listening on ${gatewayScheme}://${gwHost}:${late.gatewayPort} (apps at ${gatewayScheme}://<app>-<org>.${baseDomain}:${late.gatewayPort})`);
  if (registryTokens) {
    // Clients reach the token endpoint where it listens; a wildcard listen is reached on loopback.
    const realmHost = at.auth.host === "0.0.0.0" || at.auth.host === "::" ? "127.0.0.1" : authHost;
    const realm = `${tls ? "https" : "http"}://${realmHost}:${tokenPort}${REGISTRY_TOKEN_PATH}`;
    late.registry = await PlaneRegistry.open({ dataDir, ...(o.registryListen ? { listen: o.registryListen } : {}), realm, issuer: registryTokens, driver, log }).catch((e: unknown) => {
      // Without it builds stay local (as without the package): the plane still serves.
      log(`registry: could not start (${e instanceof Error ? e.message : String(e)}); built images stay in the driver's local storage`);
      return undefined;
    });
  }
  // Reads the apps before reporting ready; the warm starts themselves run in the background.
  await platform.scaling.warmReserved();
  const collect = () => void collector.collect().catch((e: unknown) => log(`disk collection failed: ${e instanceof Error ? e.message : String(e)}`));
  collect();
  const collectIntervalMs = o.collectIntervalMs ?? 10 * 60_000;
  const collectTimer = collectIntervalMs > 0 ? clock.setInterval(collect, collectIntervalMs) : undefined;
  const total = (await store.quarantine.list()).length;
  if (total) log(`${total} state file(s) are in quarantine (${rooms.quarantined} new): see 'dodil ignite dev doctor --data-dir ${dataDir}'`);

  let stopping: Promise<void> | undefined;
  const parts: PlaneParts = { server, tokenServer, gateway, gatewayLocal, collector, collectTimer, builds, runtime, late, driver, sandboxes: isolation.sandboxes, egress, lock, log };
  return {
    grpcEndpoint: `${grpcHost}:${port}`,
    gatewayUrl: `${gatewayScheme}://${gwHost}:${late.gatewayPort}`,
    tokens: { ...tokens },
    driver: driver.name,
    tls: tls !== undefined,
    ...(tls?.caCertFile ? { caCertFile: tls.caCertFile } : {}),
    tokenUrl,
    serviceAccounts,
    ...(late.registry ? { registryHost: late.registry.host } : {}),
    stop: () => (stopping ??= stopPlane(parts)),
  };
}

/** The driver, with what apps reach the plane by: the gateway's unix socket and the hosts file of the public names. */
async function openDriver(o: ControlPlaneOptions, dataDir: string, late: LateParts, log: Log): Promise<{ driver: Driver; hostsFile: string; gatewaySocket: string; networkMissing: string; isolation: Omit<ToolchainSandboxDeps, "store" | "severalOrgs">; egress: EgressProxy | undefined }> {
  const planeLabel = createHash("sha256").update(dataDir).digest("hex").slice(0, 16);
  // Apps reach the gateway (and nothing else of the plane) through its unix socket, from inside their network namespaces.
  const gatewaySocket = path.join(dataDir, "run", "gateway.sock");
  // ... by the public names, which resolve to it through this hosts file (apps/host-names.ts)
  const hostsFile = path.join(dataDir, "run", "hosts");
  await fsp.mkdir(path.dirname(hostsFile), { recursive: true, mode: 0o700 });
  const networkMissing = await appNetworkMissing();
  // builds' and compiles' way out of their namespaces (without namespaces they have the host network); none offline
  const egress = networkMissing || o.offline ? undefined : await EgressProxy.open({ socket: path.join(dataDir, "run", "egress.sock"), log });
  const networks = networkMissing
    ? undefined
    : new AppNetworks({ socketDir: path.join(dataDir, "run", "net"), planeLabel, gateway: { socket: gatewaySocket, port: () => late.gatewayPort }, hostsFile, ...(egress ? { egress: { socket: egress.socket, port: EGRESS_PROXY_PORT } } : {}), log });
  await networks?.init();
  // users of their own (as root): the host driver's apps and every driver's compiles
  const sandboxes = await HostSandboxes.open(dataDir);
  const driver = await chooseDriver(o.driver, dataDir, { imageCacheDir: o.imageCacheDir, hostsFile, ...(networks ? { networks } : {}), ...(sandboxes ? { sandboxes } : {}), ...(o.offline ? { offline: o.offline } : {}) }, log);
  return { driver, hostsFile, gatewaySocket, networkMissing, isolation: { ...(sandboxes ? { sandboxes } : {}), ...(networks ? { networks } : {}), missing: HostSandboxes.missing() || networkMissing }, egress };
}

/** What the rooms are built on. */
interface RoomsBase {
  dataDir: string;
  driver: Driver;
  hostsFile: string;
  baseDomain: string;
  gatewayScheme: "http" | "https";
  late: LateParts;
  clock: Clock;
  log: Log;
  /** Where compiles run their toolchain (all but the store). */
  toolchains: Omit<ToolchainSandboxDeps, "store">;
}

interface Rooms {
  store: Store;
  hub: ObservabilityHub;
  builds: BuildManager;
  runtime: RuntimeManager;
  collector: DiskCollector;
  platform: Platform;
  executions: ExecutionManager;
  /** State files quarantined by this start. */
  quarantined: number;
}

/** The rooms (docs/architecture.md), each given its event sinks, and everything they serve loaded and checked. */
async function openRooms(o: ControlPlaneOptions, base: RoomsBase): Promise<Rooms> {
  const { dataDir, driver, late, clock, log } = base;
  const store = new Store(dataDir, log);
  await store.init();
  // Everything served is loaded (and bad records quarantined) before anything listens.
  const quarantined = await store.checkAll();
  const hub = new ObservabilityHub();
  // A finished build updates its draft (the platform, constructed next: builds only end after start-up);
  // builds push to the image registry once it listens.
  const builds = new BuildManager({
    store,
    driver,
    log,
    events: {
      started: (b) => hub.buildStarted(b),
      finished: async (b) => {
        if (!b.app) return;
        hub.buildFinished(b);
        await platform.drafts.onBuildFinished(b);
      },
    },
    registry: () => late.registry,
  });
  await builds.recover();
  const runtime = new RuntimeManager({ driver, store, log, readyTimeoutMs: o.readyTimeoutMs ?? 60_000, idleTimeoutMs: o.idleTimeoutMs ?? 15 * 60_000, clock, hooks: hub.runtimeHooks() });
  const collector = new DiskCollector({ store, driver, liveInstanceDirs: () => runtime.liveInstanceDirs(), isBuildActive: (id) => builds.isActive(id), registry: () => late.registry, log, clock });
  const platform: Platform = new Platform({
    store,
    builds,
    runtime,
    baseDomain: base.baseDomain,
    hostsFile: base.hostsFile,
    gatewayPort: () => late.gatewayPort,
    gatewayScheme: base.gatewayScheme,
    log,
    driver,
    draftSuperseded: () => collector.collectSoon(),
    privateRegistries: () => registryHosts(late.registry),
    resolveImageRef: (ref) => late.registry?.resolve(ref) ?? ref,
    clock,
    toolchains: new ToolchainSandbox({ store, ...base.toolchains, log }),
  });
  const executions = new ExecutionManager(platform, log);
  await platform.secrets.checkAll(await store.listOrgs());
  for (const line of await platform.hostNames.collisions()) log(line);
  await platform.hostNames.writeHostsFile();
  return { store, hub, builds, runtime, collector, platform, executions, quarantined };
}

/** The gateway on its port, and on a unix socket only the plane (root) can open: the apps' way out (app-network.ts). */
async function listenGateway(gateway: net.Server, at: Listen, socket: string): Promise<net.Server> {
  await listenOn(gateway, at);
  await fsp.mkdir(path.dirname(socket), { recursive: true, mode: 0o700 });
  await fsp.rm(socket, { force: true });
  const gatewayLocal = net.createServer((s) => gateway.emit("connection", s));
  await listenOn(gatewayLocal, { socket });
  return gatewayLocal;
}

function createGrpcServer(rooms: Rooms, access: OrgAccess, log: Log): grpc.Server {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
    interceptors: [rejectMalformedRequests(log)],
  });
  const svc = grpcServices({ platform: rooms.platform, builds: rooms.builds, executions: rooms.executions, hub: rooms.hub, kit: rpcKit(access, log) });
  server.addService(grpcServiceDefinition(ComputeService, { tolerant: true }), svc.compute);
  server.addService(grpcServiceDefinition(BuildService, { tolerant: true }), svc.build);
  server.addService(grpcServiceDefinition(SecretService, { tolerant: true }), svc.secret);
  server.addService(grpcServiceDefinition(ModelService, { tolerant: true }), svc.model);
  const refl = reflectionHandlers([ComputeService, BuildService, SecretService, ModelService]);
  server.addService(grpcServiceDefinition(reflV1.ServerReflection, { tolerant: true }), refl.v1);
  server.addService(grpcServiceDefinition(reflV1alpha.ServerReflection, { tolerant: true }), refl.v1alpha);
  return server;
}

/** Binds the gRPC server (TLS when given); resolves to its port. */
function bindGrpc(server: grpc.Server, at: Listen, tls: { cert: string; key: string } | undefined): Promise<number> {
  const credentials = tls ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }], false) : grpc.ServerCredentials.createInsecure();
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(`${urlHost(at.host)}:${at.port}`, credentials, (err, p) => (err ? reject(err) : resolve(p)));
  });
}

/** What stop() stops. */
interface PlaneParts {
  server: grpc.Server;
  tokenServer: http.Server;
  gateway: http.Server;
  gatewayLocal: net.Server;
  collector: DiskCollector;
  collectTimer: ClockTimer | undefined;
  builds: BuildManager;
  runtime: RuntimeManager;
  late: LateParts;
  driver: Driver;
  sandboxes: HostSandboxes | undefined;
  egress: EgressProxy | undefined;
  lock: DataDirLock;
  log: Log;
}

async function stopPlane(p: PlaneParts): Promise<void> {
  const { server, driver, late, log } = p;
  log("stopping the control plane");
  // Everything stops at once: in-flight calls drain while builds and apps stop (calls to an
  // app end with it), so the bound is the apps' stop grace plus the engine's own time.
  const drained = new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, GRPC_DRAIN_MS);
    server.tryShutdown(() => {
      clearTimeout(t);
      resolve();
    });
  });
  const graceful = (async () => {
    p.tokenServer.closeAllConnections();
    p.gateway.closeAllConnections();
    await Promise.all([closeServer(p.tokenServer), closeServer(p.gateway), closeServer(p.gatewayLocal)]);
    p.collectTimer?.cancel();
    p.collector.stop();
    await Promise.all([p.collector.settled(), p.builds.cancelAll(), p.runtime.stopAll()]);
    await p.egress?.close(); // after the builds: their namespaces' forwarders are gone
    // after the builds: a cancelled build's push has ended
    await late.registry?.stop();
    await driver.close?.().catch((e: unknown) => log(`driver cleanup: ${e instanceof Error ? e.message : String(e)}`));
    await p.sandboxes?.close().catch(() => undefined); // the run root of the compiles (every driver's)
    await drained;
  })();
  let overdueTimer: NodeJS.Timeout | undefined;
  const overdue = new Promise<"overdue">((resolve) => (overdueTimer = setTimeout(() => resolve("overdue"), STOP_FORCE_AFTER_MS)));
  if ((await Promise.race([graceful, overdue])) === "overdue") {
    // An app slow to stop, or an engine call that hangs: remove what is left by force.
    log(`still stopping after ${STOP_FORCE_AFTER_MS / 1000} s: removing what is left`);
    server.forceShutdown();
    await driver.forceStop?.().catch((e: unknown) => log(`driver cleanup: ${e instanceof Error ? e.message : String(e)}`));
    await late.registry?.stop();
  }
  clearTimeout(overdueTimer);
  await p.lock.release();
  log("control plane stopped");
}
