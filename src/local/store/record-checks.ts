/**
 * The shape every state record must have to be used: required fields and their types, checked with
 * JSON Schema (ajv) when a record is read. Fields the plane may add later are allowed (old planes
 * read new records); a missing or mistyped required field makes the record unusable, and
 * Quarantine.read moves it aside with the first problem ajv names.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { AppMetaSchema, type AppMeta } from "../../gen/dodil/ignite/v1/common_pb.js";
import { InvalidRecord } from "./quarantine.js";

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });

const str = { type: "string" } as const;
const num = { type: "number" } as const;
const int = { type: "integer" } as const;
const strMap = { type: "object", additionalProperties: { type: "string" } } as const;
const digest = { type: "string", pattern: "^sha256:[0-9a-f]{64}$" } as const;

function record(required: Record<string, object>, optional: Record<string, object> = {}) {
  return { type: "object", required: Object.keys(required), properties: { ...required, ...optional } };
}

function describe(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return "invalid record";
  if (e.keyword === "required") return `field '${String(e.params["missingProperty"])}' is missing`;
  const at = e.instancePath ? `field '${e.instancePath.slice(1).replace(/\//g, ".")}'` : "the record";
  return `${at} ${e.message ?? "is invalid"}`;
}

/** A check for Quarantine.read; the caller names the record type it stands for (checkDraft<DraftRecord>). */
function checker(schema: object): <T>(value: unknown) => T {
  const validate: ValidateFunction = ajv.compile(schema);
  return <T>(value: unknown) => {
    if (!validate(value)) throw new InvalidRecord(describe(validate.errors));
    return value as T;
  };
}

export const draftShape = record(
  { codeHash: str, createdAtMs: num, updatedAtMs: num, codeKind: int, source: { enum: ["code", "git", "prebuilt", "compile"] }, sizeBytes: num, dockerfilePath: str, buildArgs: strMap, buildStatus: int },
  { contextDigest: digest, contextName: str, imageRef: str, registrySecretRef: str, gitUrl: str, gitRef: str, deployId: str, error: str, inputSchema: str, outputSchema: str, dependencies: { type: "array", items: str } },
);

export const versionShape = record(
  { version: { type: "integer", minimum: 1 }, codeHash: str, createdAtMs: num, resourceTier: int, codeKind: int, imageRef: str, deployId: str, app: { type: "object" } },
  { contextDigest: digest, contextName: str, pending: { type: "boolean" } },
);

export const contextShape = record({ contextId: str, digest, sizeBytes: num, name: str, contentType: str, createdAtMs: num });

export const buildShape = record(
  { id: str, org: str, app: str, status: int, contextDigest: str, dockerfilePath: str, buildArgs: strMap, imageRef: str, createdAtMs: num },
  { contextName: str, error: str, startedAtMs: num, finishedAtMs: num, name: str, tags: { type: "array", items: str }, platform: str, imageRefs: { type: "array", items: str }, kind: { enum: ["draft", "compile", "standalone"] }, timeoutSecs: num, failedStep: str, registryRef: str, registrySecretRef: str, pulledRef: str },
);

export const secretShape = record({ name: str, type: { enum: ["git_secret", "registry_secret"] }, createdAtMs: num, updatedAtMs: num, value: { type: "object" } });

export const buildSecretsShape = record(
  { registryCredentials: strMap, buildSecrets: strMap },
  { gitCredentials: record({ username: str, password: str }) },
);

export const checkDraft = checker(draftShape);
export const checkVersion = checker(versionShape);
export const checkContext = checker(contextShape);
export const checkBuild = checker(buildShape);
export const checkSecret = checker(secretShape);
export const checkBuildSecrets = checker(buildSecretsShape);

/** app.json is protobuf JSON: the protobuf reader is its check; id, name and org must be there. */
export function checkApp(value: unknown): AppMeta {
  let meta: AppMeta;
  try {
    meta = fromJson(AppMetaSchema, value as JsonValue, { ignoreUnknownFields: true });
  } catch (e) {
    throw new InvalidRecord(e instanceof Error ? e.message : String(e));
  }
  for (const f of ["id", "name", "organizationName"] as const) if (!meta[f]) throw new InvalidRecord(`field '${f}' is missing`);
  return meta;
}
