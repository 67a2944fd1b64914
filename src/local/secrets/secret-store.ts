/**
 * Secret slots (SecretService) and org-wide build credentials (BuildService.SaveBuildSecrets).
 * Stored per org under the data dir, one JSON file per slot, written atomically with mode 0600:
 *
 *   orgs/<org>/secrets/<name>.json     { name, type, createdAtMs, updatedAtMs, value }
 *   orgs/<org>/build-secrets.json      { registryCredentials, gitCredentials?, buildSecrets }
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { create, fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { SecretMetadataSchema, SecretValueSchema, type SecretMetadata, type SecretValue } from "../../gen/dodil/ignite/v1/secret_pb.js";
import type { Clock } from "../../clock.js";
import { failedPrecondition, invalidArgument, notFound } from "../errors.js";
import { writeJson } from "../atomic-fs.js";
import { checkBuildSecrets, checkSecret } from "../store/record-checks.js";
import { InvalidRecord, type Quarantine } from "../store/quarantine.js";

export type SecretType = "git_secret" | "registry_secret";

interface SecretFile {
  name: string;
  type: SecretType;
  createdAtMs: number;
  updatedAtMs: number;
  value: JsonValue;
}

export interface BuildSecrets {
  registryCredentials: Record<string, string>;
  gitCredentials?: { username: string; password: string };
  buildSecrets: Record<string, string>;
}

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function checkSecretName(name: string, what = "secret name"): void {
  if (!NAME_RE.test(name)) throw invalidArgument(`invalid ${what} '${name}': use 1-64 letters, digits, '-' or '_'`);
}

export class SecretStore {
  constructor(
    private dataDir: string,
    private quarantine: Quarantine,
    /** Stamps createdAtMs/updatedAtMs (src/clock.ts). */
    private clock: Pick<Clock, "now">,
  ) {}

  /** A slot file, checked: one that is torn or malformed is quarantined (and named in the log), never silently skipped. */
  private read(file: string): Promise<SecretFile | undefined> {
    return this.quarantine.read(file, (v) => {
      const r = checkSecret<SecretFile>(v);
      try {
        fromJson(SecretValueSchema, r.value);
      } catch (e) {
        throw new InvalidRecord(`field 'value' is not a secret value: ${e instanceof Error ? e.message : String(e)}`);
      }
      return r;
    });
  }

  /** Reads every slot and build-credentials file of `orgs` once (start-up), quarantining bad ones. */
  async checkAll(orgs: string[]): Promise<void> {
    for (const org of orgs) {
      await this.list(org);
      await this.buildSecrets(org);
    }
  }

  private dir(org: string): string {
    return path.join(this.dataDir, "orgs", org, "secrets");
  }
  private file(org: string, name: string): string {
    return path.join(this.dir(org), `${name}.json`);
  }

  private async write(file: string, value: unknown): Promise<void> {
    await writeJson(file, value); // temp file is created 0600 and renamed
    await fsp.chmod(file, 0o600);
  }

  async create(org: string, name: string, value: SecretValue | undefined): Promise<SecretMetadata> {
    checkSecretName(name);
    if (!value?.value.case) throw invalidArgument("value is required: set value.git_secret or value.registry_secret");
    const type: SecretType = value.value.case === "gitSecret" ? "git_secret" : "registry_secret";
    if (value.value.case === "gitSecret") {
      if (!value.value.value.token) throw invalidArgument("git_secret.token is required");
    } else {
      const r = value.value.value;
      if (!r.username || !r.password) throw invalidArgument("registry_secret.username and registry_secret.password are required");
      if (/[\s/]/.test(r.serverAddress.replace(/^https?:\/\//, "").replace(/\/+$/, ""))) {
        throw invalidArgument(`invalid registry_secret.server_address '${r.serverAddress}'`);
      }
    }
    const prev = await this.read(this.file(org, name));
    const now = this.clock.now();
    const rec: SecretFile = { name, type, createdAtMs: prev?.createdAtMs ?? now, updatedAtMs: now, value: toJson(SecretValueSchema, value) };
    await this.write(this.file(org, name), rec);
    return this.meta(rec);
  }

  private meta(r: SecretFile): SecretMetadata {
    return create(SecretMetadataSchema, { name: r.name, type: r.type, createdAtMs: BigInt(r.createdAtMs), updatedAtMs: BigInt(r.updatedAtMs) });
  }

  async get(org: string, name: string): Promise<{ secret: SecretMetadata; value: SecretValue }> {
    checkSecretName(name);
    const r = await this.read(this.file(org, name));
    if (!r) throw notFound(`secret '${name}' not found`);
    return { secret: this.meta(r), value: fromJson(SecretValueSchema, r.value) };
  }

  async list(org: string): Promise<SecretMetadata[]> {
    const names = (await fsp.readdir(this.dir(org)).catch(() => [] as string[])).filter((n) => n.endsWith(".json") && !n.startsWith(".")).sort();
    const out: SecretMetadata[] = [];
    for (const n of names) {
      const r = await this.read(path.join(this.dir(org), n));
      if (r) out.push(this.meta(r));
    }
    return out;
  }

  /** Idempotent: deleting a missing slot succeeds. */
  async delete(org: string, name: string): Promise<void> {
    checkSecretName(name);
    await fsp.rm(this.file(org, name), { force: true });
  }

  /** Resolves a reference that must name a slot of `want` type; FAILED_PRECONDITION on a mismatch. */
  async resolve(org: string, name: string, want: SecretType, field: string): Promise<SecretValue> {
    checkSecretName(name, field);
    const r = await this.read(this.file(org, name));
    if (!r) throw failedPrecondition(`${field}: secret '${name}' not found; create it with SecretService.CreateSecret`);
    if (r.type !== want) {
      throw failedPrecondition(`${field}: secret '${name}' is a ${r.type.replace("_secret", "")} secret, but a ${want.replace("_secret", "")} secret is required`);
    }
    return fromJson(SecretValueSchema, r.value);
  }

  // ---- build credentials ----

  private buildFile(org: string): string {
    return path.join(this.dataDir, "orgs", org, "build-secrets.json");
  }
  async saveBuildSecrets(org: string, s: BuildSecrets): Promise<void> {
    for (const k of Object.keys(s.buildSecrets)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw invalidArgument(`invalid build secret name '${k}': use letters, digits and '_', not starting with a digit`);
    }
    await this.write(this.buildFile(org), s);
  }
  async buildSecrets(org: string): Promise<BuildSecrets> {
    return (await this.quarantine.read(this.buildFile(org), checkBuildSecrets<BuildSecrets>)) ?? { registryCredentials: {}, buildSecrets: {} };
  }
}
