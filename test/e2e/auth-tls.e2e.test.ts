// Auth and transport as a real user meets them: `dodil ignite dev --tls` with service accounts and
// JWTs of a given lifetime, `dodil login`/`logout`, org from the token, TLS verification failures
// (wrong CA, wrong host name, expired certificate), --debug as the only way to plaintext. Expiry and
// renewal run against a plane in this process whose clock the test holds (nothing sleeps until a
// token expires).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GrpcIgniteApi } from "../../src/api/grpc-ignite-api.js";
import { ComputeService } from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { ModelService } from "../../src/gen/dodil/ignite/v1/model_pb.js";
import type { RunningControlPlane } from "../../src/local/control-plane.js";
import { generateCertificate } from "../../src/local/auth/tls.js";
import { decodeTokenClaims } from "../../src/config/token-claims.js";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { capturedOutputs } from "../helpers/run-cli.js";
import { SA_SECRET, TLS_TEST_TOKEN } from "../helpers/secrets.js";
import { tempDir } from "../helpers/temp-dirs.js";

const repo = join(import.meta.dirname, "..", "..");
const dodil = join(repo, "bin", "dodil.js");
/** The lifetime `dev --token-lifetime` is given (long enough that nothing expires during a test). */
const LIFETIME_S = 600;

let plane: ChildProcess;
let ready: { grpc_endpoint: string; token_url: string; ca_cert: string; tls: boolean; service_accounts: Array<{ id: string; organization: string; secret?: string }> };
let work: string;
/** Every access token the suite saw, for the "never printed" checks. */
const issuedTokens = new Set<string>();

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `dodil` binary with a private config dir; nothing from the outer environment leaks in. */
function cli(args: string[], options: { config: string; env?: Record<string, string> }): Promise<Result> {
  const env = { PATH: process.env.PATH ?? "", HOME: work, DODIL_CONFIG_DIR: options.config, ...options.env };
  return new Promise((resolve) => {
    execFile(process.execPath, [dodil, ...args], { cwd: work, env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === "number" ? (error as { code: number }).code : 1) : 0;
      capturedOutputs.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    });
  });
}

function savedConfig(config: string): string {
  try {
    return readFileSync(join(config, "config.yaml"), "utf8");
  } catch {
    return "";
  }
}

function savedToken(config: string): string {
  const token = /token: (\S+)/.exec(savedConfig(config))?.[1] ?? "";
  if (token) issuedTokens.add(token);
  return token;
}

function expectNoSecrets(result: Result): void {
  const text = result.stdout + result.stderr;
  expect(text).not.toContain(SA_SECRET);
  for (const token of issuedTokens) expect(text).not.toContain(token);
}

interface Target {
  token_url: string;
  grpc_endpoint: string;
  ca_cert: string;
}

async function login(config: string, target: Target = ready): Promise<Result> {
  return cli(["login", "ci-deployer", SA_SECRET, "--token-url", target.token_url, "--api-endpoint", target.grpc_endpoint, "--ca-cert", target.ca_cert], { config });
}

beforeAll(async () => {
  work = tempDir("auth-e2e");
  plane = spawn(
    process.execPath,
    [
      dodil,
      "ignite",
      "dev",
      "--listen",
      "127.0.0.1:0",
      "--gateway-listen",
      "127.0.0.1:0",
      "--auth-listen",
      "127.0.0.1:0",
      "--data-dir",
      join(work, "data"),
      "--driver",
      "host",
      "--tls",
      "--service-account",
      `acme-corp:ci-deployer=${SA_SECRET}`,
      "--token-lifetime",
      `${LIFETIME_S / 60}m`,
      "-o",
      "json",
    ],
    { env: { PATH: process.env.PATH, HOME: work }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: plane.stdout! }).once("line", resolve);
    plane.once("exit", (code) => reject(new Error(`dev exited early with ${code}`)));
  });
  ready = JSON.parse(line);
});

afterAll(async () => {
  if (!plane || plane.exitCode !== null || plane.signalCode !== null) return;
  // Gone before its data dir is removed (test/helpers/remove-temp-dirs.ts).
  const exited = new Promise((resolve) => plane.once("exit", resolve));
  plane.kill("SIGKILL");
  await exited;
});

