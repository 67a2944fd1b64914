/**
 * The Docker registry token endpoint (distribution's `auth: token`, docs spec/auth/token.md and
 * jwt.md) served by the plane's token server: `GET REGISTRY_TOKEN_PATH?service=…&scope=…` with HTTP
 * Basic `<org>:<token>`, where the token is any the plane accepts for that organization (a static
 * token or an issued JWT). It answers a short-lived RS256 JWT granting pull/push on
 * `repository:<org>/…` only; every other scope is left out, so the registry refuses another
 * organization's repositories and the catalog. The signing key and its self-signed certificate
 * (the registry's rootcertbundle) are created once under the registry dir, 0600.
 *
 * The plane itself pushes and pulls with a per-run secret that exists only in memory: Basic
 * `<org>:<plane secret>` grants the same scope as the org's own token.
 */
import { createPrivateKey, randomBytes, sign, timingSafeEqual, X509Certificate, type KeyObject } from "node:crypto";
import { promises as fsp } from "node:fs";
import type * as http from "node:http";
import * as path from "node:path";
import { atomicWrite } from "../atomic-fs.js";
import { generateCertificate } from "../auth/tls.js";
import type { Clock } from "../../clock.js";
import { checkOrgName, ulid } from "../ids.js";

export const REGISTRY_TOKEN_PATH = "/v2/token";
/** The `service` and `aud` the registry is configured with. */
export const REGISTRY_SERVICE = "dodil-ignite-registry";
export const REGISTRY_TOKEN_ISSUER = "dodil-ignite-local";
/** Lifetime of a registry token: the spec's minimum is 60 s; a push of a large image re-asks. */
const TOKEN_LIFETIME_SECONDS = 300;
/** At most this many scope parameters per request (a pull asks for one, a cross-repo push two). */
const MAX_SCOPES = 16;
const GRANTABLE = new Set(["pull", "push"]);

export interface RegistryTokenOptions {
  /** Where the signing key and certificate live (created 0700). */
  dir: string;
  /** The organization a token acts for; throws when the token is not valid (OrgAccess.orgOf). */
  orgOf: (token: string) => string;
  clock: Clock;
  log: (line: string) => void;
}

interface Access {
  type: "repository";
  name: string;
  actions: string[];
}

export class RegistryTokenIssuer {
  /** The plane's own password for any `<org>` user; never written anywhere. */
  private readonly planeSecret = randomBytes(32).toString("hex");

  private constructor(
    private readonly key: KeyObject,
    private readonly certDer: Buffer,
    /** The certificate the registry verifies tokens with (its `rootcertbundle`). */
    readonly rootCertBundleFile: string,
    private readonly o: RegistryTokenOptions,
  ) {}

  static async open(o: RegistryTokenOptions): Promise<RegistryTokenIssuer> {
    await fsp.mkdir(o.dir, { recursive: true, mode: 0o700 });
    const keyFile = path.join(o.dir, "token-signing.key");
    const certFile = path.join(o.dir, "token-signing.crt");
    let pair: { key: string; cert: string } | undefined;
    try {
      pair = { key: await fsp.readFile(keyFile, "utf8"), cert: await fsp.readFile(certFile, "utf8") };
      if (Date.parse(new X509Certificate(pair.cert).validTo) < Date.now() + 24 * 3600_000) pair = undefined;
    } catch {
      pair = undefined;
    }
    if (!pair) {
      pair = generateCertificate({ commonName: "dodil ignite local registry token issuer", isCA: true });
      await atomicWrite(keyFile, pair.key);
      await atomicWrite(certFile, pair.cert);
    }
    return new RegistryTokenIssuer(createPrivateKey(pair.key), Buffer.from(new X509Certificate(pair.cert).raw), certFile, o);
  }

  /** Basic credentials the plane uses for `org`'s repositories (push after a build, pull back). */
  planeCredentials(org: string): { username: string; password: string } {
    return { username: org, password: this.planeSecret };
  }

