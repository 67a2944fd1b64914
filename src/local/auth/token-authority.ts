/**
 * Auth for the local control plane, shaped like the platform's: service accounts get short-lived
 * JWTs from an OAuth2 token endpoint (client-credentials grant, form POST), and every authenticated
 * RPC derives the caller's organization from the verified token's claims. Static `--token ORG=TOKEN`
 * tokens still work alongside.
 *
 * Tokens are HS256 JWTs signed with a key kept in `<data-dir>/auth/jwt-hs256.key` (0600), so tokens
 * survive a restart; `exp` is enforced; anything that does not verify is UNAUTHENTICATED.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import { systemClock, type Clock } from "../../clock.js";
import { unauthenticated } from "../errors.js";
import { checkOrgName } from "../ids.js";
import { atomicWrite, readJson, writeJson } from "../atomic-fs.js";
import { organizationId, ulid } from "../ids.js";

export const TOKEN_PATH = "/oauth/token";
/** The largest form body the token endpoint reads; a client-credentials form is well under 1 KiB. */
const MAX_FORM_BYTES = 64 * 1024;
export const JWT_ISSUER = "dodil-ignite-local";
export const JWT_AUDIENCE = "ignite";
const SCOPES = "DeployApp InvokeApp GetExecution GetSecret";

export interface ServiceAccount {
  id: string;
  org: string;
  secret: string;
}

export interface AuthorityOptions {
  dataDir: string;
  /** Static bearer tokens: token -> organization. */
  tokens: Record<string, string>;
  serviceAccounts: ServiceAccount[];
  /** Lifetime of issued access tokens (default 3600 s). */
  tokenLifetimeSeconds?: number;
  /** When tokens are issued and when they expire (default the system clock). */
  clock?: Clock;
}

/** What the authority checks tokens against, fixed when it opens. */
interface AuthorityRules {
  tokens: Record<string, string>;
  accounts: Map<string, { org: string; secretHash: Buffer }>;
  lifetimeSeconds: number;
  clock: Clock;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/**
 * The credential of an `Authorization: Bearer <credential>` value, or undefined when the value is
 * not the Bearer scheme or carries no credential. Anything after the scheme is the credential, spaces
 * included: "Bearer a b" is an invalid token, not a missing one.
 */
export function bearerCredential(value: string | undefined): string | undefined {
  const m = /^\s*bearer(?:\s+(.*?))?\s*$/is.exec(value ?? "");
  return m?.[1] ? m[1] : undefined;
}

/** Issues and verifies the control plane's tokens. */
export class TokenAuthority {
  private constructor(
    private readonly key: Buffer,
    private readonly rules: AuthorityRules,
  ) {}

  static async open(o: AuthorityOptions): Promise<TokenAuthority> {
    const dir = path.join(o.dataDir, "auth");
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const keyFile = path.join(dir, "jwt-hs256.key");
    let key: Buffer;
    try {
      key = Buffer.from((await fsp.readFile(keyFile, "utf8")).trim(), "base64");
      if (key.length < 32) throw new Error("short key");
    } catch {
      key = randomBytes(32);
      await atomicWrite(keyFile, key.toString("base64") + "\n");
    }
    const accounts = new Map<string, { org: string; secretHash: Buffer }>();
    for (const a of o.serviceAccounts) {
      if (!a.id || !a.secret || /\s/.test(a.id + a.secret)) throw new Error("service account ids and secrets must be non-empty and contain no whitespace");
      checkOrgName(a.org);
      accounts.set(a.id, { org: a.org, secretHash: sha256(a.secret) });
    }
    const lifetime = o.tokenLifetimeSeconds ?? 3600;
    if (!(lifetime >= 1)) throw new Error("the token lifetime must be at least 1 second");
    return new TokenAuthority(key, { tokens: { ...o.tokens }, accounts, lifetimeSeconds: Math.floor(lifetime), clock: o.clock ?? systemClock });
  }

  get serviceAccountIds(): string[] {
    return [...this.rules.accounts.keys()];
  }