describe("e2e: TLS and service-account login against `dodil ignite dev --tls`", () => {
  it("serves TLS with a generated CA and an https token endpoint, and says where the CA certificate is", () => {
    expect(ready.tls).toBe(true);
    expect(ready.token_url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/oauth\/token$/);
    expect(ready.ca_cert).toBe(join(work, "data", "tls", "ca.pem"));
    expect(readFileSync(ready.ca_cert, "utf8")).toContain("BEGIN CERTIFICATE");
    // Configured accounts are listed without their secret.
    expect(ready.service_accounts).toEqual([{ id: "ci-deployer", organization: "acme-corp" }]);
  });

  it("login with bad credentials exits 3 and saves nothing", async () => {
    const config = join(work, "cfg-bad");
    const result = await cli(["login", "ci-deployer", "not-the-secret", "--token-url", ready.token_url, "--ca-cert", ready.ca_cert], { config });
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toMatch(/rejected the service account credentials/);
    expect(result.stderr).not.toContain("not-the-secret");
    expect(savedConfig(config)).toBe("");
    const unknown = await cli(["login", "nobody", SA_SECRET, "--token-url", ready.token_url, "--ca-cert", ready.ca_cert], { config });
    expect(unknown.code).toBe(3);
    expectNoSecrets(unknown);
    expect(savedConfig(config)).toBe("");
  });

  it("login, then `app create greeter` with nothing else configured: the org comes from the token", async () => {
    const config = join(work, "cfg-login");
    const loggedIn = await login(config);
    expect(loggedIn.code, loggedIn.stderr).toBe(0);
    expect(loggedIn.stderr).toContain("logged in as service account ci-deployer (org acme-corp)");
    expect(statSync(join(config, "config.yaml")).mode & 0o777).toBe(0o600);
    const token = savedToken(config);
    expect(token.split(".")).toHaveLength(3);
    // issued for the lifetime given to dev --token-lifetime
    const claims = decodeTokenClaims(token);
    expect(claims?.exp !== undefined && claims.iat !== undefined ? claims.exp - claims.iat : undefined).toBe(LIFETIME_S);
    expect(savedConfig(config)).toContain(`client_secret: ${SA_SECRET}`);
    expectNoSecrets(loggedIn);

    const created = await cli(["ignite", "app", "create", "greeter", "-o", "json"], { config });
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ app_id: "acme-corp/greeter" });
    expectNoSecrets(created);

    const view = await cli(["ignite", "config", "view", "-o", "json"], { config });
    const settings = JSON.parse(view.stdout).settings;
    expect(settings.org).toEqual({ value: "acme-corp", source: "token claim (config global.token)" });
    expect(settings.client_secret.value).not.toContain(SA_SECRET.slice(4));
    expectNoSecrets(view);
  });

  it("refuses a tampered token (exit 3) and an unsigned one", async () => {
    const config = join(work, "cfg-tamper");
    expect((await login(config)).code).toBe(0);
    const token = savedToken(config);
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    claims.organization = { "other-org": { id: "org_x" } };
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
    issuedTokens.add(forged);
    const result = await cli(["ignite", "app", "list", "--token", forged, "--org", "other-org"], { config });
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toMatch(/bad signature/);
    expectNoSecrets(result);

    const noneAlg = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${payload}.`;
    issuedTokens.add(noneAlg);
    const unsigned = await cli(["ignite", "app", "list", "--token", noneAlg], { config });
    expect(unsigned.code).toBe(3);
    expectNoSecrets(unsigned);

  });

  it("logout removes the credentials; the next call is unauthenticated", async () => {
    const config = join(work, "cfg-logout");
    expect((await login(config)).code).toBe(0);
    savedToken(config);
    const out = await cli(["logout"], { config });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toContain("removed global.token, global.client_id, global.client_secret");
    const left = savedConfig(config);
    expect(left).not.toMatch(/token:|client_id|client_secret/);
    expect(left).toContain("token_url:");
    const after = await cli(["ignite", "app", "list", "--org", "acme-corp"], { config });
    expect(after.code).toBe(3);
    expect(after.stderr).toMatch(/missing bearer token/);
    expect(after.stderr).toMatch(/dodil login/);
  });

  it("verifies the server: the CA from IGNITE_CA_CERT works, a wrong CA or none is a clear exit 9", async () => {
    const config = join(work, "cfg-ca");
    expect((await login(config)).code).toBe(0);
    const yaml = savedConfig(config).replace(/\n\s*ca_cert: .*/, "");
    writeFileSync(join(config, "config.yaml"), yaml);

    const viaEnv = await cli(["ignite", "app", "list", "-o", "json"], { config, env: { IGNITE_CA_CERT: ready.ca_cert } });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);

    // A token given by flag is not renewed, so these runs reach the gRPC handshake whatever its age.
    const token = savedToken(config);
    const none = await cli(["ignite", "app", "list", "--token", token], { config });
    expect(none.code).toBe(9);
    expect(none.stderr).toContain(`TLS verification of ${ready.grpc_endpoint} failed: its certificate is not signed by a CA this client trusts (the system roots; no --ca-cert given)`);
    expect(none.stderr).toMatch(/--ca-cert <file> or IGNITE_CA_CERT/);

    const otherCa = join(work, "other-ca.pem");
    writeFileSync(otherCa, generateCertificate({ commonName: "someone else's CA", isCA: true }).cert);
    const wrong = await cli(["ignite", "app", "list", "--ca-cert", otherCa, "--token", token], { config });
    expect(wrong.code).toBe(9);
    expect(wrong.stderr).toContain(`TLS verification of ${ready.grpc_endpoint} failed`);
    expect(wrong.stderr).toContain(`the system roots plus the CA certificate from --ca-cert`);
    expect(wrong.stderr).toContain("not attempted in plaintext");
    expectNoSecrets(wrong);
  });

  it("--debug is the only way to plaintext, and says so on stderr; against a TLS server it fails instead of downgrading", async () => {
    const config = join(work, "cfg-login");
    const result = await cli(["ignite", "app", "list", "--debug", "--timeout", "5s"], { config });
    expect(result.stderr).toContain(`plaintext connection to ${ready.grpc_endpoint}: TLS is off (debug mode, from --debug)`);
    expect(result.code).toBe(9);
    expect(result.stderr).toMatch(/if it serves TLS, drop --debug/);
    expectNoSecrets(result);
  });

  it("public RPCs (HealthCheck, ListModels) answer without a token over TLS", async () => {
    const api = new GrpcIgniteApi({ endpoint: ready.grpc_endpoint, token: undefined, plaintext: false, timeoutMs: 10_000, caCert: { pem: readFileSync(ready.ca_cert), source: "test" } });
    try {
      expect((await api.unary(ComputeService.method.healthCheck, {})).status).toBe("SERVING");
      expect((await api.unary(ModelService.method.listModels, {})).object).toBe("list");
      await expect(api.unary(ComputeService.method.listApps, { organizationName: "acme-corp" })).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    } finally {
      api.close();
    }
  });
});

describe("e2e: expiry and renewal of the tokens a plane issues (its clock held by the test)", () => {
  const EXPIRY_LIFETIME_S = 3;
  // The plane's clock runs a day behind this machine's: by the CLI's clock every token it issues
  // has already expired (so the CLI renews it before each call), while the plane accepts it until
  // the test moves the plane's clock past the token's exp.
  const clock = new FakeClock(Date.now() - 24 * 3600_000);
  let fixture: TestControlPlane;
  let target: Target;

  beforeAll(async () => {
    fixture = await startTestControlPlane({
      label: "auth-expiry",
      tokens: { [TLS_TEST_TOKEN]: "acme-corp" },
      serviceAccounts: [{ org: "acme-corp", id: "ci-deployer", secret: SA_SECRET }],
      tls: "generate",
      tokenLifetimeSeconds: EXPIRY_LIFETIME_S,
      clock,
    });
    target = { token_url: fixture.plane.tokenUrl, grpc_endpoint: fixture.plane.grpcEndpoint, ca_cert: fixture.plane.caCertFile! };
    const config = join(work, "cfg-expiry-setup");
    expect((await login(config, target)).code).toBe(0);
    const created = await cli(["ignite", "app", "create", "greeter"], { config });
    expect(created.code, created.stderr).toBe(0);
  });

  afterAll(async () => {
    await fixture?.stop();
  });

  it("renews an expired token before the call and saves the new one", async () => {
    const config = join(work, "cfg-renew");
    expect((await login(config, target)).code).toBe(0);
    const first = savedToken(config);
    const listed = await cli(["ignite", "app", "list", "-o", "json"], { config });
    expect(listed.code, listed.stderr).toBe(0);
    const second = savedToken(config);
    expect(second).not.toBe(first);
    expectNoSecrets(listed);

    const again = await cli(["ignite", "app", "list", "-o", "json"], { config });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).map((a: { id: string }) => a.id)).toContain("acme-corp/greeter");
    expect(savedToken(config)).not.toBe(second);
    expectNoSecrets(again);
  });

  it("a failed renewal exits 3 and says to log in again", async () => {
    const config = join(work, "cfg-renew-fail");
    expect((await login(config, target)).code).toBe(0);
    savedToken(config);
    // The service account's secret was rotated on the server side: the saved one no longer works.
    writeFileSync(join(config, "config.yaml"), savedConfig(config).replace(`client_secret: ${SA_SECRET}`, "client_secret: rotated-away"));
    const result = await cli(["ignite", "app", "list"], { config });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/the saved token has expired and renewing it failed/);
    expect(result.stderr).toMatch(/log in again: `dodil login <service_account_id> <service_account_secret>`/);
    expect(result.stderr).not.toContain("rotated-away");
    expectNoSecrets(result);
  });

  it("refuses an expired token given directly (exit 3)", async () => {
    const config = join(work, "cfg-expired");
    expect((await login(config, target)).code).toBe(0);
    const token = savedToken(config);
    // A token passed by flag is used as given (no renewal): accepted while the plane's clock is before its exp…
    const valid = await cli(["ignite", "app", "list", "-o", "json", "--token", token], { config });
    expect(valid.code, valid.stderr).toBe(0);
    // …and refused once it has passed.
    clock.advance(EXPIRY_LIFETIME_S * 1000);
    const expired = await cli(["ignite", "app", "list", "--token", token], { config });
    expect(expired.code).toBe(3);
    expect(expired.stderr).toMatch(/token expired/);
    expectNoSecrets(expired);
  });
});

describe("e2e: certificates the client must refuse (given --tls-cert/--tls-key)", () => {
  const planes: TestControlPlane[] = [];
  const ca = generateCertificate({ commonName: "test CA", isCA: true });
  let caFile: string;

  async function planeWith(cert: { cert: string; key: string }, name: string): Promise<RunningControlPlane> {
    const dir = tempDir(`tls-${name}`);
    writeFileSync(join(dir, "cert.pem"), cert.cert);
    writeFileSync(join(dir, "key.pem"), cert.key);
    const started = await startTestControlPlane({
      dataDir: join(dir, "data"),
      tokens: { [TLS_TEST_TOKEN]: "acme-corp" },
      tls: { certFile: join(dir, "cert.pem"), keyFile: join(dir, "key.pem") },
    });
    planes.push(started);
    return started.plane;
  }

  beforeAll(() => {
    caFile = join(work, "given-ca.pem");
    writeFileSync(caFile, ca.cert);
  });

  afterAll(async () => {
    await Promise.all(planes.map((p) => p.stop()));
  });

  const env = () => ({ IGNITE_TOKEN: TLS_TEST_TOKEN, IGNITE_CA_CERT: caFile });

  it("a certificate for the right names is accepted", async () => {
    const good = await planeWith(generateCertificate({ commonName: "127.0.0.1", hosts: ["127.0.0.1"], issuer: ca }), "good");
    const result = await cli(["ignite", "app", "list", "--api-endpoint", good.grpcEndpoint, "-o", "json"], { config: join(work, "cfg-given"), env: env() });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe("[]");
  });

  it("a host name the certificate does not list is exit 9 naming the host", async () => {
    const named = await planeWith(generateCertificate({ commonName: "ignite.test", hosts: ["ignite.test", "localhost"], issuer: ca }), "name");
    const result = await cli(["ignite", "app", "list", "--api-endpoint", named.grpcEndpoint], { config: join(work, "cfg-given"), env: env() });
    expect(result.code).toBe(9);
    expect(result.stderr).toContain(`TLS verification of ${named.grpcEndpoint} failed: its certificate is not valid for the host 127.0.0.1`);
    expect(result.stderr).toMatch(/connect with a host name the certificate lists/);
  });

  it("an expired certificate is exit 9 saying so", async () => {
    const day = 24 * 3600 * 1000;
    const expired = await planeWith(
      generateCertificate({ commonName: "127.0.0.1", hosts: ["127.0.0.1"], issuer: ca, notBefore: new Date(Date.now() - 30 * day), notAfter: new Date(Date.now() - day) }),
      "expired",
    );
    const result = await cli(["ignite", "app", "list", "--api-endpoint", expired.grpcEndpoint], { config: join(work, "cfg-given"), env: env() });
    expect(result.code).toBe(9);
    expect(result.stderr).toContain(`TLS verification of ${expired.grpcEndpoint} failed: its certificate has expired`);
  });
});
