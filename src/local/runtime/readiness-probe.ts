/**
 * Waits until a started replica answers its health path as the platform's readiness probe does
 * (a 2xx is ready; a definite 4xx ends the wait at once), or its process exits, or time runs out.
 */
import * as http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { describeEndpoint, type InstanceEndpoint, type RunningInstance } from "../drivers/types.js";
import { errorMessage } from "../errors.js";

/** Polls GET `healthPath` on the replica's host port every 100 ms for up to `readyTimeoutMs`. */
export async function waitReady(inst: RunningInstance, healthPath: string, readyTimeoutMs: number, log: (l: string) => void): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  let exited = false;
  void inst.exited.then(() => (exited = true));
  let lastErr = "";
  while (Date.now() < deadline) {
    if (exited || !inst.alive()) {
      const x = await inst.exited;
      throw new Error(`the process exited before it was ready (${x.signal ?? `exit code ${x.code}`})`);
    }
    try {
      const code = await probe(inst.endpoint, healthPath);
      // As the platform's probe: only a 2xx is ready. A 4xx other than "try later" is the app's
      // definite answer that it does not serve the path: waiting longer cannot change it.
      if (code >= 200 && code < 300) {
        log(`ready (GET ${healthPath} -> ${code})`);
        return;
      }
      if (code >= 400 && code < 500 && code !== 408 && code !== 429) throw new DefiniteProbeAnswer(`GET ${healthPath} answered ${code}: set --health-path to a route that answers 2xx`);
      lastErr = `GET ${healthPath} answered ${code}`;
    } catch (e) {
      if (e instanceof DefiniteProbeAnswer) throw e;
      lastErr = errorMessage(e);
    }
    await sleep(100);
  }
  throw new Error(`no HTTP answer on ${describeEndpoint(inst.endpoint)} within ${Math.round(readyTimeoutMs / 1000)} s (${lastErr})`);
}

/** The health path's answer that ends the wait for readiness at once. */
class DefiniteProbeAnswer extends Error {}

function probe(endpoint: InstanceEndpoint, p: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...endpoint, path: p, method: "GET", timeout: 2_000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(new Error("probe timed out")));
    req.on("error", reject);
    req.end();
  });
}
