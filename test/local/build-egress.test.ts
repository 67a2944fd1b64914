/**
 * Builds' way out (issue 14): a podman build's RUN steps run in a network namespace of their own
 * (loopback only) and reach the outside only through the plane's egress proxy, which refuses the
 * plane's listeners and the cloud metadata address. The outside is an HTTP server in a network
 * namespace this test makes (test/helpers/outside-server.ts). The proxy settings stay out of the
 * image (config and history), a running app has no way out through it, and a plane with --offline
 * gives builds no way out at all.
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildStatus } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import { createApp, expectBuildSucceeds, followBuild, inCI, invoke, podmanMissing, publish, saveContext, startPodmanPlane, type PodmanPlane } from "./container-helpers.js";
import { makeTarGz } from "./helpers.js";
import { outsideMissing, startOutsideServer, type OutsideServer } from "../helpers/outside-server.js";
import { planePorts } from "../helpers/control-plane.js";

const skip = (podmanMissing && !inCI ? podmanMissing : "") || outsideMissing;

function podman(dataDir: string, args: string[]): string {
  return execFileSync("podman", args, { env: { ...process.env, CONTAINERS_CONF: `${dataDir}/containers/containers.conf`, CONTAINERS_STORAGE_CONF: `${dataDir}/containers/storage.conf` }, encoding: "utf8" });
}

describe.skipIf(!!skip)(`a build's RUN steps reach the outside only through the plane's egress proxy${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let outside: OutsideServer;
  let plane: PodmanPlane | undefined;

  beforeAll(async () => {
    outside = await startOutsideServer();
    plane = await startPodmanPlane("egress", { offline: false });
  }, 120_000);

  afterAll(async () => {
    await plane?.stop();
    outside?.close();
  }, 60_000);

  it("fetches from the outside through the proxy; the plane's ports, and 169.254.169.254, are refused (403) through it", async () => {
    const { c, b, dataDir } = plane!;
    const url = `http://${outside.address}:${outside.port}/from-build`;
    // busybox wget takes http_proxy and knows no no_proxy: every request goes through the proxy
    const tries = [...planePorts(plane!.cp).map((p) => `http://127.0.0.1:${p}/`), "http://169.254.169.254/latest/meta-data/"];
    const script = [
      'echo "EGRESS-ENV $http_proxy"',
      ...tries.map((u) => `echo "EGRESS-REFUSED ${u} $(wget -O- ${u} 2>&1 | tr '\\n' ' ')"`),
      ...planePorts(plane!.cp).map((p) => `echo "EGRESS-CONNECT ${p} $(printf 'CONNECT 127.0.0.1:${p} HTTP/1.1\\r\\n\\r\\n' | nc 127.0.0.1 3128 | head -n 1)"`),
      `echo "EGRESS-FETCHED $(wget -q -O- ${url})"`,
    ].join(" && ");
    await createApp(c, "fetcher");
    const ctx = await makeTarGz({ Dockerfile: `FROM busybox\nRUN ${script}\nCMD ["true"]\n` });
    const built = await expectBuildSucceeds(c, (await saveContext(c, b, "fetcher", ctx)).draft!.deployId);
    const log = built.lines.join("\n");
    expect(log).toMatch(/RUN steps: OCI isolation in network namespace \S+ \(loopback only\), HTTP\(S\) out through the plane's egress proxy/);
    expect(log).toContain("EGRESS-ENV http://127.0.0.1:3128");
    for (const u of tries) expect(log, u).toMatch(new RegExp(`EGRESS-REFUSED ${u.replace(/[.?/]/g, "\\$&")} .*403 Forbidden`));
    for (const p of planePorts(plane!.cp)) expect(log, `CONNECT ${p}`).toMatch(new RegExp(`EGRESS-CONNECT ${p} HTTP/1\\.1 403 Forbidden`));
    expect(log).toContain("EGRESS-FETCHED outside GET /from-build");
    // the proxy settings were the build's only: not in the image's config nor its history
    const ref = /Successfully built (\S+)/.exec(log)?.[1] ?? "";
    expect(ref).not.toBe("");
    const inspect = podman(dataDir, ["image", "inspect", ref]);
    const history = podman(dataDir, ["history", "--no-trunc", "--format", "{{.CreatedBy}}", ref]);
    expect(history).toContain("EGRESS-FETCHED");
    for (const text of [inspect, history]) {
      expect(text).not.toMatch(/PROXY=|proxy=|127\.0\.0\.1:3128/);
    }
  }, 300_000);

  it("a running app gets no way out through the proxy (apps' namespaces have none)", async () => {
    const { c, b } = plane!;
    const cgi = [
      "#!/bin/sh",
      "printf 'Content-Type: text/plain\\r\\n\\r\\n'",
      'echo "APP-ENV [$http_proxy]"',
      `echo "APP-PROXY $(http_proxy=http://127.0.0.1:3128 wget -O- http://${outside.address}:${outside.port}/from-app 2>&1 | tr '\\n' ' ')"`,
      "",
    ].join("\n");
    const dockerfile = ["FROM busybox", "WORKDIR /www", "COPY app.cgi /www/cgi-bin/app", "RUN chmod 755 /www/cgi-bin/app", "USER 65534", 'CMD ["sh", "-c", "exec httpd -f -p 127.0.0.1:$PORT -h /www"]', ""].join("\n");
    await createApp(c, "app-prober", { healthPath: "/cgi-bin/app" });
    await expectBuildSucceeds(c, (await saveContext(c, b, "app-prober", await makeTarGz({ Dockerfile: dockerfile, "app.cgi": cgi }))).draft!.deployId);
    await publish(c, "app-prober");
    const r = await invoke(c, "app-prober", {}, "/cgi-bin/app");
    expect(r.text).toContain("APP-ENV []");
    expect(r.text).toMatch(/APP-PROXY .*refused/);
    expect(r.text).not.toContain("outside GET");
  }, 300_000);
});

describe.skipIf(!!skip)(`dev --offline: builds have no way out${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let outside: OutsideServer;
  let plane: PodmanPlane | undefined;

  beforeAll(async () => {
    outside = await startOutsideServer();
    plane = await startPodmanPlane("egress-offline", { offline: true });
  }, 120_000);

  afterAll(async () => {
    await plane?.stop();
    outside?.close();
  }, 60_000);

  it("a RUN step gets no proxy and cannot reach the outside", async () => {
    const { c, b } = plane!;
    await createApp(c, "fetcher");
    const ctx = await makeTarGz({ Dockerfile: `FROM busybox\nRUN echo "EGRESS-ENV [$http_proxy]" && wget -q -O- http://${outside.address}:${outside.port}/\nCMD ["true"]\n` });
    const build = await followBuild(c, (await saveContext(c, b, "fetcher", ctx)).draft!.deployId);
    expect(build.status).toBe(BuildStatus.FAILED);
    const log = build.lines.join("\n");
    expect(log).toContain("EGRESS-ENV []");
    expect(log).toMatch(/RUN steps: OCI isolation in network namespace \S+ \(loopback only\), offline/);
  }, 300_000);
});
