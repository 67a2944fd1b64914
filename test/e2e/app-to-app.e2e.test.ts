/**
 * Issue 15 point 5, on the host driver and on podman: an app calls another app by the public URL
 * the plane printed for it (`http://<app>-<org>.ignite.localhost:<gateway port>`), from inside its
 * own network namespace. The name resolves to the gateway there (the plane's hosts file, current
 * as apps are created), the call passes the gateway with the same auth as an outside caller (a
 * private app refuses a call without a token, 401) and carries the gateway's x-ignite-* answer
 * headers, which a call straight to the other app's port would not. The apps are real files
 * (tenant-apps/).
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetAppRequestSchema } from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { ACME_TOKEN, startTestControlPlane, type ComputeClient, type TestControlPlane } from "../helpers/control-plane.js";
import { createApp, ensureBusybox, expectBuildSucceeds, imageCache, inCI, invoke, podmanMissing, publish, pythonImagePresent, saveContext } from "../local/container-helpers.js";
import { makeTarGz } from "../local/helpers.js";

const apps = path.join(import.meta.dirname, "tenant-apps");
const dockerfile = (script: string) => ["FROM python:3.12-slim", "WORKDIR /app", `COPY ${script} /app/${script}`, "USER 65534", `CMD ["python3", "/app/${script}"]`, ""].join("\n");
const context = (script: string) => makeTarGz({ Dockerfile: dockerfile(script), [script]: readFileSync(path.join(apps, script), "utf8") });

interface CallResult {
  status: number;
  body?: string;
  error?: string;
  headers: Record<string, string>;
}

const podmanSkip = podmanMissing || (!pythonImagePresent() ? "the python:3.12-slim stand-in is missing (dodil ignite dev setup)" : "");
const drivers: Array<{ driver: "host" | "podman"; skip: string }> = [
  { driver: "host", skip: process.getuid?.() === 0 ? "" : "the host driver gives apps a network of their own only as root" },
  { driver: "podman", skip: podmanSkip && !inCI ? podmanSkip : "" },
];

describe.each(drivers)("an app calls apps by their public URLs ($driver driver)", ({ driver, skip }) => {
  let fixture: TestControlPlane;
  let c: ComputeClient;
  const marker = `backend-marker-${randomBytes(8).toString("hex")}`;

  async function deploy(name: string, script: string, extra: Record<string, unknown> = {}): Promise<string> {
    await createApp(c, name, { healthPath: "/", ...extra });
    await expectBuildSucceeds(c, (await saveContext(c, fixture.build, name, await context(script))).draft!.deployId);
    await publish(c, name);
    const app = (await c.getApp(create(GetAppRequestSchema, { appName: name }))).app!;
    return app.publicUrls[0]!;
  }

  async function fromFrontend(calls: Array<{ url: string; token?: string }>): Promise<CallResult[]> {
    const r = await invoke(c, "frontend", { calls });
    expect(r.head.statusCode, r.text).toBe(200);
    return (r.json as { results: CallResult[] }).results;
  }

  let privateUrl = "";
  beforeAll(async () => {
    if (skip) return;
    if (driver === "podman") await ensureBusybox();
    fixture = await startTestControlPlane({ label: `app-to-app-${driver}`, driver, ...(driver === "podman" ? { imageCacheDir: imageCache } : {}) });
    c = fixture.compute;
    privateUrl = await deploy("backend", "victim.py", { env: { VICTIM_MARKER: marker } });
    await deploy("frontend", "frontend.py");
  }, 600_000);

  afterAll(async () => {
    await fixture?.stop();
  }, 60_000);

  it.skipIf(!!skip)(`reaches a private app at its printed URL through the gateway with a token, and is refused without one${skip ? ` (skipped: ${skip})` : ""}`, async () => {
    expect(privateUrl).toMatch(/^http:\/\/backend-acme-corp\.ignite\.localhost:\d+$/);
    const [withToken, without] = await fromFrontend([{ url: `${privateUrl}/hello`, token: ACME_TOKEN }, { url: `${privateUrl}/hello` }]);
    expect(withToken, JSON.stringify(withToken)).toMatchObject({ status: 200 });
    expect(JSON.parse(withToken!.body!)).toMatchObject({ marker });
    // the gateway answered: its execution id and version, and the org header it set for the backend
    expect(withToken!.headers["x-ignite-execution-id"]).toMatch(/^[0-9A-Z]{26}$/);
    expect(withToken!.headers["x-ignite-version"]).toBe("1");
    expect(JSON.parse(withToken!.body!).org_header).not.toBe("");
    expect(without, JSON.stringify(without)).toMatchObject({ status: 401 });
    expect(without!.body).not.toContain(marker);
  });

  it.skipIf(!!skip)(`resolves an app created after it started (the names are kept current)${skip ? ` (skipped: ${skip})` : ""}`, async () => {
    const lateUrl = await deploy("late", "victim.py", { allowUnauthenticated: true, env: { VICTIM_MARKER: "late" } });
    const [late, unknown] = await fromFrontend([{ url: `${lateUrl}/` }, { url: lateUrl.replace("late-acme-corp", "nothing-acme-corp") }]);
    expect(late, JSON.stringify(late)).toMatchObject({ status: 200 });
    expect(JSON.parse(late!.body!)).toMatchObject({ marker: "late" });
    // a name the plane does not serve does not resolve (there is no DNS in the namespace)
    expect(unknown!.status, JSON.stringify(unknown)).toBe(0);
    expect(unknown!.error).toMatch(/name resolution|Name or service not known|not known/i);
  });
});
