/**
 * What a SaveDraftRequest.dependencies entry may be, shared by the CLI (checked before sending) and
 * the local control plane (checked again, the request may come from anyone): one requirement as pip
 * reads it on a requirements line, a name with optional extras and version bounds (`requests`,
 * `numpy>=1.26`, `uvicorn[standard]==0.30.1`). An option (`-e`, `--index-url`), a URL, a space or a
 * second line would change what pip does, so they never match.
 */
const REQUIREMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?([<>=!~]=?[A-Za-z0-9.*+!_-]+(,[<>=!~]=?[A-Za-z0-9.*+!_-]+)*)?$/;

export const MAX_REQUIREMENT_CHARS = 200;

/** Why `spec` is not one requirement, or undefined when it is. */
export function requirementProblem(spec: string): string | undefined {
  if (spec.length > MAX_REQUIREMENT_CHARS) return `longer than ${MAX_REQUIREMENT_CHARS} characters`;
  if (!REQUIREMENT.test(spec)) return "not a package name with optional extras and version bounds (e.g. requests, numpy>=1.26)";
  return undefined;
}
