import type { IgniteApi } from "../api/ignite-api.js";
import { SecretService, type GetSecretResponse, type SecretMetadata } from "../gen/dodil/ignite/v1/secret_pb.js";
import { UsageError } from "../errors.js";

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function checkSecretName(text: string): string {
  if (!NAME.test(text)) throw new UsageError(`invalid secret name "${text}": use 1-64 letters, digits, '-' and '_'`);
  return text;
}

/** `secret create` flags as typed. */
export interface SecretFlags {
  type?: string | undefined;
  username?: string | undefined;
  token?: string | undefined;
  password?: string | undefined;
  serverAddress?: string | undefined;
}

export type SecretValueInput =
  | { case: "gitSecret"; value: { username: string; token: string } }
  | { case: "registrySecret"; value: { username: string; password: string; serverAddress: string } };

/**
 * The slot's value from the flags: `--type git` takes --token (a PAT; --password is accepted as the
 * same thing), `--type registry` takes --password (--token accepted likewise) and --server-address.
 * No value is ever echoed in an error.
 */
export function secretValueFromFlags(flags: SecretFlags): SecretValueInput {
  if (flags.type === undefined) throw new UsageError("--type is required: git or registry");
  const type = flags.type.toLowerCase();
  if (type !== "git" && type !== "registry") throw new UsageError(`invalid value "${flags.type}" for --type: use git or registry`);
  if (flags.token !== undefined && flags.password !== undefined) throw new UsageError("--token and --password cannot be used together: give the secret once");
  const secret = flags.token ?? flags.password;
  if (type === "git") {
    if (flags.serverAddress !== undefined) throw new UsageError("--server-address applies to --type registry");
    if (!secret) throw new UsageError("--type git needs --token <personal access token>");
    return { case: "gitSecret", value: { username: flags.username ?? "", token: secret } };
  }
  if (!flags.username) throw new UsageError("--type registry needs --username");
  if (!secret) throw new UsageError("--type registry needs --password <password or token>");
  return { case: "registrySecret", value: { username: flags.username, password: secret, serverAddress: flags.serverAddress ?? "" } };
}

export async function createSecret(api: IgniteApi, name: string, value: SecretValueInput): Promise<SecretMetadata | undefined> {
  return (await api.unary(SecretService.method.createSecret, { name, value: { value } })).secret;
}

export function getSecret(api: IgniteApi, name: string): Promise<GetSecretResponse> {
  return api.unary(SecretService.method.getSecret, { name });
}

export async function listSecrets(api: IgniteApi): Promise<SecretMetadata[]> {
  return (await api.unary(SecretService.method.listSecrets, {})).secrets;
}

export async function deleteSecret(api: IgniteApi, name: string): Promise<void> {
  await api.unary(SecretService.method.deleteSecret, { name });
}

/** "git_secret" -> git; "registry_secret" -> registry. */
export function secretTypeLabel(type: string): string {
  return type.replace(/_secret$/, "");
}
