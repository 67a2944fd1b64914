/**
 * The registry token endpoint (src/local/registry/registry-token.ts) on the plane's token server,
 * in-process: the owner gets pull/push on its own repositories only, another organization's scopes
 * are left out of its token, and hostile requests (no or malformed Basic, a token of another org
 * under the owner's name, bad service, too many scopes, other methods, garbage bytes) get their 4xx
 * without echoing what was sent, while the listener serves on. A property: no scope string ever
 * grants a repository outside the caller's organization.
 */
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { X509Certificate, createPublicKey, verify } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenServer, TokenAuthority } from "../../src/local/auth/token-authority.js";
import { OrgAccess } from "../../src/local/auth/org-access.js";
import { systemClock } from "../../src/clock.js";
import { REGISTRY_SERVICE, REGISTRY_TOKEN_PATH, RegistryTokenIssuer } from "../../src/local/registry/registry-token.js";
import { ACME_TOKEN, OTHER_TOKEN } from "../helpers/secrets.js";
import { tempDir } from "../helpers/temp-dirs.js";

const tokens = { [ACME_TOKEN]: "acme-corp", [OTHER_TOKEN]: "other-org" };
let base = "";
let dir = "";
let server: ReturnType<typeof createTokenServer>;
let issuer: RegistryTokenIssuer;

beforeAll(async () => {
  dir = tempDir("registry-token");
  const authority = await TokenAuthority.open({ dataDir: dir, tokens, serviceAccounts: [] });
  const access = new OrgAccess(tokens, authority);
  issuer = await RegistryTokenIssuer.open({ dir: path.join(dir, "registry"), orgOf: (t) => access.orgOf(t), clock: systemClock, log: () => undefined });
  server = createTokenServer(authority, undefined, () => undefined, { [REGISTRY_TOKEN_PATH]: issuer.handle });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${REGISTRY_TOKEN_PATH}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
const ask = (query: string, authorization?: string, method = "GET") => fetch(`${base}?${query}`, { method, headers: authorization ? { authorization } : {} });
const claims = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as { sub: string; aud: string; iss: string; access: { name: string; actions: string[] }[] };

describe("registry token endpoint", () => {
  it("grants the owner pull/push on its own repositories, signed with the certificate the registry trusts", async () => {
    const res = await ask(`service=${REGISTRY_SERVICE}&scope=repository:acme-corp/app:pull,push&scope=repository:other-org/app:pull`, basic("acme-corp", ACME_TOKEN));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; access_token: string; expires_in: number };
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBeGreaterThanOrEqual(60);
    const c = claims(body.token);
    expect(c).toMatchObject({ sub: "acme-corp", aud: REGISTRY_SERVICE });
    // another organization's repository is left out
    expect(c.access).toEqual([{ type: "repository", name: "acme-corp/app", actions: ["pull", "push"] }]);
    const [h, p, s] = body.token.split(".") as [string, string, string];
    const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as { alg: string; x5c: string[] };
    expect(header.alg).toBe("RS256");
    const cert = new X509Certificate(readFileSync(issuer.rootCertBundleFile));
    expect(Buffer.from(header.x5c[0]!, "base64").equals(cert.raw)).toBe(true);
    expect(verify("sha256", Buffer.from(`${h}.${p}`), createPublicKey(cert.publicKey.export({ type: "spki", format: "pem" })), Buffer.from(s, "base64url"))).toBe(true);
    // the signing key is the plane's alone
    expect(statSync(path.join(dir, "registry", "token-signing.key")).mode & 0o077).toBe(0);
  });

  it("gives another organization's token nothing of the owner's, under either name", async () => {
    const own = claims(((await (await ask("scope=repository:acme-corp/app:pull", basic("other-org", OTHER_TOKEN))).json()) as { token: string }).token);
    expect(own.access).toEqual([]);
    const res = await ask("scope=repository:acme-corp/app:pull", basic("acme-corp", OTHER_TOKEN));
    expect(res.status).toBe(401);
    const text = await res.text();
    expect(text).not.toContain(OTHER_TOKEN);
  });

  it("answers hostile requests with a 4xx that echoes nothing, and serves on", async () => {
    const cases: [string, string | undefined, string, number][] = [
      ["no credentials", undefined, "GET", 401],
      ["not base64", "Basic !!!!", "GET", 401],
      ["no colon", `Basic ${Buffer.from("acme-corp").toString("base64")}`, "GET", 401],
      ["bearer instead of basic", `Bearer ${ACME_TOKEN}`, "GET", 401],
      ["user not an org name", basic("../../etc", ACME_TOKEN), "GET", 401],
      ["empty password", basic("acme-corp", ""), "GET", 401],
      ["POST", basic("acme-corp", ACME_TOKEN), "POST", 405],
    ];
    for (const [label, auth, method, code] of cases) {
      const res = await ask("scope=repository:acme-corp/app:pull", auth, method);
      expect(res.status, label).toBe(code);
      expect(await res.text(), label).not.toContain(ACME_TOKEN);
    }
    expect((await ask("service=evil&scope=repository:acme-corp/app:pull", basic("acme-corp", ACME_TOKEN))).status).toBe(400);
    expect((await ask(Array.from({ length: 17 }, (_, i) => `scope=repository:acme-corp/a${i}:pull`).join("&"), basic("acme-corp", ACME_TOKEN))).status).toBe(400);
    // garbage bytes on the socket, then a valid request still works
    await new Promise<void>((resolve) => {
      const s = net.connect((server.address() as AddressInfo).port, "127.0.0.1", () => s.end(Buffer.from([0, 1, 2, 255, 13, 10, 13, 10])));
      s.on("close", () => resolve());
      s.on("error", () => resolve());
      s.resume();
    });
    expect((await ask("scope=repository:acme-corp/app:pull", basic("acme-corp", ACME_TOKEN))).status).toBe(200);
  });

  it("never grants a repository outside the caller's organization, whatever the scope string", () => {
    const segment = fc.stringMatching(/^[a-z0-9._\-/:,*]{0,20}$/);
    fc.assert(
      fc.property(fc.array(fc.oneof(segment, segment.map((s) => `repository:${s}`), segment.map((s) => `repository:acme-corp${s}:pull,push,*`)), { maxLength: 6 }), (scopes) => {
        for (const a of RegistryTokenIssuer.grant("other-org", scopes)) {
          expect(a.name.split("/")[0]).toBe("other-org");
          expect(a.actions.every((x) => x === "pull" || x === "push")).toBe(true);
        }
        for (const a of RegistryTokenIssuer.grant("acme-corp", scopes)) expect(a.name.startsWith("acme-corp/")).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