  /** The client-credentials grant: the account's org in a signed JWT, or undefined for bad credentials. */
  issue(clientId: string, clientSecret: string): { accessToken: string; expiresIn: number; org: string } | undefined {
    const { accounts, lifetimeSeconds, clock } = this.rules;
    const account = accounts.get(clientId);
    const given = sha256(clientSecret);
    // Compare even for an unknown id, so timing does not tell which ids exist.
    const ok = timingSafeEqual(given, account?.secretHash ?? sha256(randomBytes(16).toString("hex"))) && account !== undefined;
    if (!ok || !account) return undefined;
    const iat = Math.floor(clock.now() / 1000);
    const claims = {
      iss: JWT_ISSUER,
      sub: `service-account-${clientId}`,
      azp: clientId,
      aud: JWT_AUDIENCE,
      iat,
      exp: iat + lifetimeSeconds,
      jti: ulid(),
      scope: SCOPES,
      // The shape the platform's tokens carry (reference §2.5).
      organization: { [account.org]: { id: organizationId(account.org) } },
    };
    const signingInput = `${b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64url(JSON.stringify(claims))}`;
    const signature = createHmac("sha256", this.key).update(signingInput).digest();
    return { accessToken: `${signingInput}.${b64url(signature)}`, expiresIn: lifetimeSeconds, org: account.org };
  }

