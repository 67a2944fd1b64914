import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";
import { payloadFrom, payloadOptions } from "../test-run.js";

export const modelsInferCommand = defineCommand({
  name: "infer",
  summary: "Run a model on a raw payload (Infer; --stream for StreamInfer)",
  description:
    "Call Infer with the payload (--payload JSON or --payload-file bytes) and print the result bytes as received. --stream calls StreamInfer and prints each part as it arrives. " +
    "Under -o json: {content_type, result} (result decoded as JSON or text when it is). The local control plane has no local models: it answers UNIMPLEMENTED (exit 1).",
  args: [{ name: "model", description: "model id" }],
  options: [
    ...payloadOptions,
    { flags: "--content-type <type>", description: "the payload's media type (default application/json)" },
    { flags: "--stream", description: "stream the result (StreamInfer)" },
  ],
  examples: [`dodil ignite models infer kimi-k2.5 -p '{"prompt": "hi"}'`, "dodil ignite models infer whisper-large-v3 --payload-file talk.wav --content-type audio/wav"],
  async handler([model = ""], options, ctx) {
    const { bodyValue, checkModelId, infer, streamInfer } = await loadDeps.models();
    const id = checkModelId(model);
    const payload = await payloadFrom(options, ctx);
    const contentType = opt.string(options, "contentType") ?? "application/json";
    const api = await ctx.api();
    const { output } = ctx;
    if (opt.flag(options, "stream")) {
      for await (const part of streamInfer(api, id, payload, contentType)) {
        if (output.isMachine) output.jsonLine({ content_type: part.contentType, result: bodyValue(part.result) });
        else output.raw(part.result);
      }
      return;
    }
    const response = await infer(api, id, payload, contentType);
    if (output.isMachine) return { data: { content_type: response.contentType, result: bodyValue(response.result) } };
    output.raw(response.result);
    if (ctx.io.stdoutIsTTY && response.result.length > 0 && response.result[response.result.length - 1] !== 0x0a) output.raw("\n");
  },
});
