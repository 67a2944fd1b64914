import { UsageError } from "../errors.js";

/** An app named on the command line. `org` is undefined when neither the id nor the settings name one. */
export interface AppRef {
  org: string | undefined;
  name: string;
}

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * Parses `org:app`, `org/app` or a bare `app` (org from --org / env / config; when none is set the
 * server takes it from the token).
 */
export function parseAppRef(text: string, defaultOrg: string | undefined): AppRef {
  const parts = text.split(/[:/]/);
  if (parts.length > 2 || parts.some((p) => p === "")) {
    throw new UsageError(`malformed app id "${text}": use org:app, org/app or app`);
  }
  const [first, second] = parts as [string, string | undefined];
  const org = second === undefined ? defaultOrg : first;
  const name = second ?? first;
  if (!NAME.test(name)) {
    throw new UsageError(`malformed app id "${text}": app names are 1-63 lowercase letters, digits and '-', starting with a letter`);
  }
  if (org !== undefined && !NAME.test(org)) {
    throw new UsageError(`malformed app id "${text}": organization "${org}" must be lowercase letters, digits and '-', starting with a letter`);
  }
  return { org, name };
}

export function formatAppRef(ref: AppRef): string {
  return ref.org ? `${ref.org}:${ref.name}` : ref.name;
}

/** The request fields every app-scoped RPC takes. */
export function appFields(ref: AppRef): { organizationName: string; appName: string } {
  return { organizationName: ref.org ?? "", appName: ref.name };
}
