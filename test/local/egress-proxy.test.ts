/**
 * The plane's egress proxy (src/local/egress/egress-proxy.ts), the way out of builds and compiles:
 * hostile input on its listener, every destination of this machine refused (without a connection
 * being made), and the allow path to an HTTP server in a network namespace this test makes, reached
 * over a veth pair with private addresses (10.231.x.x, only inside what the test creates).
 */
import { randomBytes } from "node:crypto";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkedLookup, EgressProxy, refusedAddress } from "../../src/local/egress/egress-proxy.js";
import { outsideMissing, startOutsideServer, type OutsideServer } from "../helpers/outside-server.js";
import { tempDir } from "../helpers/temp-dirs.js";

let proxy: EgressProxy;
const logs: string[] = [];
/** A loopback listener standing for the plane's gRPC port: the proxy must never connect to it. */
let plane: net.Server;
let planePort = 0;
let planeConnections = 0;
let outside: OutsideServer | undefined;

beforeAll(async () => {
  proxy = await EgressProxy.open({ socket: path.join(tempDir("egress"), "run", "egress.sock"), log: (l) => logs.push(l) });
  plane = net.createServer((s) => {
    planeConnections++;
    s.end("HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nplane\n");
  });
  await new Promise<void>((r) => plane.listen(0, "127.0.0.1", r));
  planePort = (plane.address() as net.AddressInfo).port;
  if (!outsideMissing) outside = await startOutsideServer();
}, 60_000);

afterAll(async () => {
  outside?.close();
  await proxy?.close();
  await new Promise((r) => plane?.close(r));
});

/** Sends `bytes` on a new connection to the proxy; the answer's head (or all of it once the proxy closes), and the socket. */
function exchange(bytes: string | Buffer): Promise<{ head: string; socket: net.Socket }> {
  return new Promise((resolve) => {
    const socket = net.connect(proxy.socket, () => socket.write(bytes));
    let got = "";
    const done = () => resolve({ head: got, socket });
    socket.on("data", (c: Buffer) => {
      got += c.toString("latin1");
      if (got.includes("\r\n\r\n") && got.startsWith("HTTP/1.1 200 Connection Established")) done();
    });
    socket.on("error", done);
    socket.on("close", done);
  });
}

const status = async (bytes: string | Buffer) => {
  const r = await exchange(bytes);
  r.socket.destroy();
  return r.head.slice(9, 12) || "closed";
};

async function stillAnswers(): Promise<void> {
  expect(await status("GET / HTTP/1.1\r\nhost: x\r\n\r\n")).toBe("400");
}

