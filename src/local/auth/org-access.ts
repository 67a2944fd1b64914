/**
 * The one rule for who may act on which organization, asked by the gRPC handlers and the HTTP
 * gateway alike: a bearer token acts for one organization (a static token, or a JWT the token
 * authority issued), and a request naming another organization is refused.
 */
import type { TokenAuthority } from "./token-authority.js";

export { bearerCredential } from "./token-authority.js";
import { permissionDenied, unauthenticated } from "../errors.js";
import { checkOrgName } from "../ids.js";

export class OrgAccess {
  constructor(
    private readonly tokens: Readonly<Record<string, string>>,
    /** Verifies issued JWTs as well as the static tokens; absent: static tokens only. */
    private readonly authority?: TokenAuthority,
  ) {}

  /** The organization `token` acts for; UNAUTHENTICATED when it is missing or not valid. */
  orgOf(token: string | undefined): string {
    if (!token) throw unauthenticated("missing bearer token");
    if (this.authority) return this.authority.orgFor(token);
    const org = this.tokens[token];
    if (!org) throw unauthenticated("invalid token");
    return org;
  }

  /** The token's organization when it may act on `requested` (empty: its own); PERMISSION_DENIED otherwise. */
  scope(token: string | undefined, requested: string): string {
    const org = this.orgOf(token);
    if (!requested) return org;
    checkOrgName(requested);
    if (requested !== org) throw permissionDenied(`token for org ${org} may not access org ${requested}`);
    return org;
  }
}
