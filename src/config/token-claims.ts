/**
 * Reads the claims of a JWT access token without verifying it: the CLI only uses them to decide
 * when to renew (`exp`) and which organization to default to. The server verifies every token.
 */
export interface TokenClaims {
  /** Expiry, seconds since the epoch. */
  exp?: number;
  /** Issued at, seconds since the epoch. */
  iat?: number;
  /** The organization the token carries (reference §2.5 shapes), if exactly one. */
  org?: string;
}

/** The claims of a JWT, or undefined for anything that is not one (an opaque static token). */
export function decodeTokenClaims(token: string | undefined): TokenClaims | undefined {
  if (!token) return undefined;
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[1]) return undefined;
  let claims: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return undefined;
    claims = parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const out: TokenClaims = {};
  if (typeof claims.exp === "number") out.exp = claims.exp;
  if (typeof claims.iat === "number") out.iat = claims.iat;
  const org = orgFromClaims(claims);
  if (org) out.org = org;
  return out;
}

/**
 * `organization: { "<org-name>": { id } }` (one key), else flat `org_name`, else `org_id`.
 */
function orgFromClaims(claims: Record<string, unknown>): string | undefined {
  const map = claims.organization;
  if (map && typeof map === "object" && !Array.isArray(map)) {
    const names = Object.keys(map);
    if (names.length === 1) return names[0];
  }
  for (const key of ["org_name", "org_id"]) {
    const value = claims[key];
    if (typeof value === "string" && value !== "") return value;
  }
  return undefined;
}

/**
 * True when the token should be renewed before a call: it has expired or will within a margin
 * (30 s, or a quarter of its lifetime for short-lived tokens).
 */
export function needsRenewal(claims: TokenClaims | undefined, nowMs = Date.now()): boolean {
  if (claims?.exp === undefined) return false;
  const lifetime = claims.iat !== undefined ? claims.exp - claims.iat : 3600;
  const marginS = Math.min(30, Math.max(0, lifetime / 4));
  return nowMs / 1000 >= claims.exp - marginS;
}
