/**
 * The start-up rule of which organizations a driver can keep apart (docs/threat-model.md, "Per
 * driver"), checked by control-plane.ts once the driver is chosen.
 */
import { HostDriver } from "./host.js";
import type { Driver } from "./types.js";

/**
 * Organizations are kept apart only where the driver can: the host driver needs a user and a
 * network namespace per app, so without them it serves one organization (and says so); containers
 * without network namespaces share the host network, which a start-up warning says.
 */
export function checkTenantIsolation(driver: Driver, orgs: readonly string[], networkMissing: string, log: (l: string) => void): void {
  if (driver instanceof HostDriver) {
    const why = driver.tenantIsolationMissing();
    if (!why) return;
    if (orgs.length > 1) {
      throw new Error(
        `the host driver cannot keep organizations apart here (${why}), so it serves one organization only, and ${orgs.length} are configured (${orgs.join(", ")}): give one organization's tokens, or use --driver podman (containers)`,
      );
    }
    log(`host driver: serving organization ${orgs[0] ?? "local"} only: ${why}`);
  } else if (networkMissing && orgs.length > 1) {
    log(`[Warning] containers share the host network, so apps of different organizations can reach each other's ports: ${networkMissing}`);
  }
}
