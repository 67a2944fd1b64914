import { parseAppRef } from "../../../core/app-ref.js";
import { defineCommand, opt } from "../../command-spec.js";
import { appFlagsFrom, appOptions } from "./app-options.js";
import { loadDeps } from "../../load-deps.js";

export const appCreateCommand = defineCommand({
  name: "create",
  summary: "Create an app (metadata only; upload code with `draft save`)",
  args: [{ name: "name", description: "app name, or org:name" }],
  options: [
    ...appOptions,
    { flags: "--runtime <runtime>", description: "deprecated here: the runtime now comes from the draft's code source" },
    { flags: "--rust-target <target>", description: "deprecated here (see --runtime)" },
    { flags: "--toolchain <version>", description: "deprecated here (see --runtime)" },
  ],
  examples: ['dodil ignite app create greeter --description "FastAPI greeter built from a Dockerfile"', "dodil ignite app create acme-corp:worker --tier medium --env LOG_LEVEL=debug"],
  async handler([name = ""], options, ctx) {
    const { CreateAppResponseSchema, appSettingsFromFlags, createApp, displayId, enumLabel, protoJson } = await loadDeps.compute();
    const ref = parseAppRef(name, ctx.settings().org.value);
    const settings = appSettingsFromFlags(await appFlagsFrom(options, ctx.cwd));
    for (const flag of ["runtime", "rustTarget", "toolchain"]) {
      if (opt.string(options, flag) !== undefined) {
        ctx.output.warn("--runtime, --rust-target and --toolchain on `app create` are only stored as metadata: the runtime comes from the draft (`draft save --runtime …`)");
        break;
      }
    }
    const response = await createApp(await ctx.api(), ref, settings);
    const json = protoJson(CreateAppResponseSchema, response) as Record<string, unknown>;
    ctx.output.success(`created app ${displayId(response.appId)}`);
    return {
      data: json,
      human: {
        kind: "record",
        fields: [
          ["APP ID", displayId(response.appId)],
          ["STATE", enumLabel(json.deployment_state as string, "DEPLOYMENT_STATE_")],
          ["TIER", enumLabel(json.applied_tier as string, "RESOURCE_TIER_")],
          ["LIMITS", response.appliedLimits ? `${response.appliedLimits.memoryMb} MB, ${response.appliedLimits.cpuMillicores}m CPU` : ""],
          ["NEXT", `dodil ignite draft save ${displayId(response.appId)} --code <dir> --dockerfile-path Dockerfile`],
        ],
      },
    };
  },
});
