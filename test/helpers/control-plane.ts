import { startControlPlane, type RunningControlPlane } from "../../src/local/control-plane.js";

import { ACME_TOKEN, OTHER_TOKEN } from "./secrets.js";
import { removeDir, tempDir } from "./temp-dirs.js";

export { ACME_TOKEN, OTHER_TOKEN, removeDir };

export interface TestControlPlane {
  plane: RunningControlPlane;
  dataDir: string;
  /** Env that points the CLI at this control plane as org acme-corp. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** A real local control plane on free loopback ports with a temporary data dir. */
export async function startTestControlPlane(dataDir = tempDir("plane")): Promise<TestControlPlane> {
  const plane = await startControlPlane({
    listen: "127.0.0.1:0",
    gatewayListen: "127.0.0.1:0",
    dataDir,
    driver: "host",
    tokens: { [ACME_TOKEN]: "acme-corp", [OTHER_TOKEN]: "other-org" },
  });
  return {
    plane,
    dataDir,
    env: { IGNITE_API_ENDPOINT: plane.grpcEndpoint, IGNITE_TOKEN: ACME_TOKEN, IGNITE_DEBUG: "true" },
    async stop() {
      await plane.stop();
    },
  };
}
