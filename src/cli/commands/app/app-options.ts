import { AUTO_MODE_NAMES, STORAGE_MODE_NAMES, TIER_NAMES } from "../../../core/flag-choices.js";
import type { AppFlags } from "../../../core/app-settings.js";
import { readEnvFiles } from "../../../core/env-file.js";
import { opt, type OptionSpec, type OptionValues } from "../../command-spec.js";

/** Resource, scaling, storage, env, schema and metadata flags shared by `app create`, `app update` and `app deploy`. */
export const appOptions: OptionSpec[] = [
  { flags: "--description <text>", description: "app description (also the MCP tool description)" },
  { flags: "-t, --tier <tier>", description: "resource tier: small, medium, large or xlarge", choices: TIER_NAMES },
  { flags: "--memory <mb>", description: "memory limit in MB (overrides the tier)", valueType: "integer" },
  { flags: "--cpu <millicores>", description: "CPU limit in millicores (overrides the tier)", valueType: "integer" },
  { flags: "--timeout-secs <seconds>", description: "execution timeout in seconds", valueType: "integer" },
  { flags: "--storage-mode <mode>", description: "storage: persistent, ephemeral or ttl", choices: STORAGE_MODE_NAMES },
  { flags: "--ttl <seconds>", description: "time to live in seconds (with --storage-mode ttl)", valueType: "integer" },
  { flags: "--max-replicas <n>", description: "maximum replicas", valueType: "integer" },
  { flags: "--reserved <n>", description: "replicas kept warm (0 scales to zero when idle)", valueType: "integer" },
  { flags: "--auto-mode <mode>", description: "autonomous scaling: disabled, enabled, tier-only or scale-only", choices: AUTO_MODE_NAMES },
  { flags: "--health-path <path>", description: "readiness path (default /healthz)" },
  { flags: "--env <KEY=VALUE>", description: "environment variable (repeatable)", repeatable: true },
  { flags: "--env-file <file>", description: "environment variables from a dotenv file (repeatable; later files, then --env, win)", repeatable: true },
  { flags: "--allow-unauthenticated", description: "let anyone call the app's public URL without a token" },
  { flags: "--no-allow-unauthenticated", description: "require a token on the public URL again" },
  { flags: "--mcp-enabled", description: "export the app as an MCP tool once published" },
  { flags: "--no-mcp-enabled", description: "stop exporting the app as an MCP tool" },
  { flags: "--input-schema <json>", description: "JSON Schema of the input (a JSON string)", valueType: "json" },
  { flags: "--output-schema <json>", description: "JSON Schema of the output (a JSON string)", valueType: "json" },
];

const bool = (options: OptionValues, key: string) => (typeof options[key] === "boolean" ? (options[key] as boolean) : undefined);

/** The app flags; --env-file files are read here, their entries placed before --env so the flags win. */
export async function appFlagsFrom(options: OptionValues, cwd: string): Promise<AppFlags> {
  const fromFiles = await readEnvFiles(opt.list(options, "envFile"), cwd);
  return {
    description: opt.string(options, "description"),
    tier: opt.string(options, "tier"),
    memory: opt.string(options, "memory"),
    cpu: opt.string(options, "cpu"),
    timeoutSecs: opt.string(options, "timeoutSecs"),
    storageMode: opt.string(options, "storageMode"),
    ttl: opt.string(options, "ttl"),
    maxReplicas: opt.string(options, "maxReplicas"),
    reserved: opt.string(options, "reserved"),
    autoMode: opt.string(options, "autoMode"),
    healthPath: opt.string(options, "healthPath"),
    env: [...fromFiles, ...opt.list(options, "env")],
    allowUnauthenticated: bool(options, "allowUnauthenticated"),
    mcpEnabled: bool(options, "mcpEnabled"),
    inputSchema: opt.string(options, "inputSchema"),
    outputSchema: opt.string(options, "outputSchema"),
  };
}
