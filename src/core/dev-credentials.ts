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

/** The item without its secret, for error messages. */
const shown = (item: string) => JSON.stringify(item.replace(/=.*/, "=…"));

/** Parses one `--token` value. */
export function parseTokenItem(item: string, where = "--token"): { org: string; token: string } {
  const m = TOKEN_RE.exec(item);
  if (!m) throw new UsageError(`invalid ${where} ${shown(item)}: use ORG=TOKEN with a lowercase org name`);
  return { org: m[1]!, token: m[2]! };
}

/** Parses one `--service-account` value. */
export function parseServiceAccountItem(item: string, where = "--service-account"): ServiceAccountCredential {
  const m = SERVICE_ACCOUNT_RE.exec(item);
  if (!m) throw new UsageError(`invalid ${where} ${shown(item)}: use ORG:ID=SECRET with a lowercase org name`);
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
    const where = `line ${i + 1} of ${source}`;
    if (SERVICE_ACCOUNT_RE.test(line)) out.serviceAccounts.push(parseServiceAccountItem(line, where));
    else {
      const { org, token } = parseTokenItem(line, where);
      out.tokens[token] = org;
    }
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
