/**
 * Issue 14, the attacks of a running app, on the host driver and on podman: org B's app walks the
 * plane's data dir (and the host driver's run root), reads other processes' environments, scans
 * every loopback port and calls what answers with spoofed x-ignite-* headers, and calls org A's app
 * through the gateway without a token. Org A has a running app and a secret, each carrying a marker;
 * none of it may reach org B. Then the same from org B's build (podman: a Dockerfile RUN step while
 * a RUN step of org A's build, holding a build arg marker, runs; `ADD` of the plane's listeners) and
 * compile (a Rust build script). The apps are real files (tenant-apps/).
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretService } from "../../src/gen/dodil/ignite/v1/secret_pb.js";
import { BuildService } from "../../src/gen/dodil/ignite/v1/build_pb.js";
import { ComputeService } from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { OTHER_TOKEN, planePorts, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import * as grpc from "@grpc/grpc-js";
import { BuildStatus } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import { grpcCode, rpcError } from "../helpers/rpc-client.js";
import { create } from "@bufbuild/protobuf";
import { CancelBuildRequestSchema } from "../../src/gen/dodil/ignite/v1/build_pb.js";
import type { ComputeClient } from "../helpers/control-plane.js";
import { createApp, ensureBusybox, expectBuildSucceeds, followBuild, imageCache, inCI, invoke, podmanMissing, publish, pythonImagePresent, saveContext, untilBuildLine } from "../local/container-helpers.js";
import { makeTarGz } from "../local/helpers.js";
import { RustCompilationTarget } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import { rustMissing } from "../local/rust-app.js";

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

interface BuildAttackReport {
  uid: number;
  data_dir_exists: boolean;
  listed: string[];
  read: string[];
  hits: string[];
  proc_hits: number[];
  env_hits: string[];
  proc_roots: string[];
  open: number[];
}

/** The pids whose command line holds `marker`. */
function processesWith(marker: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The report build_attack.py printed into a build's log. */
function buildAttackReport(lines: string[]): BuildAttackReport {
  const line = lines.find((l) => l.includes("BUILD-ATTACK {"));
  if (!line) throw new Error(`no BUILD-ATTACK line in the build log:\n${lines.slice(-20).join("\n")}`);
  return JSON.parse(line.slice(line.indexOf("BUILD-ATTACK ") + "BUILD-ATTACK ".length)) as BuildAttackReport;
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

  it.skipIf(!!skip || driver !== "podman")(`cannot run org A's image: by its name (PermissionDenied), by a short name or in FROM, COPY --from, RUN --mount (as if absent)${skip ? ` (skipped: ${skip})` : ""}`, async () => {
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
      // FROM, COPY --from and RUN --mount from= all read the image
      for (const dockerfile of [`FROM ${from}\n`, `FROM busybox\nCOPY --from=${from} /app /stolen\n`, `FROM busybox\nRUN --mount=type=bind,from=${from},target=/v cat /v/app/victim.py\n`]) {
        const ctx = await makeTarGz({ Dockerfile: `${dockerfile}CMD ["python3", "/app/victim.py"]\n` });
        const build = await followBuild(other, (await saveContext(other, otherBuild, "attacker", ctx)).draft!.deployId);
        expect(build.status, dockerfile).toBe(BuildStatus.FAILED);
        expect(build.error, dockerfile).toMatch(from === victimRef ? /is not in organization other-org's local namespace/ : /is not available offline/);
      }
    }
    // the attacker still runs its own version
    expect((await invoke(other, "attacker", {})).json).toEqual({ ok: true });
  }, 300_000);

  it.skipIf(!!skip || (!!rustMissing && !inCI))(`a compile of org B (a Rust build script) reaches nothing of org A: data dir, other processes, plane listeners${skip || rustMissing ? ` (skipped: ${skip || rustMissing})` : ""}`, async () => {
    const other = fixture.client(ComputeService, OTHER_TOKEN);
    const ports = planePorts(fixture.plane);
    const crate = path.join(apps, "build-attack-rs");
    const linger = `lingering-${randomBytes(8).toString("hex")}`;
    const source = await makeTarGz({
      "Cargo.toml": readFileSync(path.join(crate, "Cargo.toml"), "utf8"),
      "build.rs": readFileSync(path.join(crate, "build.rs"), "utf8"),
      "src/lib.rs": readFileSync(path.join(crate, "src", "lib.rs"), "utf8"),
      "build_attack.py": readFileSync(path.join(apps, "build_attack.py"), "utf8"),
      "attacker.py": readFileSync(path.join(apps, "attacker.py"), "utf8"),
      "attack.json": JSON.stringify({ data_dir: fixture.dataDir, markers: [appMarker, secretMarker, jwtKey], ports }),
      "linger.txt": linger,
    });
    await createApp(other, "compiler");
    const saved = await other.saveDraft({ appName: "compiler", code: { source: { case: "compile", value: { runtime: { kind: { case: "rust", value: { target: RustCompilationTarget.NATIVE } } }, sourceCode: source } } } });
    const built = await expectBuildSucceeds(other, saved.draft!.deployId);
    expect(built.lines.join("\n")).toMatch(/The toolchain runs as uid \d+ \(the organization's compile user\) in a network namespace of its own/);
    const report = buildAttackReport(built.lines);
    expect(report.uid).not.toBe(0);
    expect(report.listed).toEqual([]);
    expect(report.read).toEqual([]);
    expect(report.hits).toEqual([]);
    expect(report.proc_hits).toEqual([]);
    expect(report.env_hits).toEqual([]);
    expect(report.proc_roots).toEqual([]);
    expect(report.open).toEqual([]);
    // what the build script left running (in a namespace of its own too) did not outlive the compile
    expect(processesWith(linger)).toEqual([]);
  }, 600_000);

  it.skipIf(!!skip || driver !== "podman")(`a RUN step of org B reaches nothing of org A: data dir, another build's RUN step, plane listeners${skip ? ` (skipped: ${skip})` : ""}`, async () => {
    const acme = fixture.compute;
    const other = fixture.client(ComputeService, OTHER_TOKEN);
    const otherBuild = fixture.client(BuildService, OTHER_TOKEN);
    const buildMarker = `build-marker-${randomBytes(8).toString("hex")}`;
    // org A's build runs a RUN step (its build arg in the environment) all along org B's build
    await createApp(acme, "slowbuild");
    const slowCtx = await makeTarGz({ Dockerfile: 'FROM busybox\nARG BUILD_MARKER\nRUN echo "slow step started" && sleep 600\nCMD ["true"]\n' });
    const slow = (await saveContext(acme, fixture.build, "slowbuild", slowCtx, { buildArgs: { BUILD_MARKER: buildMarker } })).draft!.deployId;
    await untilBuildLine(acme, slow, /^slow step started$/);
    const ports = planePorts(fixture.plane);
    const attack = JSON.stringify({ data_dir: fixture.dataDir, markers: [appMarker, secretMarker, jwtKey, buildMarker], ports });
    const ctx = await makeTarGz({
      Dockerfile: `FROM python:3.12-slim\nCOPY build_attack.py attacker.py /b/\nRUN ${JSON.stringify(["python3", "/b/build_attack.py", attack])}\nCMD ["true"]\n`,
      "build_attack.py": readFileSync(path.join(apps, "build_attack.py"), "utf8"),
      "attacker.py": readFileSync(path.join(apps, "attacker.py"), "utf8"),
    });
    await createApp(other, "builder");
    const built = await expectBuildSucceeds(other, (await saveContext(other, otherBuild, "builder", ctx)).draft!.deployId);
    await fixture.build.cancelBuild(create(CancelBuildRequestSchema, { buildId: slow }));
    expect(built.lines.join("\n")).toMatch(/RUN steps: OCI isolation in network namespace \S+ \(loopback only\)/);
    const report = buildAttackReport(built.lines);
    expect(report.data_dir_exists).toBe(false);
    expect(report.listed).toEqual([]);
    expect(report.read).toEqual([]);
    expect(report.hits).toEqual([]);
    // org A's RUN step (and the plane) are not even visible: a pid namespace of its own
    expect(report.proc_hits).toEqual([]);
    expect(report.proc_roots).toEqual([]);
    expect(report.open).toEqual([]);
    // what buildah fetches for the Dockerfile (ADD <url>) cannot reach the plane's listeners either
    for (const port of ports) {
      const add = await makeTarGz({ Dockerfile: `FROM busybox\nADD http://127.0.0.1:${port}/ /got\nCMD ["true"]\n` });
      const b = await followBuild(other, (await saveContext(other, otherBuild, "builder", add)).draft!.deployId);
      expect(b.status, `ADD of port ${port}`).toBe(BuildStatus.FAILED);
      expect(b.error, `ADD of port ${port}`).toMatch(/connection refused/);
    }
  }, 600_000);
});
