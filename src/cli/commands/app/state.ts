import { GetAppStateResponseSchema } from "../../../gen/dodil/ignite/v1/compute_pb.js";
import { parseAppRef } from "../../../core/app-ref.js";
import { getAppState } from "../../../core/apps.js";
import { defineCommand } from "../../command-spec.js";
import { displayId, enumLabel, formatTime, protoJson } from "../../views.js";

export const appStateCommand = defineCommand({
  name: "state",
  summary: "Show an app's deployment state and serving posture",
  args: [{ name: "id", description: "org:app, org/app or app" }],
  examples: ["dodil ignite app state acme-corp:greeter"],
  async handler([id = ""], _options, ctx) {
    const ref = parseAppRef(id, ctx.settings().org.value);
    const state = await getAppState(await ctx.api(), ref);
    const json = protoJson(GetAppStateResponseSchema, state) as Record<string, string>;
    return {
      data: json,
      human: {
        kind: "record",
        fields: [
          ["APP ID", displayId(state.appId)],
          ["STATE", enumLabel(json.deployment_state, "DEPLOYMENT_STATE_")],
          ["ACTIVE VERSION", state.activeVersion ? String(state.activeVersion) : "none"],
          ["REPLICAS", `${state.readyReplicas}/${state.desiredReplicas} ready`],
          ["URLS", state.publicUrls.join(", ")],
          ["LAST ERROR", state.lastError],
        ],
        wideFields: [["LAST INVOKED", formatTime(state.lastInvokedAtMs)]],
      },
    };
  },
});
