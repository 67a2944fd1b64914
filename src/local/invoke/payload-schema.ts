/**
 * A call's payload checked against the app's input_schema (a JSON Schema string), as the platform
 * checks invoke payloads: a payload that does not match is INVALID_ARGUMENT naming the failing path
 * (exit 2 in the CLI). An empty body is not checked (the managed runtimes hand the handler empty
 * bytes, which the apps read as "no input"). A schema ajv cannot compile is the app's mistake, not
 * the caller's: the call goes through and the plane logs why once per schema.
 */
import { Ajv, type ValidateFunction } from "ajv";
import { invalidArgument } from "../errors.js";

const ajv = new Ajv({ allErrors: false, strict: false, allowUnionTypes: true });
/** Compiled schemas by their text (few apps, few schemas: bounded all the same). */
const compiled = new Map<string, ValidateFunction | Error>();
const MAX_COMPILED = 256;

function validator(schema: string): ValidateFunction | Error {
  let v = compiled.get(schema);
  if (v) return v;
  try {
    v = ajv.compile(JSON.parse(schema) as object);
  } catch (e) {
    v = e instanceof Error ? e : new Error(String(e));
  }
  if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
  compiled.set(schema, v);
  return v;
}

/** Throws INVALID_ARGUMENT when `body` does not match `schema`; `what` names the app ("acme/notes"). */
export function checkPayload(schema: string | undefined, body: Uint8Array, what: string, log?: (line: string) => void): void {
  if (!schema || body.length === 0) return;
  const validate = validator(schema);
  if (validate instanceof Error) {
    log?.(`the input_schema of ${what} is not a usable JSON Schema (${validate.message}): payloads are not checked`);
    return;
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body).toString("utf8"));
  } catch {
    throw invalidArgument(`the payload is not JSON, and ${what} has an input_schema`);
  }
  if (validate(value)) return;
  const e = validate.errors?.[0];
  const at = e ? (e.instancePath || "/") : "/";
  const detail = e ? `${e.message ?? "is invalid"}${e.keyword === "enum" ? ` (${(e.params as { allowedValues?: unknown[] }).allowedValues?.map((x) => JSON.stringify(x)).join(", ")})` : ""}` : "is invalid";
  throw invalidArgument(`the payload does not match the input_schema of ${what}: at ${at}: ${detail}`);
}
