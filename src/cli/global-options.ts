import { Command, Option } from "commander";
import type { GlobalFlags } from "../config/settings.js";

const GLOBAL_GROUP = "Global Options:";

/** The global flags, accepted before or after the subcommand (reference §2.2). */
export function globalOptions(): Option[] {
  return [
    new Option("-o, --output <format>", "output format: table, wide, json or yaml"),
    new Option("--api-endpoint <host:port>", "Ignite gRPC endpoint (default rpc.dev.dodil.io:443)"),
    new Option("--token <token>", "bearer token (overrides DODIL_TOKEN, IGNITE_TOKEN and config)"),
    new Option("--org <org>", "organization for bare app names"),
    new Option("--org-name <org>", "the platform docs' name for --org (an alias)"),
    new Option("--debug", "plaintext transport (no TLS) and request traces on stderr"),
    new Option("--ca-cert <file>", "PEM file of extra CA certificates to trust, with the system roots (also IGNITE_CA_CERT)"),
    new Option("--timeout <duration>", "request timeout, Go-style (default 5m, at most 168h; 0 = no deadline)"),
    new Option("--config <path>", "config file or directory to use"),
    new Option("--context <name>", "named context of settings to use (also DODIL_CONTEXT; see `config context`)"),
    new Option("--no-color", "disable colour (also NO_COLOR)"),
  ].map((option) => option.helpGroup(GLOBAL_GROUP));
}

/**
 * Reads the global flags of a parsed leaf command: the first value the user actually typed, at the
 * leaf or any ancestor (commander defaults, like --no-color's implicit true, never count).
 */
export function collectGlobalFlags(command: Command): GlobalFlags & { color: boolean } {
  const typed = (key: string): unknown => {
    for (let current: Command | null = command; current; current = current.parent) {
      // A command's own flag of the same name (`secret create --token <pat>`) is not the global one.
      const own = current.options.find((o) => o.attributeName() === key);
      if (own && own.helpGroupHeading !== GLOBAL_GROUP) continue;
      const source = current.getOptionValueSource(key);
      if (source !== undefined && source !== "default" && source !== "implied") return current.getOptionValue(key);
    }
    return undefined;
  };
  const asString = (key: string) => (typeof typed(key) === "string" ? (typed(key) as string) : undefined);
  return {
    output: asString("output"),
    apiEndpoint: asString("apiEndpoint"),
    token: asString("token"),
    org: asString("org") ?? asString("orgName"),
    debug: typed("debug") === true ? true : undefined,
    timeout: asString("timeout"),
    caCert: asString("caCert"),
    config: asString("config"),
    context: asString("context"),
    color: typed("color") !== false,
  };
}
