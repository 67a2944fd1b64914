/**
 * The suite's one control-plane fixture: a real local control plane in this process, on free
 * loopback ports, with a temporary data dir and the suite's tokens (secrets.ts: ACME_TOKEN for org
 * acme-corp, OTHER_TOKEN for other-org), plus typed clients (rpc-client.ts) that it closes on stop.
 * Tests pass only what they change (driver, TLS, idle timeout, a fake clock, ...).
 */
import type { DescService } from "@bufbuild/protobuf";
import { BuildService } from "../../src/gen/dodil/ignite/v1/build_pb.js";
import { ComputeService } from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { ModelService } from "../../src/gen/dodil/ignite/v1/model_pb.js";
import { SecretService } from "../../src/gen/dodil/ignite/v1/secret_pb.js";
import { startControlPlane, type ControlPlaneOptions, type RunningControlPlane } from "../../src/local/control-plane.js";
import { rpcClient, type RpcClient } from "./rpc-client.js";
import { ACME_TOKEN, OTHER_TOKEN } from "./secrets.js";
import { removeDir, tempDir } from "./temp-dirs.js";

export { ACME_TOKEN, OTHER_TOKEN, removeDir };

export type ComputeClient = RpcClient<typeof ComputeService>;
export type BuildClient = RpcClient<typeof BuildService>;

/** The fixture's tokens: token -> organization. */
export const TEST_TOKENS: Record<string, string> = { [ACME_TOKEN]: "acme-corp", [OTHER_TOKEN]: "other-org" };

export interface TestPlaneOptions extends Partial<ControlPlaneOptions> {
  /** Prefix of the temporary data dir (default "plane"); ignored when dataDir is given. */
  label?: string;
}

export interface TestControlPlane {
  plane: RunningControlPlane;
  dataDir: string;
  /** Env that points the CLI at this control plane as org acme-corp. */
  env: Record<string, string>;
  /** Clients as org acme-corp. */
  compute: ComputeClient;
  build: BuildClient;
  secret: RpcClient<typeof SecretService>;
  model: RpcClient<typeof ModelService>;
  /** A client for any service here, as `token` (default ACME_TOKEN; null: none); closed on stop. */
  client<S extends DescService>(service: S, token?: string | null): RpcClient<S>;
  /** Closes the clients and stops the plane (idempotent). */
  stop(): Promise<void>;
}

/** The plane's loopback listeners: gRPC, the token endpoint, the gateway, the registry. */
export function planePorts(plane: RunningControlPlane): number[] {
  const ports = [Number(plane.grpcEndpoint.split(":").pop()), Number(new URL(plane.tokenUrl).port), Number(new URL(plane.gatewayUrl).port)];
  if (plane.registryHost) ports.push(Number(plane.registryHost.split(":").pop()));
  return ports;
}

/**
 * Starts the fixture. Defaults: gRPC and gateway on 127.0.0.1:0, the host driver, offline, TEST_TOKENS,
 * instances ready within 20 s (well inside a test's timeout, so a stuck start fails with why).
 */
export async function startTestControlPlane(o: TestPlaneOptions = {}): Promise<TestControlPlane> {
  const { label, ...given } = o;
  const dataDir = given.dataDir ?? tempDir(label ?? "plane");
  const plane = await startControlPlane({
    listen: "127.0.0.1:0",
    gatewayListen: "127.0.0.1:0",
    driver: "host",
    // No pulls unless a test asks (offline: false, against a loopback registry): nothing may reach
    // a registry elsewhere, and a missing image must stay "not available offline".
    offline: true,
    tokens: TEST_TOKENS,
    readyTimeoutMs: 20_000,
    ...given,
    dataDir,
  });
  const clients: Array<{ close(): void }> = [];
  const client = <S extends DescService>(service: S, token: string | null = ACME_TOKEN): RpcClient<S> => {
    const c = rpcClient(service, plane.grpcEndpoint, token ?? undefined);
    clients.push(c);
    return c;
  };
  let stopping: Promise<void> | undefined;
  return {
    plane,
    dataDir,
    env: { IGNITE_API_ENDPOINT: plane.grpcEndpoint, IGNITE_TOKEN: ACME_TOKEN, IGNITE_DEBUG: "true" },
    compute: client(ComputeService),
    build: client(BuildService),
    secret: client(SecretService),
    model: client(ModelService),
    client,
    stop() {
      stopping ??= (async () => {
        for (const c of clients) c.close();
        await plane.stop();
      })();
      return stopping;
    },
  };
}
