import { resolve } from "node:path";
import { parseEndpoint } from "../../config/config-keys.js";
import { parseDuration } from "../../config/duration.js";
import { readEnv } from "../../config/env.js";
import { type DevCredentials, mergeCredentials, parseCredentialLines, parseServiceAccountItem, parseTokenItem, readCredentialFile } from "../../core/dev-credentials.js";
import { UsageError } from "../../errors.js";
import { tuneHeapForStreaming } from "../../heap-growth.js";
import type { RunningControlPlane } from "../../local/control-plane.js";
import type { Output } from "../../output/output.js";
import type { CommandContext } from "../command-context.js";
import { defineCommand, opt, type OptionValues } from "../command-spec.js";
import { LOCAL_CONTEXT, type LocalContextOffer, offerLocalContext } from "../dev-context.js";
import { devDataDir } from "./dev-data-dir.js";
import { devDoctorCommand } from "./dev-doctor.js";
import { devSetupCommand } from "./dev-setup.js";
import { devImagesCommand } from "./dev-images.js";

const DRIVERS = ["auto", "host", "podman", "docker"] as const;
type DriverName = (typeof DRIVERS)[number];

export const devCommand = defineCommand({
  name: "dev",
  summary: "Run a local Ignite control plane in the foreground",
  description:
    "Start a local control plane: the Ignite gRPC services (with server reflection) on --listen and an HTTP gateway on --gateway-listen, state in --data-dir. " +
    "Port 0 picks a free port. Without --token and --service-account it creates a token and a service account for org `local` and prints them. " +
    "The OAuth2 token endpoint (client-credentials grant, for `dodil login`) listens on --auth-listen and issues JWTs carrying the organization. " +
    "--tls (or --tls-cert/--tls-key) serves gRPC and the token endpoint over TLS; otherwise clients need --debug (plaintext). With -o json it prints one JSON line once ready. Stop it with Ctrl-C (SIGINT) or SIGTERM.",
  options: [
    { flags: "--listen <host:port>", description: "gRPC address (loopback)", defaultValue: "127.0.0.1:50051" },
    { flags: "--gateway-listen <host:port>", description: "HTTP gateway address (loopback)", defaultValue: "127.0.0.1:8080" },
    { flags: "--data-dir <dir>", description: "state directory (default ~/.local/share/dodil/ignite-dev)" },
    { flags: "--driver <driver>", description: "builder/runtime: auto, host, podman or docker", defaultValue: "auto" },
    { flags: "--token <ORG=TOKEN>", description: "accept TOKEN as organization ORG (repeatable; visible to every local user in ps: prefer --token-file)", repeatable: true },
    { flags: "--token-file <file>", description: "accept the credentials in FILE (mode 0600): one ORG=TOKEN or ORG:ID=SECRET (service account) a line; also read from $IGNITE_DEV_TOKENS" },
    { flags: "--base-domain <domain>", description: "domain of app URLs on the gateway", defaultValue: "ignite.localhost" },
    { flags: "--tls", description: "serve TLS with a CA and server certificate generated into <data-dir>/tls (prints the CA certificate to trust)" },
    { flags: "--tls-cert <file>", description: "serve TLS with this PEM certificate (chain); needs --tls-key" },
    { flags: "--tls-key <file>", description: "the PEM private key of --tls-cert" },
    { flags: "--service-account <ORG:ID=SECRET>", description: "accept service account ID with SECRET at the token endpoint, for organization ORG (repeatable)", repeatable: true },
    { flags: "--auth-listen <host:port>", description: "OAuth2 token endpoint address, POST /oauth/token (default 127.0.0.1:8081, or a free port when that is taken)" },
    { flags: "--token-lifetime <duration>", description: "lifetime of issued access tokens, Go-style", defaultValue: "1h" },
    { flags: "--registry-listen <host:port>", description: "the image registry's loopback address (default: its port of the last run in this data dir, else a free one)" },
    { flags: "--idle-timeout <duration>", description: "an app without reserved capacity and no call for this long scales to zero, Go-style (0 never)", defaultValue: "15m" },
    { flags: "--offline", description: "never pull images: a FROM or --image-ref image missing locally fails as not available offline (by default it is pulled when its registry answers), and builds and compiles get no way out through the egress proxy (no network)" },
    { flags: "--use-context", description: `once ready, create (or replace) the config context "${LOCAL_CONTEXT}" for this plane and select it; no other setting changes` },
  ],
  examples: [
    "dodil ignite dev",
    "dodil ignite dev --listen 127.0.0.1:0 --gateway-listen 127.0.0.1:0 --data-dir ./.ignite --token acme-corp=dev-token -o json",
    "dodil ignite dev --driver podman --idle-timeout 30s",
    "dodil ignite dev --tls --service-account acme-corp:ci-deployer=s3cret --data-dir ./.ignite",
  ],
  subcommands: [devDoctorCommand, devSetupCommand, devImagesCommand],
  async handler(_args, options, ctx) {
    const listen = opt.string(options, "listen") ?? "127.0.0.1:50051";
    const gatewayListen = opt.string(options, "gatewayListen") ?? "127.0.0.1:8080";
    // Port 0 asks the system for a free port.
    parseEndpoint(listen, "--listen", { allowPortZero: true });
    parseEndpoint(gatewayListen, "--gateway-listen", { allowPortZero: true });
    const driver = (opt.string(options, "driver") ?? "auto") as DriverName;
    if (!DRIVERS.includes(driver)) throw new UsageError(`invalid value "${driver}" for --driver: use one of ${DRIVERS.join(", ")}`);
    const { tokens, serviceAccounts } = await readCredentials(options, ctx);
    const dataDir = devDataDir(opt.string(options, "dataDir"), ctx);
    const tls = tlsOption(options, ctx.cwd);
    const authListenFlag = opt.string(options, "authListen");
    const authListen = authListenFlag ?? "127.0.0.1:8081";
    parseEndpoint(authListen, "--auth-listen", { allowPortZero: true });
    const registryListen = opt.string(options, "registryListen");
    if (registryListen !== undefined) {
      parseEndpoint(registryListen, "--registry-listen", { allowPortZero: true });
      if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/.test(registryListen)) throw new UsageError("--registry-listen must be a loopback address (the registry serves plain HTTP)");
    }
    const tokenLifetimeMs = parseDuration(opt.string(options, "tokenLifetime") ?? "1h", "--token-lifetime");
    if (tokenLifetimeMs < 1000) throw new UsageError("--token-lifetime must be at least 1s");
    const idleTimeoutMs = parseDuration(opt.string(options, "idleTimeout") ?? "15m", "--idle-timeout");
    if (idleTimeoutMs > 0 && idleTimeoutMs < 1000) throw new UsageError("--idle-timeout must be 0 (never) or at least 1s");

    const { startControlPlane } = await import("../../local/control-plane.js");
    // This process now receives and lists uploads: see heap-growth.ts.
    await tuneHeapForStreaming();
    const plane = await startControlPlane({
      listen,
      gatewayListen,
      dataDir,
      driver,
      tokens,
      baseDomain: opt.string(options, "baseDomain") ?? "ignite.localhost",
      ...(tls ? { tls } : {}),
      serviceAccounts,
      authListen,
      ...(authListenFlag ? {} : { authListenFallback: true }),
      tokenLifetimeSeconds: Math.floor(tokenLifetimeMs / 1000),
      ...(registryListen ? { registryListen } : {}),
      idleTimeoutMs,
      ...(opt.flag(options, "offline") ? { offline: true } : {}),
      log: (line) => ctx.output.info(line),
    });
    const offer = await offerLocalContext(plane, opt.flag(options, "useContext"), () => ctx.configStore());
    announceReady(ctx.output, plane, { dataDir, givenTokens: Object.keys(tokens).length > 0, givenAccounts: serviceAccounts.length > 0, contextOffer: offer });
    const signal = await ctx.waitForShutdown();
    ctx.output.info(`${signal}: stopping the local control plane…`);
    await plane.stop();
  },
});