  /** The organization a bearer token stands for; throws UNAUTHENTICATED otherwise. */
  orgFor(token: string): string {
    const fixed = this.rules.tokens[token];
    if (fixed) return fixed;
    const parts = token.split(".");
    if (parts.length !== 3) throw unauthenticated("invalid token");
    const [header, payload, signature] = parts as [string, string, string];
    let alg: unknown;
    try {
      alg = (JSON.parse(Buffer.from(header, "base64url").toString("utf8")) as { alg?: unknown }).alg;
    } catch {
      throw unauthenticated("invalid token");
    }
    // Only our own algorithm: never "none", never a key chosen by the token.
    if (alg !== "HS256") throw unauthenticated("invalid token: unsupported signature algorithm");
    const expected = createHmac("sha256", this.key).update(`${header}.${payload}`).digest();
    const given = Buffer.from(signature, "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw unauthenticated("invalid token: bad signature");
    let claims: { exp?: unknown; iss?: unknown; organization?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as typeof claims;
    } catch {
      throw unauthenticated("invalid token");
    }
    if (claims.iss !== JWT_ISSUER) throw unauthenticated("invalid token: unknown issuer");
    if (typeof claims.exp !== "number" || claims.exp * 1000 <= this.rules.clock.now()) throw unauthenticated("token expired: log in again (`dodil login`) or renew it");
    const orgs = claims.organization && typeof claims.organization === "object" ? Object.keys(claims.organization) : [];
    if (orgs.length !== 1) throw unauthenticated("invalid token: no organization claim");
    return orgs[0] as string;
  }
}

/**
 * Service accounts when none were configured: one for org `local`, created once and kept in
 * `<data-dir>/auth/service-accounts.json` (0600), like the generated token.
 */
export async function generatedServiceAccounts(dataDir: string): Promise<ServiceAccount[]> {
  const file = path.join(dataDir, "auth", "service-accounts.json");
  const saved = await readJson<{ accounts: ServiceAccount[] }>(file);
  if (saved?.accounts?.length) return saved.accounts;
  const accounts = [{ id: "local-dev", org: "local", secret: `igs_${randomBytes(24).toString("hex")}` }];
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeJson(file, { accounts });
  await fsp.chmod(file, 0o600);
  return accounts;
}

/**
 * The static bearer tokens (token -> org): the given ones, checked; none given: one for org `local`,
 * created once and kept in `<data-dir>/tokens.json` (0600).
 */
export async function resolveTokens(dataDir: string, given: Record<string, string>): Promise<Record<string, string>> {
  if (Object.keys(given).length > 0) {
    for (const [t, org] of Object.entries(given)) {
      if (!t || /\s/.test(t)) throw new Error("tokens must be non-empty and contain no whitespace");
      checkOrgName(org);
    }
    return { ...given };
  }
  const file = path.join(dataDir, "tokens.json");
  const saved = await readJson<{ tokens: Record<string, string> }>(file);
  if (saved && Object.keys(saved.tokens ?? {}).length) return saved.tokens;
  const token = `igt_local_${randomBytes(20).toString("hex")}`;
  const tokens = { [token]: "local" };
  await writeJson(file, { tokens });
  await fsp.chmod(file, 0o600);
  return tokens;
}

/**
 * The OAuth2 token endpoint (RFC 6749 §4.4): POST `TOKEN_PATH` with a form body `grant_type=
 * client_credentials`, `client_id`, `client_secret` (or HTTP Basic client auth). HTTPS when the
 * control plane serves TLS.
 */
export function createTokenServer(
  authority: TokenAuthority,
  tls: { cert: string; key: string } | undefined,
  log: (line: string) => void,
  /** Further endpoints on the same listener, by exact path (the registry's token endpoint). */
  routes: Record<string, http.RequestListener> = {},
): http.Server {
  // Each request is its own error boundary: whatever one request does (a bad encoding, a client
  // that hangs up mid-body, a bug), it gets its 4xx/500 and a log line, and the listener serves on.
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const reply = (code: number, body: Record<string, unknown>, extra: Record<string, string> = {}) => {
      if (res.headersSent || res.destroyed) return;
      const text = JSON.stringify(body) + "\n";
      res.writeHead(code, { "content-type": "application/json", "cache-control": "no-store", pragma: "no-cache", "content-length": Buffer.byteLength(text), ...extra });
      res.end(text);
    };
    const refuse = (code: number, error: string, description: string) => {
      log(`token endpoint: ${req.method} ${printable(req.url ?? "")} -> ${code} ${error} (${description})`);
      reply(code, { error, error_description: description });
    };
    const guarded = (step: () => void) => {
      try {
        step();
      } catch (e) {
        log(`token endpoint: internal error on ${req.method} ${printable(req.url ?? "")}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        reply(500, { error: "server_error", error_description: "internal error" });
      }
    };
    req.on("error", () => res.destroy());
    guarded(() => {
      const pathname = (req.url ?? "/").split("?")[0] ?? "/";
      const route = Object.hasOwn(routes, pathname) ? routes[pathname] : undefined;
      if (route) return void route(req, res);
      if (pathname !== TOKEN_PATH) return refuse(404, "not_found", `the token endpoint is POST ${TOKEN_PATH}`);
      if (req.method !== "POST") {
        log(`token endpoint: ${req.method} ${TOKEN_PATH} -> 405`);
        return reply(405, { error: "invalid_request", error_description: "use POST" }, { allow: "POST" });
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      req.on("data", (c: Buffer) => {
        if (tooLarge) return;
        size += c.length;
        if (size <= MAX_FORM_BYTES) return void chunks.push(c);
        // Answer now and read the rest into nothing: destroying the socket would reset it before
        // the client read the 413. Node's request timeout bounds a client that never stops.
        tooLarge = true;
        chunks.length = 0;
        refuse(413, "invalid_request", `the form body is over ${MAX_FORM_BYTES} bytes`);
      });
      req.on("end", () => guarded(() => tooLarge || grant(Buffer.concat(chunks).toString("utf8"))));
    });

    const grant = (body: string) => {
      const form = new URLSearchParams(body);
      let clientId = form.get("client_id") ?? "";
      let clientSecret = form.get("client_secret") ?? "";
      const basic = /^\s*basic\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
      if (basic) {
        // RFC 6749 §2.3.1: the id and secret are form-urlencoded before they are put in Basic.
        const credentials = basicCredentials(basic[1] as string);
        if (!credentials) return refuse(400, "invalid_request", "the Basic credentials are not base64 of form-urlencoded client_id:client_secret");
        ({ clientId, clientSecret } = credentials);
      }
      const grantType = form.get("grant_type");
      if (grantType !== "client_credentials") return refuse(400, "unsupported_grant_type", "only grant_type=client_credentials is supported");
      if (!clientId || !clientSecret) return refuse(400, "invalid_request", "client_id and client_secret are required");
      const issued = authority.issue(clientId, clientSecret);
      if (!issued) {
        log(`token endpoint: rejected credentials for client '${printable(clientId).slice(0, 64)}'`);
        return reply(401, { error: "invalid_client", error_description: "invalid client credentials" }, { "www-authenticate": 'Basic realm="ignite"' });
      }
      log(`token endpoint: issued a ${issued.expiresIn}s token to '${printable(clientId)}' (org ${issued.org})`);
      reply(200, { access_token: issued.accessToken, token_type: "Bearer", expires_in: issued.expiresIn, scope: SCOPES });
    };
  };
  return tls ? https.createServer({ cert: tls.cert, key: tls.key }, handler) : http.createServer(handler);
}

/** The client id and secret of an HTTP Basic value, or undefined when it is not base64 of form-urlencoded `id:secret`. */
function basicCredentials(value: string): { clientId: string; clientSecret: string } | undefined {
  const decoded = Buffer.from(value, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) return undefined;
  try {
    return { clientId: decodeURIComponent(decoded.slice(0, colon)), clientSecret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    return undefined; // a malformed percent-encoding (URIError): the caller's mistake, a 400
  }
}

/** A client-supplied string as it may appear in one log line: no control characters, bounded. */
function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, "?").slice(0, 200);
}
