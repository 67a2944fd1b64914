/**
 * "The outside" for tests of the egress proxy: a network namespace of the test's own, joined to the
 * host by a veth pair with private addresses (10.231.x.0/30, only on the interfaces the test makes),
 * and an HTTP server in it on its side, answering `outside <method> <path>`. Nothing else is
 * reached: the namespace's address is not one of this machine's, so the proxy allows it.
 * `held`: every answer waits until `release()` and is then a 404 (a registry that keeps a build
 * waiting until the test has seen what it needs); `onRequest` hears each request as it arrives.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";

export const outsideMissing = process.getuid?.() !== 0 ? "network namespaces need root" : spawnSync("ip", ["-V"]).status !== 0 ? "ip (iproute2) is not installed" : "";

export interface OutsideServer {
  /** The host side of the veth pair (an address of this machine while the test runs). */
  hostSide: string;
  /** The server's address, in the namespace. */
  address: string;
  port: number;
  /** Called for each request as it arrives. */
  onRequest?: () => void;
  /** `held` servers: answers what waits, and whatever comes later, with 404. */
  release(): void;
  /** Stops the server and deletes the namespace (its veth pair goes with it). */
  close(): void;
}

function ip(...args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
}

export async function startOutsideServer(o: { held?: boolean } = {}): Promise<OutsideServer> {
  const ns = `egress-test-${randomBytes(4).toString("hex")}`;
  const subnet = `10.231.${randomInt(0, 256)}.${4 * randomInt(0, 64)}`.split(".").map(Number);
  const at = (n: number) => [...subnet.slice(0, 3), subnet[3]! + n].join(".");
  const [hostSide, address] = [at(1), at(2)];
  const veth = `egh${randomBytes(3).toString("hex")}`;
  let server: ChildProcess | undefined;
  const close = () => {
    server?.kill("SIGKILL");
    spawnSync("ip", ["netns", "del", ns]);
    spawnSync("ip", ["link", "del", veth]);
  };
  try {
    ip("netns", "add", ns);
    ip("link", "add", veth, "type", "veth", "peer", "name", `${veth}n`);
    ip("link", "set", `${veth}n`, "netns", ns);
    ip("addr", "add", `${hostSide}/30`, "dev", veth);
    ip("link", "set", veth, "up");
    ip("-n", ns, "addr", "add", `${address}/30`, "dev", `${veth}n`);
    ip("-n", ns, "link", "set", `${veth}n`, "up");
    ip("-n", ns, "link", "set", "lo", "up");
    const answer = o.held
      ? `let open = false; const held = []; process.stdin.on("data", () => { open = true; held.splice(0).forEach((s) => s.writeHead(404).end("no such package")); });
         const handle = (q, s) => { console.log("request"); q.resume(); if (open) s.writeHead(404).end("no such package"); else held.push(s); };`
      : `const handle = (q, s) => s.end("outside " + q.method + " " + q.url);`;
    const script = `${answer} require("http").createServer(handle).listen(8080, ${JSON.stringify(address)}, () => console.log("listening"))`;
    server = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", script], { stdio: ["pipe", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      server!.stdout!.once("data", () => resolve());
      server!.once("exit", (c) => reject(new Error(`the namespace's server exited with ${c}`)));
    });
    const outside: OutsideServer = { hostSide, address, port: 8080, close, release: () => void server?.stdin?.write("release\n") };
    server.stdout!.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) if (line === "request") outside.onRequest?.();
    });
    return outside;
  } catch (e) {
    close();
    throw e;
  }
}
