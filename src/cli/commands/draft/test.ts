import { formatAppRef, parseAppRef } from "../../../core/app-ref.js";
import { defineCommand } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";
import { failOn5xx, payloadFrom, payloadOptions } from "../test-run.js";

export const draftTestCommand = defineCommand({
  name: "test",
  summary: "Run the draft on a temporary instance without publishing it",
  description:
    "Start a temporary instance of the draft (waiting for its build), POST the payload to it and print the answer: status, execution id, duration and body. " +
    "The serving version is untouched. A 5xx answer is printed and exits 1. Without --payload or --payload-file, the test_input: of ./info.yaml is the payload.",
  args: [{ name: "id", description: "org:app, org/app or app" }],
  options: payloadOptions,
  examples: [`dodil ignite draft test acme-corp:greeter --payload '{"name": "ada"}'`, "dodil ignite draft test greeter --payload-file request.json -o json | jq .body"],
  async handler([id = ""], options, ctx) {
    const { testDraft, testResponseView } = await loadDeps.compute();
    const ref = parseAppRef(id, ctx.settings().org.value);
    const payload = await payloadFrom(options, ctx, ref.name);
    const spinner = await ctx.output.spinner(`Testing the draft of ${formatAppRef(ref)}…`);
    try {
      const response = await testDraft(await ctx.api(), ref, payload);
      spinner.stop();
      ctx.output.result(testResponseView(response));
      failOn5xx(response.statusCode, `the draft of ${formatAppRef(ref)}`, response.executionId);
    } catch (error) {
      spinner.stop();
      throw error;
    }
  },
});
