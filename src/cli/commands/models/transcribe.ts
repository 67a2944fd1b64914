import { resolve } from "node:path";
import { TRANSCRIPT_FORMATS } from "../../../core/flag-choices.js";
import { UsageError } from "../../../errors.js";
import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const modelsTranscribeCommand = defineCommand({
  name: "transcribe",
  summary: "Turn speech into text with a speech model (Transcribe)",
  description:
    "Send the audio file (- reads stdin; at most 25 MiB, larger is refused with exit 7 before anything is sent) to Transcribe and print the text. " +
    "Under -o json: {text}. The local control plane has no local models: it answers UNIMPLEMENTED (exit 1).",
  args: [
    { name: "model", description: "model id, e.g. whisper-large-v3" },
    { name: "audio-file", description: "the recording (wav, mp3, m4a, …), or - for stdin" },
  ],
  options: [
    { flags: "--language <code>", description: "the spoken language as ISO-639-1 (e.g. en), when known" },
    { flags: "--response-format <format>", description: "json, text, srt, vtt or verbose_json (the model's default when unset)", choices: TRANSCRIPT_FORMATS },
  ],
  examples: ["dodil ignite models transcribe whisper-large-v3 talk.wav", "dodil ignite models transcribe whisper-large-v3 meeting.mp3 --language en --response-format srt > meeting.srt"],
  async handler([model = "", file = ""], options, ctx) {
    const { checkModelId, readAudio, transcribe } = await loadDeps.models();
    const responseFormat = opt.string(options, "responseFormat");
    if (responseFormat !== undefined && !(TRANSCRIPT_FORMATS as readonly string[]).includes(responseFormat)) {
      throw new UsageError(`invalid value "${responseFormat}" for --response-format: use ${TRANSCRIPT_FORMATS.join(", ")}`);
    }
    const language = opt.string(options, "language");
    if (language !== undefined && !/^[a-z]{2,3}$/i.test(language)) throw new UsageError(`invalid value "${language}" for --language: use an ISO-639-1 code such as en or de`);
    const id = checkModelId(model);
    const audio = await readAudio(file === "-" ? file : resolve(ctx.cwd, file), ctx.readStdin);
    const response = await transcribe(await ctx.api(), { model: id, audio, language, responseFormat });
    return { data: { text: response.text }, human: { kind: "text", text: response.text } };
  },
});
