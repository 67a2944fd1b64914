import type { AppFlags } from "../../../core/app-settings.js";
import { opt, type OptionSpec, type OptionValues } from "../../command-spec.js";

/** Resource, scaling, env and metadata flags shared by `app create` and `app update`. */
export const appOptions: OptionSpec[] = [
  { flags: "--description <text>", description: "app description (also the MCP tool description)" },
  { flags: "-t, --tier <tier>", description: "resource tier: small, medium, large or xlarge" },
  { flags: "--memory <mb>", description: "memory limit in MB (overrides the tier)" },
  { flags: "--cpu <millicores>", description: "CPU limit in millicores (overrides the tier)" },
  { flags: "--timeout-secs <seconds>", description: "execution timeout in seconds" },
  { flags: "--max-replicas <n>", description: "maximum replicas" },
  { flags: "--reserved <n>", description: "replicas kept warm (0 scales to zero when idle)" },
  { flags: "--health-path <path>", description: "readiness path (default /healthz)" },
  { flags: "--env <KEY=VALUE>", description: "environment variable (repeatable)", repeatable: true },
  { flags: "--allow-unauthenticated", description: "let anyone call the app's public URL without a token" },
];

export function appFlagsFrom(options: OptionValues): AppFlags {
  return {
    description: opt.string(options, "description"),
    tier: opt.string(options, "tier"),
    memory: opt.string(options, "memory"),
    cpu: opt.string(options, "cpu"),
    timeoutSecs: opt.string(options, "timeoutSecs"),
    maxReplicas: opt.string(options, "maxReplicas"),
    reserved: opt.string(options, "reserved"),
    healthPath: opt.string(options, "healthPath"),
    env: opt.list(options, "env"),
    allowUnauthenticated: options.allowUnauthenticated === true ? true : undefined,
  };
}
