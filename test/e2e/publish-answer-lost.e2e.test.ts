/**
 * A plane that goes away after committing a publish but before answering: the CLI reads the app
 * again on reconnect and says what happened, instead of "cannot reach the Ignite API" and exit 9
 * for a version that was in fact published. The CLI reaches the plane through a loopback TCP relay
 * the test owns; the plane's log line for the commit (written inside PublishDraft, before its
 * answer) drops every relayed connection at once, so the answer can never arrive — deterministic,
 * no timing.
 */
import { cpSync } from "node:fs";
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type RunningControlPlane } from "../../src/local/control-plane.js";
import { runCli } from "../helpers/run-cli.js";
import { ACME_TOKEN } from "../helpers/secrets.js";
import { removeDir, tempDir } from "../helpers/temp-dirs.js";

const repo = join(import.meta.dirname, "..", "..");
let work: string;
let plane: RunningControlPlane;
let relay: Server;
let relayPort = 0;
const sockets = new Set<Socket>();
/** What the commit's log line does to the relay: nothing, drop the connections, or drop them and stop listening. */
let onCommit: "none" | "drop" | "vanish" = "none";

function startRelay(port: number): Promise<void> {
  relay = createServer((client) => {
    const [host, p] = [plane.grpcEndpoint.replace(/:\d+$/, ""), Number(/:(\d+)$/.exec(plane.grpcEndpoint)![1])];
    const upstream = connect(p, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve) => relay.listen(port, "127.0.0.1", () => {
    relayPort = (relay.address() as AddressInfo).port;
    resolve();
  }));
}

const cli = (args: string[]) => runCli(["ignite", ...args], { env: { IGNITE_API_ENDPOINT: `127.0.0.1:${relayPort}`, IGNITE_TOKEN: ACME_TOKEN, IGNITE_DEBUG: "true" }, cwd: work });

describe("a publish whose answer is lost", () => {
  beforeAll(async () => {
    work = tempDir("answer-lost");
    cpSync(join(repo, "examples", "greeter"), join(work, "app"), { recursive: true });
    plane = await startControlPlane({
      listen: "127.0.0.1:0",
      gatewayListen: "127.0.0.1:0",
      dataDir: join(work, "data"),
      driver: "host",
      tokens: { [ACME_TOKEN]: "acme-corp" },
      log: (line) => {
        if (onCommit === "none" || !/: version \d+ published and active$/.test(line)) return;
        // synchronous, inside PublishDraft after its commit: the answer has not been written yet
        for (const s of sockets) s.destroy();
        if (onCommit === "vanish") relay.close();
        onCommit = "none";
      },
    });
    await startRelay(0);
    expect((await cli(["app", "create", "acme-corp:greeter"])).exitCode).toBe(0);
  }, 60_000);

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    relay?.close();
    await plane?.stop();
    removeDir(work);
  });

  it("published before the connection dropped: a warning, the version, exit 0", async () => {
    expect((await cli(["draft", "save", "acme-corp:greeter", "--code", "app", "--dockerfile-path", "Dockerfile"])).exitCode).toBe(0);
    onCommit = "drop";
    const r = await cli(["draft", "publish", "acme-corp:greeter", "--quiet", "-o", "json"]);
    expect(onCommit, "the relay dropped the connections at the commit").toBe("none");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the connection was lost before PublishDraft answered; on reconnecting, version 1 of acme-corp[:/]greeter is active with the draft's code: the publish took effect/);
    expect(JSON.parse(r.stdout).version).toBe(1);
  }, 120_000);

  it("the plane gone for good: exit 9 with a message that says the outcome is unknown and how to find it", async () => {
    expect((await cli(["draft", "save", "acme-corp:greeter", "--code", "app", "--dockerfile-path", "Dockerfile", "--no-default-excludes"])).exitCode).toBe(0);
    onCommit = "vanish";
    const r = await cli(["draft", "publish", "acme-corp:greeter", "--quiet", "--timeout", "20s"]);
    expect(r.exitCode).toBe(9);
    expect(r.stderr).toMatch(/the connection was lost after PublishDraft of acme-corp[:/]greeter was sent .*whether it published a version is unknown/);
    expect(r.stderr).toMatch(/version list acme-corp[:/]greeter/);
    // the relay back (the plane never went away): the publish had taken effect
    await startRelay(relayPort);
    const versions = JSON.parse((await cli(["version", "list", "acme-corp:greeter", "-o", "json"])).stdout);
    expect(versions.length).toBe(2);
  }, 120_000);
});