describe("egress proxy: hostile input", () => {
  it("answers garbage with 400 (or closes), and serves on", async () => {
    for (const bytes of ["garbage\r\n\r\n", "\x00\x01\x02\xff\r\n\r\n", "GET / HTTP/1.1\r\nhost: x\r\n\r\n", "CONNECT nothing HTTP/1.1\r\n\r\n", "CONNECT a:99999 HTTP/1.1\r\n\r\n", "CONNECT http://x:80/ HTTP/1.1\r\n\r\n", "GET https://x/ HTTP/1.1\r\nhost: x\r\n\r\n", "GET http:/// HTTP/1.1\r\nhost: x\r\n\r\n"]) {
      expect(["400", "closed"], JSON.stringify(bytes)).toContain(await status(bytes));
    }
    expect(await status(randomBytes(4096))).toMatch(/^(400|closed)$/);
    await stillAnswers();
  });

  it("refuses loopback, unspecified, link-local (cloud metadata) and names resolving to loopback, without connecting", async () => {
    const connects = [
      `127.0.0.1:${planePort}`,
      `127.1:${planePort}`,
      `2130706433:${planePort}`,
      `localhost:${planePort}`,
      `[::1]:${planePort}`,
      `[::ffff:127.0.0.1]:${planePort}`,
      `[::ffff:7f00:1]:${planePort}`,
      `0.0.0.0:${planePort}`,
      `[::]:${planePort}`,
      "169.254.169.254:80",
      "[fe80::1]:80",
      "224.0.0.1:80",
    ];
    for (const to of connects) expect(await status(`CONNECT ${to} HTTP/1.1\r\nhost: ${to}\r\n\r\n`), to).toBe("403");
    for (const url of [`http://127.0.0.1:${planePort}/`, `http://localhost:${planePort}/x`, `http://[::1]:${planePort}/`, "http://169.254.169.254/latest/meta-data/"]) {
      expect(await status(`GET ${url} HTTP/1.1\r\nhost: x\r\n\r\n`), url).toBe("403");
    }
    expect(planeConnections).toBe(0);
    expect(logs.filter((l) => /^egress proxy: refused /.test(l)).length).toBe(connects.length + 4);
    expect(logs).toContain(`egress proxy: refused CONNECT 169.254.169.254:80: 169.254.169.254 is link-local`);
    await stillAnswers();
  });

  it("classifies addresses", () => {
    expect(refusedAddress("127.8.9.10")).toBe("loopback");
    expect(refusedAddress("::FFFF:169.254.169.254")).toBe("link-local");
    expect(refusedAddress("0.1.2.3")).toBe("unspecified");
    expect(refusedAddress("93.184.215.14")).toBe("");
    expect(refusedAddress("2606:4700::1111")).toBe("");
  });
});

describe.skipIf(!!outsideMissing)(`egress proxy: the way out${outsideMissing ? ` (skipped: ${outsideMissing})` : ""}`, () => {
  it("refuses an address of this machine (the test's host side of the veth pair)", async () => {
    const { hostSide, port } = outside!;
    expect(refusedAddress(hostSide)).toBe("an address of this machine");
    expect(await status(`CONNECT ${hostSide}:${port} HTTP/1.1\r\n\r\n`)).toBe("403");
  });

  it("tunnels a CONNECT to an address outside this machine, and forwards an absolute-URI request", async () => {
    const { address, port } = outside!;
    const { head, socket } = await exchange(`CONNECT ${address}:${port} HTTP/1.1\r\nhost: ${address}:${port}\r\n\r\n`);
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    const body = await new Promise<string>((resolve) => {
      let got = "";
      socket.on("data", (c: Buffer) => (got += c.toString()));
      socket.on("close", () => resolve(got));
      socket.write(`GET /tunnelled HTTP/1.1\r\nhost: ${address}\r\nconnection: close\r\n\r\n`);
    });
    expect(body).toMatch(/^HTTP\/1\.1 200 [\s\S]*outside GET \/tunnelled$/);
    const forwarded = await new Promise<string>((resolve) => {
      const s = net.connect(proxy.socket, () => s.write(`GET http://${address}:${port}/plain?q=1 HTTP/1.1\r\nhost: ${address}:${port}\r\nproxy-connection: close\r\nconnection: close\r\n\r\n`));
      let got = "";
      s.on("data", (c: Buffer) => (got += c.toString()));
      s.on("close", () => resolve(got));
    });
    expect(forwarded).toMatch(/^HTTP\/1\.1 200 [\s\S]*outside GET \/plain\?q=1$/);
  });

  it("connects a name to the addresses it was checked with, never asking DNS again (how the proxy connects to a name)", async () => {
    const { address, port } = outside!;
    for (const autoSelectFamily of [true, false]) {
      const got = await new Promise<string>((resolve, reject) => {
        const s = net.connect({ host: "never-resolved.invalid", port, lookup: checkedLookup([address]), autoSelectFamily }, () => s.end("GET /named HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"));
        let text = "";
        s.on("data", (c: Buffer) => (text += c.toString()));
        s.on("error", reject);
        s.on("close", () => resolve(text));
      });
      expect(got, `autoSelectFamily ${autoSelectFamily}`).toMatch(/outside GET \/named$/);
    }
  });
});