  /**
   * A token for the plane's own use, in process only: `delete` on one repository (manifests of
   * builds the disk collector removes). The token endpoint never grants `delete`.
   */
  planeDeleteToken(repository: string): string {
    const org = repository.split("/")[0]!;
    checkOrgName(org);
    return this.token(org, [{ type: "repository", name: repository, actions: ["delete"] }]);
  }

  /** The organization Basic credentials stand for, or undefined (wrong, malformed, or none). */
  private authenticate(header: string | undefined): string | undefined {
    const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
    if (!m) return undefined;
    const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) return undefined;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    try {
      checkOrgName(user);
    } catch {
      return undefined;
    }
    const given = Buffer.from(password);
    const plane = Buffer.from(this.planeSecret);
    if (given.length === plane.length && timingSafeEqual(given, plane)) return user;
    let org: string;
    try {
      org = this.o.orgOf(password);
    } catch {
      return undefined;
    }
    // The user name is the organization: a token of org B named as user A is refused, not mapped.
    return org === user ? org : undefined;
  }

  /** What `org` is granted of the requested scopes: pull/push on its own repositories only. */
  static grant(org: string, scopes: string[]): Access[] {
    const out: Access[] = [];
    for (const scope of scopes) {
      for (const one of scope.split(" ")) {
        const m = /^repository:([a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+):([a-z*,]+)$/.exec(one);
        if (!m) continue;
        const name = m[1]!;
        if (name.split("/")[0] !== org) continue;
        const actions = m[2]!.split(",").filter((a) => GRANTABLE.has(a));
        if (actions.length) out.push({ type: "repository", name, actions: [...new Set(actions)] });
      }
    }
    return out;
  }

  private token(org: string, access: Access[]): string {
    const iat = Math.floor(this.o.clock.now() / 1000);
    const header = { typ: "JWT", alg: "RS256", x5c: [this.certDer.toString("base64")] };
    const claims = { iss: REGISTRY_TOKEN_ISSUER, sub: org, aud: REGISTRY_SERVICE, iat, nbf: iat - 5, exp: iat + TOKEN_LIFETIME_SECONDS, jti: ulid(), access };
    const input = `${Buffer.from(JSON.stringify(header)).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
    return `${input}.${sign("sha256", Buffer.from(input), this.key).toString("base64url")}`;
  }

  /** The token server's handler for REGISTRY_TOKEN_PATH. */
  readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const reply = (code: number, body: Record<string, unknown>, extra: Record<string, string> = {}) => {
      if (res.headersSent || res.destroyed) return;
      const text = JSON.stringify(body) + "\n";
      res.writeHead(code, { "content-type": "application/json", "cache-control": "no-store", "content-length": Buffer.byteLength(text), ...extra });
      res.end(text);
    };
    // Registry clients read `errors`; the message never echoes what was sent.
    const refuse = (code: number, message: string, extra: Record<string, string> = {}) => reply(code, { errors: [{ code: code === 401 ? "UNAUTHORIZED" : "DENIED", message }] }, extra);
    req.resume();
    if (req.method !== "GET" && req.method !== "HEAD") return refuse(405, "use GET", { allow: "GET" });
    let query: URLSearchParams;
    try {
      query = new URL(req.url ?? "/", "http://registry-token.invalid").searchParams;
    } catch {
      return refuse(400, "malformed request URL");
    }
    const service = query.get("service");
    if (service !== null && service !== REGISTRY_SERVICE) return refuse(400, `unknown service (this endpoint issues tokens for ${REGISTRY_SERVICE})`);
    const scopes = query.getAll("scope");
    if (scopes.length > MAX_SCOPES) return refuse(400, `at most ${MAX_SCOPES} scope parameters`);
    const org = this.authenticate(req.headers.authorization);
    if (!org) {
      this.o.log("registry token endpoint: refused credentials");
      return refuse(401, "authentication required: Basic <organization>:<token>", { "www-authenticate": 'Basic realm="dodil-ignite-registry"' });
    }
    const access = RegistryTokenIssuer.grant(org, scopes);
    const token = this.token(org, access);
    reply(200, { token, access_token: token, expires_in: TOKEN_LIFETIME_SECONDS, issued_at: new Date(this.o.clock.now()).toISOString() });
  };
}
