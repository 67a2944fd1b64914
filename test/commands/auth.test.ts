// `dodil login` / `dodil logout` and the direct-token `dodil ignite login`, in-process against a
// local control plane serving TLS with a generated CA. The secret scan (test/helpers/secret-scan.ts)
// fails this file if any run printed the service-account secret or a static token.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningControlPlane } from "../../src/local/control-plane.js";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { runCli } from "../helpers/run-cli.js";
import { SA_SECRET, TLS_TEST_TOKEN } from "../helpers/secrets.js";
import { tempDir } from "../helpers/temp-dirs.js";

let fixture: TestControlPlane;
let plane: RunningControlPlane;
let home: string;

beforeAll(async () => {
  home = tempDir("auth-cmd");
  fixture = await startTestControlPlane({
    dataDir: join(home, "data"),
    tokens: { [TLS_TEST_TOKEN]: "acme-corp" },
    serviceAccounts: [{ org: "acme-corp", id: "ci-deployer", secret: SA_SECRET }],
    tls: "generate",
  });
  plane = fixture.plane;
});

afterAll(async () => {
  await fixture?.stop();
});

const configFile = () => join(home, ".config", "unified-cli", "config.yaml");

describe("dodil login / logout (service account)", () => {
  it("the dodil root lists login and logout next to ignite", async () => {
    const help = await runCli(["--help"], { home });
    expect(help.stdout).toMatch(/login \[options\] <service_account_id> <service_account_secret>/);
    expect(help.stdout).toMatch(/logout/);
  });

  it("logs in (secret on stdin), masks the secret and token everywhere, and logs out", async () => {
    const login = await runCli(["login", "ci-deployer", "-", "--token-url", plane.tokenUrl, "--ca-cert", plane.caCertFile!, "--api-endpoint", plane.grpcEndpoint, "-o", "json"], {
      home,
      stdin: SA_SECRET + "\n",
    });
    expect(login.exitCode, login.stderr).toBe(0);
    const data = JSON.parse(login.stdout);
    expect(data).toMatchObject({ client_id: "ci-deployer", organization: "acme-corp", token_url: plane.tokenUrl });
    expect(data.token).toMatch(/^eyJh…\(\d+ chars\)$/);
    const yaml = readFileSync(configFile(), "utf8");
    expect(yaml).toContain(`ca_cert: ${plane.caCertFile}`);

    const secret = await runCli(["ignite", "config", "get", "global.client_secret"], { home });
    expect(secret.stdout.trim()).toBe(`${SA_SECRET.slice(0, 4)}…(${SA_SECRET.length} chars)`);
    const view = await runCli(["ignite", "config", "view"], { home });
    expect(view.stdout).toMatch(/client_secret\s+sa-s…/);

    const state = await runCli(["ignite", "app", "list", "-o", "json"], { home });
    expect(state.exitCode, state.stderr).toBe(0);

    const out = await runCli(["logout"], { home });
    expect(out.exitCode).toBe(0);
    expect(readFileSync(configFile(), "utf8")).not.toMatch(/client_secret|\btoken:/);
    const again = await runCli(["logout"], { home });
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toMatch(/not logged in/);
  });

  it("login replaces an ignite.token that would otherwise win over it", async () => {
    const h = tempDir("auth-cmd-home");
    expect((await runCli(["ignite", "config", "set", "token", TLS_TEST_TOKEN], { home: h })).exitCode).toBe(0);
    const login = await runCli(["login", "ci-deployer", SA_SECRET, "--token-url", plane.tokenUrl, "--ca-cert", plane.caCertFile!], { home: h });
    expect(login.exitCode, login.stderr).toBe(0);
    expect(login.stderr).toContain("removed ignite.token (it would override the login)");
  });

  it("an http token URL on a non-loopback host is refused before anything is sent", async () => {
    const result = await runCli(["login", "ci-deployer", SA_SECRET, "--token-url", "http://id.example.com/token"], { home: tempDir("auth-cmd-home") });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/plain http: use https:\/\//);
  });

  it("an unreachable token endpoint is exit 9 naming it", async () => {
    const result = await runCli(["login", "ci-deployer", SA_SECRET, "--token-url", "https://127.0.0.1:1/oauth/token"], { home: tempDir("auth-cmd-home") });
    expect(result.exitCode).toBe(9);
    expect(result.stderr).toContain("cannot reach the token endpoint https://127.0.0.1:1/oauth/token: connection refused");
  });
});

describe("the standalone ignite binary: login <id> <secret> and logout", () => {
  it("logs in with a service account as `dodil login` does, and logs out", async () => {
    const h = tempDir("auth-cmd-home");
    const login = await runCli(["login", "ci-deployer", "-", "--token-url", plane.tokenUrl, "--ca-cert", plane.caCertFile!, "--api-endpoint", plane.grpcEndpoint, "-o", "json"], {
      home: h,
      stdin: SA_SECRET,
      binary: "ignite",
    });
    expect(login.exitCode, login.stderr).toBe(0);
    expect(JSON.parse(login.stdout)).toMatchObject({ client_id: "ci-deployer", organization: "acme-corp" });
    expect(readFileSync(join(h, ".config", "unified-cli", "config.yaml"), "utf8")).toMatch(/global:[\s\S]*client_id: ci-deployer/);
    const apps = await runCli(["app", "list"], { home: h, binary: "ignite" });
    expect(apps.exitCode, apps.stderr).toBe(0);
    const logout = await runCli(["logout"], { home: h, binary: "ignite" });
    expect(logout.exitCode, logout.stderr).toBe(0);
    expect(logout.stderr).toMatch(/logged out: removed global\.token, global\.client_id, global\.client_secret/);
  });

  it.each<[string, string[], RegExp]>([
    ["a service account and --token", ["login", "ci-deployer", "x", "--token", "t0123456789"], /service account \(<id> <secret>\) or with --token, not both/],
    ["an id without its secret", ["login", "ci-deployer"], /login ci-deployer needs the service account's secret too/],
  ])("refuses %s (exit 2)", async (_name, argv, message) => {
    const result = await runCli(argv, { home: tempDir("auth-cmd-home"), binary: "ignite" });
    expect(result.exitCode).toBe(2);
    expect(result.stderr.split("\n")[0]).toMatch(message);
  });
});

describe("dodil ignite login (direct token) over TLS", () => {
  it("checks the token over TLS with --ca-cert, then saves it", async () => {
    const h = tempDir("auth-cmd-home");
    const ok = await runCli(["ignite", "login", "--token", TLS_TEST_TOKEN, "--api-endpoint", plane.grpcEndpoint, "--org", "acme-corp", "--ca-cert", plane.caCertFile!], { home: h });
    expect(ok.exitCode, ok.stderr).toBe(0);
    const bad = await runCli(["ignite", "login", "--token", "not-a-known-token-000", "--api-endpoint", plane.grpcEndpoint, "--ca-cert", plane.caCertFile!], { home: tempDir("auth-cmd-home") });
    expect(bad.exitCode).toBe(3);
  });
});
