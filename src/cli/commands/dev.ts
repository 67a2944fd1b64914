import { join, resolve } from "node:path";
import { parseEndpoint } from "../../config/config-keys.js";
import { UsageError } from "../../errors.js";
import { defineCommand, opt } from "../command-spec.js";
import { devDoctorCommand } from "./dev-doctor.js";
import { devSetupCommand } from "./dev-setup.js";

const DRIVERS = ["auto", "host", "podman", "docker"] as const;
type DriverName = (typeof DRIVERS)[number];

export const devCommand = defineCommand({
  name: "dev",
  summary: "Run a local Ignite control plane in the foreground",
  description:
    "Start a local control plane: the Ignite gRPC services (with server reflection) on --listen and an HTTP gateway on --gateway-listen, state in --data-dir. " +
    "Port 0 picks a free port. Without --token it creates a token for org `local` and prints it. With -o json it prints one JSON line once ready. Stop it with Ctrl-C (SIGINT) or SIGTERM.",
  options: [
    { flags: "--listen <host:port>", description: "gRPC address (loopback)", defaultValue: "127.0.0.1:50051" },
    { flags: "--gateway-listen <host:port>", description: "HTTP gateway address (loopback)", defaultValue: "127.0.0.1:8080" },
    { flags: "--data-dir <dir>", description: "state directory (default ~/.local/share/dodil/ignite-dev)" },
    { flags: "--driver <driver>", description: "builder/runtime: auto, host, podman or docker", defaultValue: "auto" },
    { flags: "--token <ORG=TOKEN>", description: "accept TOKEN as organization ORG (repeatable)", repeatable: true },
    { flags: "--base-domain <domain>", description: "domain of app URLs on the gateway", defaultValue: "ignite.localhost" },
  ],
  examples: [
    "dodil ignite dev",
    "dodil ignite dev --listen 127.0.0.1:0 --gateway-listen 127.0.0.1:0 --data-dir ./.ignite --token acme-corp=dev-token -o json",
  ],
  subcommands: [devDoctorCommand, devSetupCommand],
  async handler(_args, options, ctx) {
    const listen = opt.string(options, "listen") ?? "127.0.0.1:50051";
    const gatewayListen = opt.string(options, "gatewayListen") ?? "127.0.0.1:8080";
    // Port 0 asks the system for a free port.
    parseEndpoint(listen, "--listen", { allowPortZero: true });
    parseEndpoint(gatewayListen, "--gateway-listen", { allowPortZero: true });
    const driver = (opt.string(options, "driver") ?? "auto") as DriverName;
    if (!DRIVERS.includes(driver)) throw new UsageError(`invalid value "${driver}" for --driver: use one of ${DRIVERS.join(", ")}`);
    const tokens: Record<string, string> = {};
    for (const item of opt.list(options, "token")) {
      const match = /^([a-z][a-z0-9-]{0,62})=(\S+)$/.exec(item);
      if (!match) throw new UsageError(`invalid --token "${item.replace(/=.*/, "=…")}": use ORG=TOKEN with a lowercase org name`);
      tokens[match[2] as string] = match[1] as string;
    }
    const dataDir = resolve(ctx.cwd, opt.string(options, "dataDir") ?? join(ctx.home, ".local", "share", "dodil", "ignite-dev"));

    const { startControlPlane } = await import("../../local/control-plane.js");
    const plane = await startControlPlane({
      listen,
      gatewayListen,
      dataDir,
      driver,
      tokens,
      baseDomain: opt.string(options, "baseDomain") ?? "ignite.localhost",
      log: (line) => ctx.output.info(line),
    });
    const generated = Object.keys(tokens).length === 0;
    const { output } = ctx;
    if (output.isMachine) {
      output.jsonLine({
        grpc_endpoint: plane.grpcEndpoint,
        gateway_url: plane.gatewayUrl,
        data_dir: dataDir,
        driver: plane.driver,
        organizations: [...new Set(Object.values(plane.tokens))].sort(),
        ...(generated ? { token: Object.keys(plane.tokens)[0] } : {}),
      });
    } else {
      output.info(`Local Ignite control plane ready (driver: ${plane.driver})`);
      output.info(`  gRPC      ${plane.grpcEndpoint}`);
      output.info(`  gateway   ${plane.gatewayUrl}`);
      output.info(`  data dir  ${dataDir}`);
      if (generated) for (const [token, org] of Object.entries(plane.tokens)) output.info(`  token     ${token}  (org ${org})`);
      output.info(`Use it: dodil ignite config set api_endpoint ${plane.grpcEndpoint} && dodil ignite config set debug true`);
    }
    const signal = await ctx.waitForShutdown();
    output.info(`${signal}: stopping the local control plane…`);
    await plane.stop();
  },
});
