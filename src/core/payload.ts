import { readFile } from "node:fs/promises";
import { UsageError } from "../errors.js";

export interface PayloadInput {
  payload?: string | undefined;
  payloadFile?: string | undefined;
  /** Reads all of stdin, for `--payload-file -`. */
  readStdin: () => Promise<Buffer>;
}

/**
 * The request body: `--payload` must be valid JSON (it is sent as is); `--payload-file` sends the
 * file's bytes unchanged (`-` reads stdin). No payload sends an empty body.
 */
export async function readPayload(input: PayloadInput): Promise<Uint8Array> {
  if (input.payload !== undefined && input.payloadFile !== undefined) {
    throw new UsageError("--payload and --payload-file cannot be used together");
  }
  if (input.payload !== undefined) {
    try {
      JSON.parse(input.payload);
    } catch (error) {
      throw new UsageError(`--payload is not valid JSON: ${(error as Error).message}`);
    }
    return Buffer.from(input.payload, "utf8");
  }
  if (input.payloadFile !== undefined) {
    if (input.payloadFile === "-") return input.readStdin();
    try {
      return await readFile(input.payloadFile);
    } catch (error) {
      throw new UsageError(`--payload-file ${input.payloadFile} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  return new Uint8Array();
}
