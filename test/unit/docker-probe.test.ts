/**
 * probeDocker against engines served on a unix socket by the test: it asks /_ping (what every
 * engine answers at once) and names the engine from its headers, so a busy engine whose /version
 * is slow (podman's runs a whole `podman info`) is still found; an engine that refuses, or a
 * socket that answers nothing, is not usable, with the reason.
 */
import * as http from "node:http";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { probeDocker } from "../../src/local/drivers/detect.js";
import { removeDir, tempDir } from "../helpers/temp-dirs.js";

const dir = tempDir("docker-probe");
const servers: http.Server[] = [];

async function engine(name: string, handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  const sock = path.join(dir, `${name}.sock`);
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  return `unix://${sock}`;
}

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  removeDir(dir);
});

describe("probeDocker", () => {
  it("finds an engine whose /version never answers, named from /_ping's Server and Api-Version headers", async () => {
    const host = await engine("busy", (req, res) => {
      if (req.url !== "/_ping") return; // /version and the rest hang, as a podman busy with its store
      res.writeHead(200, { server: "Docker/27.3.1 (linux)", "api-version": "1.47" }).end("OK");
    });
    const rep = await probeDocker({ DOCKER_HOST: host });
    expect(rep.usable, rep.why).toBe(true);
    expect(rep.found["engine"]).toBe("Docker 27.3.1 (API 1.47)");
  });

  it("an engine that answers /_ping with an error, or without headers, is reported as such", async () => {
    const refusing = await engine("refusing", (_req, res) => res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ message: "engine is shutting down" })));
    const rep = await probeDocker({ DOCKER_HOST: refusing });
    expect(rep.usable).toBe(false);
    expect(rep.why).toBe(`no Docker Engine API at ${refusing}: engine is shutting down`);
    const bare = await engine("bare", (_req, res) => res.end("OK"));
    expect((await probeDocker({ DOCKER_HOST: bare })).found["engine"]).toBe("Engine ? (API ?)");
  });

  it("a socket that accepts and never answers is not usable, within the probe's bound", async () => {
    const silent = await engine("silent", () => undefined);
    const rep = await probeDocker({ DOCKER_HOST: silent });
    expect(rep.usable).toBe(false);
    expect(rep.why).toMatch(/no answer within 3000 ms/);
    expect(rep.fix).toMatch(/podman system service/);
  });
});
