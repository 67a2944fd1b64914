// Identifiers the plane mints (ULIDs, organization ids) and the rule for names users pick.
import { createHash, randomBytes } from "node:crypto";
import { invalidArgument } from "./errors.js";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
let lastTime = -1;
let lastRand: number[] = [];

/** The ms timestamp a ULID was minted at (its first 10 characters); NaN for anything else. */
export function ulidTime(id: string): number {
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(id)) return NaN;
  let t = 0;
  for (const c of id.slice(0, 10)) t = t * 32 + CROCKFORD.indexOf(c);
  return t;
}

/** A ULID: 48-bit ms timestamp + 80 random bits, 26 Crockford base32 chars, monotonic within a ms. */
export function ulid(now: number = Date.now()): string {
  let rand: number[];
  if (now <= lastTime && lastRand.length === 16) {
    now = lastTime;
    rand = lastRand.slice();
    // increment the 80-bit random part (16 base32 digits)
    for (let i = 15; i >= 0; i--) {
      if (rand[i]! < 31) {
        rand[i] = rand[i]! + 1;
        break;
      }
      rand[i] = 0;
    }
  } else {
    const bytes = randomBytes(16);
    rand = Array.from(bytes, (b) => b & 31);
  }
  lastTime = now;
  lastRand = rand;
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  return time + rand.map((d) => CROCKFORD[d]).join("");
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Stable organization id derived from its name. */
export function organizationId(org: string): string {
  return "org_" + sha256Hex(org).slice(0, 16);
}

const NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;
export function isValidName(name: string): boolean {
  return NAME_RE.test(name);
}

export function checkOrgName(org: string): void {
  if (!isValidName(org)) {
    throw invalidArgument(`invalid organization name '${org}': use 1-63 lowercase letters, digits and '-', starting with a letter`);
  }
}
export function checkAppName(app: string): void {
  if (!app) throw invalidArgument("app name is required");
  if (!isValidName(app)) {
    throw invalidArgument(`invalid app name '${app}': use 1-63 lowercase letters, digits and '-', starting with a letter`);
  }
}