/** The organizations' credentials from --token, --service-account, --token-file and $IGNITE_DEV_TOKENS, with a warning for each kind on the command line. */
async function readCredentials(options: OptionValues, ctx: CommandContext): Promise<DevCredentials> {
  const flagTokens = opt.list(options, "token").map((item) => parseTokenItem(item));
  const flagAccounts = opt.list(options, "serviceAccount").map((item) => parseServiceAccountItem(item));
  const tokenFile = opt.string(options, "tokenFile");
  const envLines = readEnv(ctx.env, "IGNITE_DEV_TOKENS");
  const credentials = mergeCredentials([
    { tokens: Object.fromEntries(flagTokens.map((t) => [t.token, t.org])), serviceAccounts: flagAccounts },
    ...(tokenFile ? [await readCredentialFile(resolve(ctx.cwd, tokenFile))] : []),
    ...(envLines ? [parseCredentialLines(envLines, "$IGNITE_DEV_TOKENS")] : []),
  ]);
  if (flagTokens.length) ctx.output.warn("--token puts the token on the command line, where every local user can read it (ps, /proc/<pid>/cmdline); use --token-file FILE (mode 0600) or $IGNITE_DEV_TOKENS");
  if (flagAccounts.length) ctx.output.warn("--service-account puts the secret on the command line, where every local user can read it (ps); use --token-file FILE (mode 0600) or $IGNITE_DEV_TOKENS");
  return credentials;
}

