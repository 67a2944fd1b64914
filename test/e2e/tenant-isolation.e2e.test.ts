/**
 * Issue 14, the attacks of a running app, on the host driver and on podman: org B's app walks the
 * plane's data dir (and the host driver's run root), reads other processes' environments, scans
 * every loopback port and calls what answers with spoofed x-ignite-* headers, and calls org A's app
 * through the gateway without a token. Org A has a running app and a secret, each carrying a marker;
 * none of it may reach org B. The apps are real files (tenant-apps/).
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretService } from "../../src/gen/dodil/ignite/v1/secret_pb.js";
import { BuildService } from "../../src/gen/dodil/ignite/v1/build_pb.js";
import { ComputeService } from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { OTHER_TOKEN, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import * as grpc from "@grpc/grpc-js";
import { BuildStatus } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import { grpcCode, rpcError } from "../helpers/rpc-client.js";
import { createApp, ensureBusybox, expectBuildSucceeds, followBuild, imageCache, inCI, invoke, podmanMissing, publish, pythonImagePresent, saveContext } from "../local/container-helpers.js";
import { makeTarGz } from "../local/helpers.js";

const apps = path.join(import.meta.dirname, "tenant-apps");
const dockerfile = (script: string) => ["FROM python:3.12-slim", "WORKDIR /app", `COPY ${script} /app/${script}`, "USER 65534", `CMD ["python3", "/app/${script}"]`, ""].join("\n");
const context = (script: string) => makeTarGz({ Dockerfile: dockerfile(script), [script]: readFileSync(path.join(apps, script), "utf8") });

interface AttackReport {
  uid: number;
  listed: string[];
  read: string[];
  hits: string[];
  direct: Record<string, string>;
  environ_hits: number[];
  listening: number[];
  reached: Record<string, string>;
  marker_over_network: string[];
  gateway: string;
  gateway_leak: boolean;
}

const podmanSkip = podmanMissing || (!pythonImagePresent() ? "the python:3.12-slim stand-in is missing (dodil ignite dev setup)" : "");
const drivers: Array<{ driver: "host" | "podman"; skip: string }> = [
  { driver: "host", skip: process.getuid?.() === 0 ? "" : "the host driver keeps organizations apart only as root" },
  { driver: "podman", skip: podmanSkip && !inCI ? podmanSkip : "" },
];

describe.each(drivers)("org B's app attacks org A ($driver driver)", ({ driver, skip }) => {
  let fixture: TestControlPlane;
  let report: AttackReport;
  const appMarker = `victim-marker-${randomBytes(8).toString("hex")}`;
  const secretMarker = `secret-marker-${randomBytes(8).toString("hex")}`;
  let jwtKey = "";
  let victimRef = "";

  beforeAll(async () => {
    if (skip) return;
    if (driver === "podman") await ensureBusybox();
    fixture = await startTestControlPlane({ label: `attack-${driver}`, driver, ...(driver === "podman" ? { imageCacheDir: imageCache } : {}) });
    const acme = fixture.compute;
    await fixture.secret.createSecret({ name: "gitcred", value: { value: { case: "gitSecret", value: { username: "acme", token: secretMarker } } } });
    await createApp(acme, "victim", { env: { VICTIM_MARKER: appMarker }, healthPath: "/" });
    const built = await expectBuildSucceeds(acme, (await saveContext(acme, fixture.build, "victim", await context("victim.py"))).draft!.deployId);
    victimRef = /Successfully built (\S+)/.exec(built.lines.join("\n"))?.[1] ?? "";
    await publish(acme, "victim");
    expect((await invoke(acme, "victim", {})).json.marker).toBe(appMarker);

    const other = fixture.client(ComputeService, OTHER_TOKEN);
    const otherBuild = fixture.client(BuildService, OTHER_TOKEN);
    await createApp(other, "attacker", { healthPath: "/" });
    await expectBuildSucceeds(other, (await saveContext(other, otherBuild, "attacker", await context("attacker.py"))).draft!.deployId);
    await publish(other, "attacker");
    jwtKey = readFileSync(path.join(fixture.dataDir, "auth", "jwt-hs256.key")).toString("hex").slice(0, 32);
    const gateway = new URL(fixture.plane.gatewayUrl);
    const grpcPort = Number(fixture.plane.grpcEndpoint.split(":").pop());
    const tokenPort = Number(new URL(fixture.plane.tokenUrl).port);
    const r = await invoke(other, "attacker", {
      data_dir: fixture.dataDir,
      markers: [appMarker, secretMarker, jwtKey],
      gateway_port: Number(gateway.port),
      victim_host: "victim-acme-corp.ignite.localhost",
      ports: [grpcPort, tokenPort, Number(gateway.port)],
    });
    expect(r.head.statusCode, r.text).toBe(200);
    report = r.json as unknown as AttackReport;
  }, 600_000);

  afterAll(async () => {
    await fixture?.stop();
  }, 60_000);

  it.skipIf(!!skip)(`finds nothing of org A in the data dir or other processes${skip ? ` (skipped: ${skip})` : ""}`, () => {
    expect(report.uid).not.toBe(0);
    expect(report.hits).toEqual([]);
    expect(report.read).toEqual([]);
    expect(report.listed).toEqual([]);
    for (const [file, what] of Object.entries(report.direct)) expect(what, file).toMatch(/^refused/);
    expect(report.environ_hits).toEqual([]);
  });

  it.skipIf(!!skip)(`reaches no other app and no plane listener over loopback, only the gateway, which wants a token${skip ? ` (skipped: ${skip})` : ""}`, () => {
    expect(report.marker_over_network).toEqual([]);
    // the only loopback ports in its network are its own and the way out to the gateway
    expect(Object.keys(report.reached)).toEqual([new URL(fixture.plane.gatewayUrl).port]);
    expect(report.gateway).toMatch(/^HTTP\/1\.1 401/);
    expect(report.gateway_leak).toBe(false);
  });

  it.skipIf(!!skip || driver !== "podman")(`cannot run org A's image: by its name (PermissionDenied), by a short name or in FROM (as if absent)${skip ? ` (skipped: ${skip})` : ""}`, async () => {
    const other = fixture.client(ComputeService, OTHER_TOKEN);
    const otherBuild = fixture.client(BuildService, OTHER_TOKEN);
    expect(victimRef).toMatch(/^local\.ignite\/acme-corp\/victim:/);
    const prebuilt = (imageRef: string) => other.saveDraft({ appName: "attacker", code: { source: { case: "image", value: { source: { case: "prebuilt", value: { imageRef } } } } } });
    const denied = await rpcError(prebuilt(victimRef));
    expect(grpcCode(denied)).toBe(grpc.status.PERMISSION_DENIED);
    expect(denied.details).toContain(`image ${victimRef} is not in organization other-org's local namespace`);
    // podman finds local.ignite/acme-corp/victim by the short name acme-corp/victim: answered as absent
    const short = victimRef.replace(/^local\.ignite\//, "");
    await prebuilt(short);
    const absent = await rpcError(publish(other, "attacker"));
    expect(grpcCode(absent)).toBe(grpc.status.FAILED_PRECONDITION);
    expect(absent.details).toContain(`image ${short} is not available offline`);
    for (const from of [victimRef, short]) {
      const ctx = await makeTarGz({ Dockerfile: `FROM ${from}\nCMD ["python3", "/app/victim.py"]\n` });
      const build = await followBuild(other, (await saveContext(other, otherBuild, "attacker", ctx)).draft!.deployId);
      expect(build.status, from).toBe(BuildStatus.FAILED);
      expect(build.error).toMatch(from === victimRef ? /is not in organization other-org's local namespace/ : /is not available offline/);
    }
    // the attacker still runs its own version
    expect((await invoke(other, "attacker", {})).json).toEqual({ ok: true });
  }, 300_000);
});
