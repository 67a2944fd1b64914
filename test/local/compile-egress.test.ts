/**
 * A managed-runtime compile's way out (issue 14): a toolchain command runs in a network namespace of
 * its own (loopback only) and reaches the outside only through the plane's egress proxy, which
 * refuses the plane's listeners. A Rust build script (test/fixtures/compile-egress-rs) runs curl:
 * once to an HTTP server in a network namespace this test makes (test/helpers/outside-server.ts),
 * once through the proxy to each of the plane's ports.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RustCompilationTarget } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import { planePorts, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { outsideMissing, startOutsideServer, type OutsideServer } from "../helpers/outside-server.js";
import { createApp, expectBuildSucceeds, inCI } from "./container-helpers.js";
import { makeTarGz } from "./helpers.js";
import { CARGO_TOML, LIB_RS, rustMissing } from "./rust-app.js";

const skip = (rustMissing && !inCI ? rustMissing : "") || outsideMissing;
const fixture = path.join(import.meta.dirname, "..", "fixtures", "compile-egress-rs");

describe.skipIf(!!skip)(`a compile reaches the outside only through the plane's egress proxy${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let outside: OutsideServer;
  let cp: TestControlPlane | undefined;

  beforeAll(async () => {
    outside = await startOutsideServer();
    cp = await startTestControlPlane({ label: "compile-egress", driver: "host", offline: false });
  }, 120_000);

  afterAll(async () => {
    await cp?.stop();
    outside?.close();
  }, 60_000);

  it("a build script fetches from the outside through the proxy, and is refused the plane's ports through it", async () => {
    const refused = [...planePorts(cp!.plane).map((p) => `http://127.0.0.1:${p}/`), "http://169.254.169.254/latest/meta-data/"];
    const source = await makeTarGz({
      "Cargo.toml": CARGO_TOML,
      "src/lib.rs": LIB_RS,
      "build.rs": readFileSync(path.join(fixture, "build.rs"), "utf8"),
      "probe.sh": readFileSync(path.join(fixture, "probe.sh"), "utf8"),
      "probe.env": `OUTSIDE_URL=http://${outside.address}:${outside.port}/from-compile\nREFUSED_URLS="${refused.join(" ")}"\n`,
    });
    await createApp(cp!.compute, "prober");
    const saved = await cp!.compute.saveDraft({ appName: "prober", code: { source: { case: "compile", value: { runtime: { kind: { case: "rust", value: { target: RustCompilationTarget.NATIVE } } }, sourceCode: source } } } });
    const built = await expectBuildSucceeds(cp!.compute, saved.draft!.deployId);
    const log = built.lines.join("\n");
    expect(log).toMatch(/in a network namespace of its own \(loopback only, HTTP\(S\) out through the plane's egress proxy\)/);
    expect(log).toContain("EGRESS-ENV http://127.0.0.1:3128");
    expect(log).toContain("EGRESS-FETCHED outside GET /from-compile");
    for (const u of refused) expect(log, u).toContain(`EGRESS-REFUSED ${u} 403`);
  }, 600_000);
});
