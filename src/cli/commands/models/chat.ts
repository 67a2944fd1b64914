import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const modelsChatCommand = defineCommand({
  name: "chat",
  summary: "Send a chat completion to a model (--stream prints tokens as they arrive)",
  description:
    "Call ChatCompletion (or StreamChatCompletion with --stream) and print the reply. Give a prompt (a user message) and/or --message ROLE:TEXT in order, plus an optional --system. " +
    "Under -o json: the response message (with --stream, one chunk per line). The local control plane has no local models: it answers UNIMPLEMENTED (exit 1).",
  args: [
    { name: "model", description: "model id, e.g. kimi-k2.5" },
    { name: "prompt", description: "the user message", required: false },
  ],
  options: [
    { flags: "--message <ROLE:TEXT>", description: "a message (repeatable; ROLE is system, user, assistant or tool)", repeatable: true },
    { flags: "--system <text>", description: "a system message sent first" },
    { flags: "--temperature <t>", description: "sampling temperature, 0-2", valueType: "number" },
    { flags: "--max-tokens <n>", description: "at most this many tokens in the reply", valueType: "integer" },
    { flags: "--stream", description: "stream the reply (StreamChatCompletion)" },
  ],
  examples: ['dodil ignite models chat kimi-k2.5 "Summarise RFC 9110 in one line"', 'dodil ignite models chat kimi-k2.5 --system "Be terse" "Hello" --stream'],
  async handler([model = "", prompt], options, ctx) {
    const { ChatCompletionChunkSchema, ChatCompletionResponseSchema, chatCompletion, chatMessages, checkModelId, parseNumberFlag, protoJson, streamChatCompletion } = await loadDeps.models();
    const input = {
      model: checkModelId(model),
      messages: chatMessages(prompt || undefined, opt.list(options, "message"), opt.string(options, "system")),
      temperature: parseNumberFlag(opt.string(options, "temperature"), "--temperature", { min: 0, max: 2 }),
      maxTokens: parseNumberFlag(opt.string(options, "maxTokens"), "--max-tokens", { min: 1, max: 1_000_000, integer: true }),
    };
    const api = await ctx.api();
    const { output } = ctx;
    if (opt.flag(options, "stream")) {
      let last = "\n";
      for await (const chunk of streamChatCompletion(api, input)) {
        if (output.isMachine) output.jsonLine(protoJson(ChatCompletionChunkSchema, chunk));
        else {
          const text = chunk.choices.map((c) => contentText(c.delta?.content)).join("");
          if (text) output.raw(text);
          if (text) last = text;
        }
      }
      if (!output.isMachine && !last.endsWith("\n")) output.raw("\n");
      return;
    }
    const response = await chatCompletion(api, input);
    return {
      data: protoJson(ChatCompletionResponseSchema, response),
      human: { kind: "text", text: response.choices.map((c) => contentText(c.message?.content)).join("\n") },
    };
  },
});

/** A message content Value as text: a string as is, anything else as JSON. */
function contentText(value: { kind: { case: string | undefined; value?: unknown } } | undefined): string {
  if (!value || value.kind.case === undefined) return "";
  if (value.kind.case === "stringValue") return String(value.kind.value);
  return JSON.stringify(value.kind.value);
}
