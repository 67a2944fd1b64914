import { connect, createServer, type Server, type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ACME_TOKEN, removeDir, startTestControlPlane } from "../helpers/control-plane.js";
import { runCli } from "../helpers/run-cli.js";

const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A TCP server on a free loopback port that treats every connection with `onConnection`. */
async function tcpServer(onConnection: (socket: Socket) => void): Promise<string> {
  const server = createServer((socket) => {
    sockets.push(socket);
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  return `127.0.0.1:${address.port}`;
}

const env = (endpoint: string) => ({ IGNITE_API_ENDPOINT: endpoint, IGNITE_TOKEN: ACME_TOKEN, IGNITE_DEBUG: "1" });

describe("faults: the CLI never hangs and says what it tried", () => {
  it("a server that accepts and never answers: exit 8 once --timeout has passed", async () => {
    const endpoint = await tcpServer(() => {});
    const result = await runCli(["ignite", "app", "get", "acme-corp:greeter", "--timeout", "2s"], { env: env(endpoint) });
    // the --timeout deadline ended it (a hang would fail the test by its own timeout)
    expect(result.exitCode).toBe(8);
    expect(result.stderr).toMatch(/did not finish within 2s/);
  });

  it("a server that closes every connection at once: exit 9 naming the endpoint", async () => {
    const endpoint = await tcpServer((socket) => socket.destroy());
    const result = await runCli(["ignite", "app", "list", "--timeout", "5s"], { env: env(endpoint) });
    expect(result.exitCode).toBe(9);
    expect(result.stderr).toContain(`cannot reach the Ignite API at ${endpoint}`);
  });

  it("retries a read after the server dropped the first connection", async () => {
    const fixture = await startTestControlPlane({ label: "flaky" });
    const { plane } = fixture;
    const [host, port] = plane.grpcEndpoint.split(":") as [string, string];
    // A loopback proxy that drops the first connection (UNAVAILABLE for the client) and forwards the rest.
    let connections = 0;
    const proxy = await tcpServer((socket) => {
      connections += 1;
      if (connections === 1) return void socket.destroy();
      const upstream = connect(Number(port), host);
      sockets.push(upstream);
      socket.pipe(upstream).pipe(socket);
      upstream.on("error", () => socket.destroy());
      socket.on("error", () => upstream.destroy());
    });
    try {
      const result = await runCli(["ignite", "app", "list", "-o", "json"], { env: env(proxy) });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout.trim()).toBe("[]");
      expect(result.stderr).toMatch(/ListApps unavailable; retry 1\/3/);
      expect(connections).toBeGreaterThanOrEqual(2);
    } finally {
      for (const s of sockets.splice(0)) s.destroy();
      await fixture.stop();
    }
  });

  // 1.5 MB is packed before it is sent; 12 MB is over STREAM_ABOVE_BYTES, so the retry packs it again.
  it.each([
    ["packed first", 1_500_000],
    ["packed while it is sent", 12_000_000],
  ])("retries an upload cut off by a dropped connection (%s)", async (_label, noiseBytes) => {
    const fixture = await startTestControlPlane({ label: "cut" });
    const { plane } = fixture;
    const work = mkdtempSync(join(tmpdir(), "ignite-cut-work-"));
    const [host, port] = plane.grpcEndpoint.split(":") as [string, string];
    // The first connection dies once 300 kB went upstream: in the middle of the upload.
    let connections = 0;
    const proxy = await tcpServer((socket) => {
      connections += 1;
      const upstream = connect(Number(port), host);
      sockets.push(upstream);
      let sent = 0;
      const cutOff = connections === 1;
      socket.on("data", (chunk: Buffer) => {
        sent += chunk.length;
        if (cutOff && sent > 300_000) {
          socket.destroy();
          upstream.destroy();
        } else upstream.write(chunk);
      });
      upstream.pipe(socket);
      upstream.on("error", () => socket.destroy());
      socket.on("error", () => upstream.destroy());
    });
    try {
      mkdirSync(join(work, "app"));
      writeFileSync(join(work, "app", "Dockerfile"), 'FROM python:3.12-slim\nCOPY . /app\nUSER 65534\nCMD ["python", "/app/x.py"]\n');
      writeFileSync(join(work, "app", "noise.bin"), randomBytes(noiseBytes));
      expect((await runCli(["ignite", "app", "create", "acme-corp:cut"], { env: env(plane.grpcEndpoint) })).exitCode).toBe(0);
      const result = await runCli(["ignite", "draft", "save", "acme-corp:cut", "--code", "app", "--dockerfile-path", "Dockerfile", "-o", "json"], { env: env(proxy), cwd: work });
      expect(result.exitCode, result.stderr).toBe(0);
      const saved = JSON.parse(result.stdout);
      expect(saved.uploaded_bytes).toBe(saved.archive_bytes);
      expect(saved.archive_bytes).toBeGreaterThan(noiseBytes);
      expect(connections).toBeGreaterThanOrEqual(2);
      // The plane holds exactly the archive the CLI describes.
      const dry = await runCli(["ignite", "draft", "save", "acme-corp:cut", "--code", "app", "--dockerfile-path", "Dockerfile", "--dry-run", "-o", "json"], { env: env(plane.grpcEndpoint), cwd: work });
      expect(JSON.parse(dry.stdout).digest).toBe(saved.digest);
    } finally {
      for (const s of sockets.splice(0)) s.destroy();
      await fixture.stop();
      removeDir(work);
    }
  });

  it("does not retry a mutation", async () => {
    const result = await runCli(["ignite", "app", "create", "acme-corp:greeter"], { env: env("127.0.0.1:1") });
    expect(result.exitCode).toBe(9);
    expect(result.stderr).not.toMatch(/retry/);
  });
});
