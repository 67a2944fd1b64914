/**
 * Issue 14, the attacks that need no running app: another org's local image named as
 * `--image-ref`, a public host name that maps onto another org's app, names that are not DNS
 * labels, and tokens on the plane's command line (`ps`). The attacks by a running app (walking the
 * data dir, scanning loopback ports) are in tenant-isolation.e2e.test.ts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { join } from "node:path";
import { createInterface } from "node:readline";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ComputeService } from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import type { RunningControlPlane } from "../../src/local/control-plane.js";
import { startTestControlPlane, TEST_TOKENS, type ComputeClient, type TestControlPlane } from "../helpers/control-plane.js";
import { grpcCode, rpcError } from "../helpers/rpc-client.js";
import { runCli } from "../helpers/run-cli.js";
import { ACME_TOKEN, OTHER_TOKEN } from "../helpers/secrets.js";
import { tempDir } from "../helpers/temp-dirs.js";

const repo = join(import.meta.dirname, "..", "..");
const CORP_TOKEN = "tok-corp-0123456789abcdef01234";

function gatewayGet(url: string, host: string, token: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: "/", headers: { host, authorization: `Bearer ${token}` } }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const prebuilt = (appName: string, imageRef: string) => ({ appName, code: { source: { case: "image" as const, value: { source: { case: "prebuilt" as const, value: { imageRef } } } } } });

describe("tenants on one plane (host driver)", () => {
  let fixture: TestControlPlane;
  let cp: RunningControlPlane;
  let dataDir: string;
  const lines: string[] = [];
  let acme: ComputeClient;
  let other: ComputeClient;
  let corp: ComputeClient;
  const start = async () => {
    fixture = await startTestControlPlane({ dataDir, tokens: { ...TEST_TOKENS, [CORP_TOKEN]: "corp" }, log: (l) => lines.push(l) });
    cp = fixture.plane;
    acme = fixture.compute;
    other = fixture.client(ComputeService, OTHER_TOKEN);
    corp = fixture.client(ComputeService, CORP_TOKEN);
  };

  beforeAll(async () => {
    dataDir = tempDir("tenants");
    await start();
  });
  afterAll(async () => {
    await fixture.stop();
  });

  it("refuses org B's draft naming org A's local image, before looking it up (PermissionDenied, exit 4)", async () => {
    await other.createApp({ name: "thief" });
    for (const ref of ["local.ignite/acme-corp/private:latest", "LOCAL.IGNITE/acme-corp/greeter:bld_01j", "local.ignite:443/acme-corp/x@sha256:" + "0".repeat(64), "docker.io/local.ignite/acme-corp/x:1"]) {
      const e = await rpcError(other.saveDraft(prebuilt("thief", ref)));
      expect(grpcCode(e), ref).toBe(grpc.status.PERMISSION_DENIED);
      expect(e.details).toContain(ref);
      expect(e.details).toContain("organization other-org");
    }
    // its own namespace and other registries are accepted (the host driver then cannot run them: no local images)
    await other.saveDraft(prebuilt("thief", "local.ignite/other-org/mine:1"));
    await other.saveDraft(prebuilt("thief", "registry.example.invalid/team/app:1"));

    const env = { IGNITE_API_ENDPOINT: cp.grpcEndpoint, IGNITE_TOKEN: OTHER_TOKEN, IGNITE_DEBUG: "true" };
    const r = await runCli(["ignite", "draft", "save", "other-org:thief", "--image-ref", "local.ignite/acme-corp/private:latest"], { env, cwd: dataDir });
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/^Error: .*image local\.ignite\/acme-corp\/private:latest is not in organization other-org's local namespace/m);
  });

  it("refuses an app whose public host name another org's app holds (AlreadyExists naming it), both ways round", async () => {
    await acme.createApp({ name: "greeter" });
    const e = await rpcError(corp.createApp({ name: "greeter-acme" }));
    expect(grpcCode(e)).toBe(grpc.status.ALREADY_EXISTS);
    expect(e.details).toContain("greeter-acme-corp.ignite.localhost");
    expect(e.details).toContain("acme-corp:greeter");
    await corp.createApp({ name: "hello-acme" });
    const back = await rpcError(acme.createApp({ name: "hello" }));
    expect(grpcCode(back)).toBe(grpc.status.ALREADY_EXISTS);
    expect(back.details).toContain("corp:hello-acme");
    // a further declared port is a host name too: <app>-<org>-<port>
    await acme.createApp({ name: "multi", ports: [8080, 9000] });
    const port = await rpcError(corp.createApp({ name: "multi-acme", ports: [8080, 9000] }));
    expect(grpcCode(port)).toBe(grpc.status.ALREADY_EXISTS);
    // the refused apps were not made
    expect(readdirSync(join(dataDir, "orgs", "corp", "apps")).sort()).toEqual(["hello-acme"]);
  });

  it("requires app names to be DNS labels and states the rule", async () => {
    for (const name of ["greeter-", "a--b", "-x"]) {
      const e = await rpcError(acme.createApp({ name }));
      expect(grpcCode(e), name).toBe(grpc.status.INVALID_ARGUMENT);
      expect(e.details).toContain("not ending with '-' and without '--'");
    }
  });

  it("keeps serving colliding apps of an older data dir: the one created first holds the name, and start-up says so", async () => {
    await fixture.stop();
    // an app written before the rule: corp:greeter-acme next to acme-corp:greeter
    const holder = JSON.parse(readFileSync(join(dataDir, "orgs", "acme-corp", "apps", "greeter", "app.json"), "utf8")) as Record<string, unknown>;
    const dir = join(dataDir, "orgs", "corp", "apps", "greeter-acme");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "app.json"), JSON.stringify({ ...holder, id: "corp/greeter-acme", name: "greeter-acme", organizationName: "corp", createdAtMs: String(Date.now()) }));
    lines.length = 0;
    await start();
    expect(lines.some((l) => l.includes("share the public host name greeter-acme-corp.ignite.localhost") && l.includes("serves acme-corp:greeter (created first)"))).toBe(true);
    // the gateway routes the name to acme-corp:greeter (which has no version yet, and says so)
    const answer = await gatewayGet(cp.gatewayUrl, "greeter-acme-corp.ignite.localhost", CORP_TOKEN);
    expect(answer).toMatchObject({ status: 403 });
    expect(answer.body).toContain("may not access org acme-corp");
  });
});

describe("no token on the plane's command line", () => {
  let plane: ChildProcess | undefined;
  afterAll(async () => {
    if (plane && plane.exitCode === null) {
      plane.kill("SIGTERM");
      await new Promise((r) => plane!.once("exit", r));
    }
  });

  const dev = (args: string[], env: Record<string, string> = {}, output = ["-o", "json"]) =>
    spawn(process.execPath, [join(repo, "bin", "dodil.js"), "ignite", "dev", "--listen", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--auth-listen", "127.0.0.1:0", "--driver", "host", ...args, ...output], {
      env: { PATH: process.env.PATH ?? "", HOME: tempDir("home"), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
  const exitOf = (p: ChildProcess) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
    let stderr = "";
    p.stderr!.on("data", (d) => (stderr += d));
    p.once("exit", (code) => resolve({ code, stderr }));
  });

  it("--token-file (mode 0600): ps and /proc/<pid>/cmdline show no token, and the token works", async () => {
    const work = tempDir("token-file");
    const file = join(work, "tokens");
    writeFileSync(file, `# org=token\nacme-corp=${ACME_TOKEN}\n\nother-org=${OTHER_TOKEN}\n`, { mode: 0o600 });
    plane = dev(["--token-file", file, "--data-dir", join(work, "data")]);
    let stderr = "";
    plane.stderr!.on("data", (d) => (stderr += d));
    const ready = await new Promise<{ grpc_endpoint: string; organizations: string[] }>((resolve, reject) => {
      createInterface({ input: plane!.stdout! }).once("line", (l) => resolve(JSON.parse(l)));
      plane!.once("exit", (c) => reject(new Error(`dev exited ${c}: ${stderr}`)));
    });
    expect(ready.organizations).toEqual(["acme-corp", "other-org"]);
    const cmdline = readFileSync(`/proc/${plane.pid}/cmdline`, "utf8");
    expect(cmdline).toContain("--token-file");
    const ps = await new Promise<string>((resolve) => {
      const p = spawn("ps", ["-eo", "pid,args"], { stdio: ["ignore", "pipe", "ignore"] });
      let out = "";
      p.stdout.on("data", (d) => (out += d));
      p.once("close", () => resolve(out));
    });
    expect(ps).toContain(String(plane.pid));
    for (const text of [cmdline, ps]) {
      expect(text).not.toContain(ACME_TOKEN);
      expect(text).not.toContain(OTHER_TOKEN);
    }
    expect(stderr).not.toContain("visible");
    const r = await runCli(["ignite", "app", "list", "-o", "json"], { env: { IGNITE_API_ENDPOINT: ready.grpc_endpoint, IGNITE_TOKEN: OTHER_TOKEN, IGNITE_DEBUG: "true" } });
    expect(r.exitCode, r.stderr).toBe(0);
  }, 60_000);

  it("refuses a token file other users can read, with one clear line (exit 2)", async () => {
    const work = tempDir("token-file");
    const file = join(work, "tokens");
    writeFileSync(file, `acme-corp=${ACME_TOKEN}\n`);
    chmodSync(file, 0o644);
    const r = await exitOf(dev(["--token-file", file, "--data-dir", join(work, "data")], {}, []));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([`Error: --token-file ${file} is readable by other users (mode 0644); it holds secrets: chmod 600 ${file}`]);
    writeFileSync(file, `acme-corp ${ACME_TOKEN}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    const bad = await exitOf(dev(["--token-file", file, "--data-dir", join(work, "data")], {}, []));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`line 1 of --token-file ${file}`);
    expect(bad.stderr).not.toContain(ACME_TOKEN);
  }, 60_000);

  it("reads $IGNITE_DEV_TOKENS, and --token still works but warns that ps shows it", async () => {
    const work = tempDir("token-env");
    const p = dev(["--token", `acme-corp=${ACME_TOKEN}`, "--data-dir", join(work, "data")], { IGNITE_DEV_TOKENS: `other-org=${OTHER_TOKEN}` });
    let stderr = "";
    p.stderr!.on("data", (d) => (stderr += d));
    const ready = await new Promise<{ organizations: string[] }>((resolve, reject) => {
      createInterface({ input: p.stdout! }).once("line", (l) => resolve(JSON.parse(l)));
      p.once("exit", (c) => reject(new Error(`dev exited ${c}: ${stderr}`)));
    });
    expect(ready.organizations).toEqual(["acme-corp", "other-org"]);
    expect(stderr).toMatch(/--token puts the token on the command line, where every local user can read it \(ps/);
    p.kill("SIGTERM");
    await new Promise((r) => p.once("exit", r));
  }, 60_000);

  it("where the plane cannot run apps as other users, the host driver serves one organization and a second is a start-up error", async () => {
    // not root: run the plane as nobody when the suite runs as root
    const home = tempDir("nonroot");
    chownSync(home, 65534, 65534);
    const asNobody = (args: string[], extraEnv: Record<string, string>) => {
      const argv = [join(repo, "bin", "dodil.js"), "ignite", "dev", "--listen", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--auth-listen", "127.0.0.1:0", "--driver", "host", "--data-dir", join(home, "data"), ...args];
      const env = { PATH: process.env.PATH ?? "", HOME: home, ...extraEnv };
      return process.getuid?.() === 0
        ? spawn("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, ...argv], { env, stdio: ["ignore", "pipe", "pipe"] })
        : spawn(process.execPath, argv, { env, stdio: ["ignore", "pipe", "pipe"] });
    };
    const two = await exitOf(asNobody([], { IGNITE_DEV_TOKENS: `acme-corp=${ACME_TOKEN}\nother-org=${OTHER_TOKEN}` }));
    expect(two.code).toBe(1);
    expect(two.stderr).toMatch(/^Error: the host driver cannot keep organizations apart here \(the control plane runs as uid \d+, not root.*serves one organization only, and 2 are configured \(acme-corp, other-org\).*--driver podman/m);
    const one = asNobody(["-o", "json"], { IGNITE_DEV_TOKENS: `acme-corp=${ACME_TOKEN}` });
    let stderr = "";
    one.stderr!.on("data", (d) => (stderr += d));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: one.stdout! }).once("line", () => resolve());
      one.once("exit", (c) => reject(new Error(`dev exited ${c}: ${stderr}`)));
    });
    expect(stderr).toContain("host driver: serving organization acme-corp only");
    one.kill("SIGTERM");
    await new Promise((r) => one.once("exit", r));
  }, 60_000);
});
