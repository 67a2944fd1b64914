import type { InvokeHead, InvokeTrailer } from "../../gen/dodil/ignite/v1/compute_pb.js";
import { formatAppRef, parseAppRef } from "../../core/app-ref.js";
import { CliError } from "../../errors.js";
import { APP_ID_OR_MANIFEST, appIdOrManifest } from "../manifest-app.js";
import { defineCommand, opt } from "../command-spec.js";
import { loadDeps } from "../load-deps.js";
import { payloadFrom } from "./test-run.js";

export const invokeCommand = defineCommand({
  name: "invoke",
  summary: "Call an app and print its response",
  description:
    "Send a payload to the app (POST / with content-type application/json unless --method, --path, --header or --content-type say otherwise) and print the response body as it arrives. " +
    "A 5xx answer exits 1. With -o json, prints one object with status, headers, execution id, timing and the body. " +
    "With --async the call is queued (InvokeAsync) and only its execution id is printed; `execution get|watch|logs` follow it.",
  args: [{ name: "id", description: APP_ID_OR_MANIFEST, required: false }],
  options: [
    { flags: "-p, --payload <json>", description: "request body (must be valid JSON)", valueType: "json" },
    { flags: "--payload-file <path>", description: "send this file's bytes as the body (- reads stdin)" },
    { flags: "-X, --method <method>", description: "HTTP method (default POST)" },
    { flags: "--path <path>", description: "request path, with an optional ?query (default /)" },
    { flags: "-H, --header <header>", description: 'request header "Name: value" (repeatable)', repeatable: true },
    { flags: "--content-type <type>", description: "the body's media type (default application/json)" },
    { flags: "--async", description: "queue the call (InvokeAsync) and print its execution id at once; follow it with `execution watch`" },
  ],
  examples: [
    `dodil ignite invoke acme-corp:greeter -p '{"name": "ada"}'`,
    "dodil ignite invoke greeter --payload-file request.json -o json | jq .status_code",
    `dodil ignite invoke greeter --async -p '{"name": "ada"}'`,
    `dodil ignite invoke acme-corp:api -X GET --path '/items?limit=5' -H 'accept: application/json'`,
  ],
  async handler([id = ""], options, ctx) {
    const { httpRequestFromFlags, invokeApp, invokeAsync } = await loadDeps.compute();
    const ref = parseAppRef(await appIdOrManifest(id, ctx), ctx.settings().org.value);
    const http = httpRequestFromFlags({ method: opt.string(options, "method"), path: opt.string(options, "path"), headers: opt.list(options, "header"), contentType: opt.string(options, "contentType") });
    const body = await payloadFrom(options, ctx);
    const api = await ctx.api();
    const { output } = ctx;
    if (opt.flag(options, "async")) {
      const executionId = await invokeAsync(api, ref, body, http);
      output.info(`queued; follow it with \`dodil ignite execution watch ${executionId}\``);
      // The bare id on stdout, so `id=$(dodil ignite invoke app --async)` works.
      return { data: { execution_id: executionId }, human: { kind: "text", text: executionId } };
    }
    let head: InvokeHead | undefined;
    let trailer: InvokeTrailer | undefined;
    const chunks: Uint8Array[] = [];
    let lastByte = 0x0a;
    for await (const event of invokeApp(api, ref, { body, http })) {
      if (event.kind === "head") {
        head = event.head;
        output.trace(`execution ${head.executionId} on version ${head.version}${head.coldStart ? " (cold start)" : ""}: HTTP ${head.statusCode}`);
      } else if (event.kind === "body") {
        if (output.isMachine) chunks.push(event.chunk);
        else output.raw(event.chunk);
        if (event.chunk.length > 0) lastByte = event.chunk[event.chunk.length - 1] as number;
      } else {
        trailer = event.trailer;
      }
    }
    if (!head) throw new CliError("UNAVAILABLE", `the invocation of ${formatAppRef(ref)} ended before the app answered`);
    if (output.isMachine) {
      const text = Buffer.concat(chunks).toString("utf8");
      output.result({
        data: {
          status_code: head.statusCode,
          execution_id: head.executionId,
          function_id: head.functionId,
          organization_id: head.organizationId,
          version: head.version,
          cold_start: head.coldStart,
          duration_ms: Number(trailer?.durationMs ?? 0),
          headers: head.headers,
          body: parseJsonOr(text),
        },
      });
    } else if (ctx.io.stdoutIsTTY && lastByte !== 0x0a) {
      output.raw("\n");
    }
    // The API was reached and the app answered, then failed mid-answer: like a 5xx, exit 1.
    if (trailer?.error) throw new CliError("FAILURE", `${formatAppRef(ref)} failed during its answer (HTTP ${head.statusCode}, execution ${head.executionId}): ${trailer.error}`);
    if (head.statusCode >= 500) throw new CliError("FAILURE", `${formatAppRef(ref)} answered HTTP ${head.statusCode} (execution ${head.executionId})`);
  },
});

function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
