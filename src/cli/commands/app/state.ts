import { parseAppRef } from "../../../core/app-ref.js";
import { defineCommand } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const appStateCommand = defineCommand({
  name: "state",
  summary: "Show an app's deployment state and serving posture",
  args: [{ name: "id", description: "org:app, org/app or app" }],
  examples: ["dodil ignite app state acme-corp:greeter"],
  async handler([id = ""], _options, ctx) {
    const { GetAppStateResponseSchema, getAppState, displayId, enumLabel, formatTime, protoJson } = await loadDeps.compute();
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
