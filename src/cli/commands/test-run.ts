import { isAbsolute, resolve } from "node:path";
import { readInfoYaml } from "../../core/info-yaml.js";
import { readPayload } from "../../core/payload.js";
import { CliError } from "../../errors.js";
import { opt, type OptionSpec, type OptionValues } from "../command-spec.js";
import type { CommandContext } from "../command-context.js";

/** The payload flags of `draft test` and `version test` (the same as `invoke`'s). */
export const payloadOptions: OptionSpec[] = [
  { flags: "-p, --payload <json>", description: "request body (must be valid JSON)", valueType: "json" },
  { flags: "--payload-file <path>", description: "send this file's bytes as the body (- reads stdin)" },
];

/**
 * The body from --payload / --payload-file (a relative path is the user's: resolved against the
 * command's cwd). For a test run (`testOf`: the app's name), with neither flag, the `test_input:` of
 * ./info.yaml when that file is the app's (its name: is the app's or absent), said so on stderr.
 */
export async function payloadFrom(options: OptionValues, ctx: CommandContext, testOf?: string): Promise<Uint8Array> {
  const file = opt.string(options, "payloadFile");
  if (testOf !== undefined && file === undefined && opt.string(options, "payload") === undefined) {
    const info = await readInfoYaml(ctx.cwd, ".");
    if (info?.testInput !== undefined && (info.name === undefined || info.name === testOf)) {
      ctx.output.info(`payload: test_input from ${info.shown}`);
      return new TextEncoder().encode(info.testInput);
    }
  }
  const payloadFile = file === undefined || file === "-" || isAbsolute(file) ? file : resolve(ctx.cwd, file);
  try {
    return await readPayload({ payload: opt.string(options, "payload"), payloadFile, readStdin: ctx.readStdin });
  } catch (error) {
    // Name the file as the user typed it.
    if (error instanceof Error && payloadFile !== file && file !== undefined) error.message = error.message.replace(payloadFile ?? "", file);
    throw error;
  }
}

/** A test run answered 5xx: the response is printed, then the command fails (exit 1), like `invoke`. */
export function failOn5xx(statusCode: number, what: string, executionId: string): void {
  if (statusCode >= 500) throw new CliError("FAILURE", `${what} answered HTTP ${statusCode} (execution ${executionId})`);
}
