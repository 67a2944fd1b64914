import { describe, expect, it } from "vitest";
import { decodeTokenClaims, needsRenewal } from "../../src/config/token-claims.js";
import { resolveSettings } from "../../src/config/settings.js";
import { TokenAuthority } from "../../src/local/auth/token-authority.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { tempDir } from "../helpers/temp-dirs.js";

const jwt = (claims: object) => `${Buffer.from('{"alg":"HS256"}').toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.sig`;

describe("token claims (read, not verified, by the CLI)", () => {
  it("takes the org from each shape the platform's tokens use", () => {
    expect(decodeTokenClaims(jwt({ organization: { "acme-corp": { id: "org_1" } }, exp: 10 }))).toEqual({ org: "acme-corp", exp: 10 });
    expect(decodeTokenClaims(jwt({ org_name: "beta", org_id: "org_2" }))?.org).toBe("beta");
    expect(decodeTokenClaims(jwt({ org_id: "org_3" }))?.org).toBe("org_3");
    expect(decodeTokenClaims(jwt({ organization: { a: {}, b: {} } }))?.org).toBeUndefined();
  });

  it("ignores opaque tokens and garbage", () => {
    expect(decodeTokenClaims("tok-acme-0123456789")).toBeUndefined();
    expect(decodeTokenClaims("a.b.c")).toBeUndefined();
    expect(decodeTokenClaims(undefined)).toBeUndefined();
  });

  it("renews within a margin of expiry: 30 s, or a quarter of a short lifetime", () => {
    const now = 1_000_000_000_000;
    const s = now / 1000;
    expect(needsRenewal({ iat: s - 10, exp: s + 3600 }, now)).toBe(false);
    expect(needsRenewal({ iat: s - 3600, exp: s + 29 }, now)).toBe(true);
    expect(needsRenewal({ iat: s - 1, exp: s + 3 }, now)).toBe(false);
    expect(needsRenewal({ iat: s - 3, exp: s + 0.5 }, now)).toBe(true);
    expect(needsRenewal({ exp: s - 1 }, now)).toBe(true);
    expect(needsRenewal(undefined, now)).toBe(false);
  });

  it("settings take the default org from the token only when none is configured", () => {
    const token = jwt({ organization: { "acme-corp": { id: "x" } } });
    expect(resolveSettings({ flags: { token }, env: {} }).org).toEqual({ value: "acme-corp", source: "token claim (--token)" });
    expect(resolveSettings({ flags: { token, org: "other" }, env: {} }).org).toEqual({ value: "other", source: "--org" });
    expect(resolveSettings({ flags: {}, env: { IGNITE_TOKEN: "opaque" } }).org.value).toBeUndefined();
  });

  it("settings resolve the CA certificate and token URL with provenance", () => {
    const s = resolveSettings({ flags: { caCert: "/a.pem" }, env: { IGNITE_CA_CERT: "/b.pem", IGNITE_TOKEN_URL: "https://id.example/token" } });
    expect(s.caCert).toEqual({ value: "/a.pem", source: "--ca-cert" });
    expect(s.tokenUrl).toEqual({ value: "https://id.example/token", source: "$IGNITE_TOKEN_URL" });
    expect(resolveSettings({ flags: {}, env: { IGNITE_CA_CERT: "/b.pem" } }).caCert.source).toBe("$IGNITE_CA_CERT");
    expect(resolveSettings({ flags: {}, env: {} }).tokenUrl.source).toBe("default");
  });
});

describe("the local control plane's token authority", () => {
  const open = async (lifetime = 3600, clock = new FakeClock()) =>
    TokenAuthority.open({
      dataDir: tempDir("auth"),
      tokens: { "static-token-0123456789": "acme-corp" },
      serviceAccounts: [{ id: "ci", org: "acme-corp", secret: "s3cret-s3cret" }],
      tokenLifetimeSeconds: lifetime,
      clock,
    });

  it("issues JWTs for good credentials only, carrying the org", async () => {
    const authority = await open();
    expect(authority.issue("ci", "wrong")).toBeUndefined();
    expect(authority.issue("nobody", "s3cret-s3cret")).toBeUndefined();
    const issued = authority.issue("ci", "s3cret-s3cret")!;
    expect(issued.expiresIn).toBe(3600);
    expect(decodeTokenClaims(issued.accessToken)?.org).toBe("acme-corp");
    expect(authority.orgFor(issued.accessToken)).toBe("acme-corp");
    expect(authority.orgFor("static-token-0123456789")).toBe("acme-corp");
  });

  it("refuses tampered, unsigned, foreign and expired tokens with UNAUTHENTICATED", async () => {
    const clock = new FakeClock();
    const authority = await open(1, clock);
    const token = authority.issue("ci", "s3cret-s3cret")!.accessToken;
    const [h, p, sig] = token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, "base64url").toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, organization: { other: {} } })).toString("base64url")}.${sig}`;
    const unsigned = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${p}.`;
    const foreign = (await open()).issue("ci", "s3cret-s3cret")!.accessToken;
    for (const bad of [forged, unsigned, foreign, "nope", `${h}.${p}.${sig.slice(0, -2)}`]) {
      expect(() => authority.orgFor(bad)).toThrow(expect.objectContaining({ code: 16 }));
    }
    const old = authority.issue("ci", "s3cret-s3cret")!.accessToken;
    expect(authority.orgFor(old)).toBe("acme-corp");
    // exp is in whole seconds after iat: valid until the second after the lifetime began
    clock.advance(1_000 - (clock.now() % 1_000));
    expect(() => authority.orgFor(old)).toThrow(/token expired/);
  });
});