/** --tls (generate), --tls-cert with --tls-key (files), or neither. */
function tlsOption(options: OptionValues, cwd: string): { certFile: string; keyFile: string } | "generate" | undefined {
  const tlsCert = opt.string(options, "tlsCert");
  const tlsKey = opt.string(options, "tlsKey");
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new UsageError("--tls-cert and --tls-key go together");
  if (tlsCert && opt.flag(options, "tls")) throw new UsageError("--tls generates a certificate; with --tls-cert/--tls-key give neither or drop --tls");
  if (tlsCert && tlsKey) return { certFile: resolve(cwd, tlsCert), keyFile: resolve(cwd, tlsKey) };
  return opt.flag(options, "tls") ? "generate" : undefined;
}

/** The ready message: one JSON line under -o json/yaml, else the endpoints and credentials to use. */
function announceReady(output: Output, plane: RunningControlPlane, ready: { dataDir: string; givenTokens: boolean; givenAccounts: boolean; contextOffer: LocalContextOffer }): void {
  const generated = !ready.givenTokens;
  if (output.isMachine) {
    output.jsonLine({
      grpc_endpoint: plane.grpcEndpoint,
      gateway_url: plane.gatewayUrl,
      data_dir: ready.dataDir,
      driver: plane.driver,
      organizations: [...new Set(Object.values(plane.tokens))].sort(),
      ...(generated ? { token: Object.keys(plane.tokens)[0] } : {}),
      tls: plane.tls,
      ca_cert: plane.caCertFile ?? "",
      token_url: plane.tokenUrl,
      registry: plane.registryHost ?? "",
      service_accounts: plane.serviceAccounts.map((a) => ({ id: a.id, organization: a.org, ...(!ready.givenAccounts ? { secret: a.secret } : {}) })),
      context: ready.contextOffer.context,
    });
  } else {
    output.info(`Local Ignite control plane ready (driver: ${plane.driver})`);
    output.info(`  gRPC      ${plane.grpcEndpoint}`);
    output.info(`  gateway   ${plane.gatewayUrl}`);
    output.info(`  data dir  ${ready.dataDir}`);
    output.info(`  token URL ${plane.tokenUrl}`);
    output.info(`  registry  ${plane.registryHost ? `${plane.registryHost}/<org>/<app> (skopeo/podman --creds <org>:<token>, plain HTTP on loopback)` : "none: built images stay in the driver's local storage (see dev doctor)"}`);
    if (plane.caCertFile) output.info(`  CA cert   ${plane.caCertFile}  (trust it: --ca-cert or IGNITE_CA_CERT)`);
    if (generated) for (const [token, org] of Object.entries(plane.tokens)) output.info(`  token     ${token}  (org ${org})`);
    for (const a of plane.serviceAccounts) output.info(`  service account ${a.id} (org ${a.org})${!ready.givenAccounts ? `  secret ${a.secret}` : ""}`);
    output.info(ready.contextOffer.line);
  }
}
