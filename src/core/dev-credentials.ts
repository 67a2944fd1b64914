/**
 * The credentials a local control plane accepts (`dodil ignite dev`): static tokens `ORG=TOKEN` and
 * service accounts `ORG:ID=SECRET`, from a file (--token-file), an environment variable
 * (IGNITE_DEV_TOKENS) or flags. Flags are readable by every local user (`ps`, /proc/<pid>/cmdline);
 * a 0600 file and the environment (/proc/<pid>/environ is the owner's only) are not.
 */
import { promises as fsp } from "node:fs";
import { UsageError } from "../errors.js";

const ORG = "[a-z][a-z0-9-]{0,62}";
const TOKEN_RE = new RegExp(`^(${ORG})=(\\S+)$`);
const SERVICE_ACCOUNT_RE = new RegExp(`^(${ORG}):([A-Za-z0-9._@-]{1,128})=(\\S+)$`);

export interface ServiceAccountCredential {
  org: string;
  id: string;
  secret: string;
}

export interface DevCredentials {
  /** token -> organization */
  tokens: Record<string, string>;
  serviceAccounts: ServiceAccountCredential[];
}

/** The item without its secret, for error messages (an item without '=' may be all secret). */
const shown = (item: string) => (item.includes("=") ? JSON.stringify(item.replace(/=.*/, "=…")) : "(value not shown)");

/** Parses one `--token` value. */
export function parseTokenItem(item: string): { org: string; token: string } {
  const m = TOKEN_RE.exec(item);
  if (!m) throw new UsageError(`invalid --token ${shown(item)}: use ORG=TOKEN with a lowercase org name`);
  return { org: m[1]!, token: m[2]! };
}

/** Parses one `--service-account` value. */
export function parseServiceAccountItem(item: string): ServiceAccountCredential {
  const m = SERVICE_ACCOUNT_RE.exec(item);
  if (!m) throw new UsageError(`invalid --service-account ${shown(item)}: use ORG:ID=SECRET with a lowercase org name`);
  return { org: m[1]!, id: m[2]!, secret: m[3]! };
}

/**
 * Credential lines (a --token-file or $IGNITE_DEV_TOKENS): one `ORG=TOKEN` or `ORG:ID=SECRET` a line;
 * blank lines and `#` comments are skipped.
 */
export function parseCredentialLines(text: string, source: string): DevCredentials {
  const out: DevCredentials = { tokens: {}, serviceAccounts: [] };
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const sa = SERVICE_ACCOUNT_RE.exec(line);
    const token = TOKEN_RE.exec(line);
    // the line is not shown: a malformed line is still likely to hold a secret
    if (sa) out.serviceAccounts.push({ org: sa[1]!, id: sa[2]!, secret: sa[3]! });
    else if (token) out.tokens[token[2]!] = token[1]!;
    else throw new UsageError(`invalid line ${i + 1} of ${source}: use ORG=TOKEN or ORG:ID=SECRET with a lowercase org name`);
  });
  return out;
}

/** Reads a --token-file: a regular file that only its owner can read (mode 0600 or 0400). */
export async function readCredentialFile(file: string): Promise<DevCredentials> {
  let st;
  try {
    st = await fsp.stat(file);
  } catch (e) {
    throw new UsageError(`cannot read --token-file ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  if (!st.isFile()) throw new UsageError(`--token-file ${file} is not a regular file`);
  if (st.mode & 0o077) {
    throw new UsageError(`--token-file ${file} is readable by other users (mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}); it holds secrets: chmod 600 ${file}`);
  }
  return parseCredentialLines(await fsp.readFile(file, "utf8"), `--token-file ${file}`);
}

/** Merges credential sets; a token given twice for different organizations is refused. */
export function mergeCredentials(sets: readonly DevCredentials[]): DevCredentials {
  const out: DevCredentials = { tokens: {}, serviceAccounts: [] };
  for (const s of sets) {
    for (const [token, org] of Object.entries(s.tokens)) {
      const before = out.tokens[token];
      if (before !== undefined && before !== org) throw new UsageError(`one token is given for two organizations (${before} and ${org})`);
      out.tokens[token] = org;
    }
    out.serviceAccounts.push(...s.serviceAccounts);
  }
  return out;
}
