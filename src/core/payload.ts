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
  if (input.payloadFile !== undefined) return readFileOrStdin(input.payloadFile, "--payload-file", input.readStdin);
  return new Uint8Array();
}

/** The bytes of `file`, or of stdin when it is `-`; unreadable is a usage error naming `what` (a flag). */
export async function readFileOrStdin(file: string, what: string, readStdin: () => Promise<Buffer>): Promise<Buffer> {
  try {
    return file === "-" ? await readStdin() : await readFile(file);
  } catch (error) {
    throw new UsageError(`${what} ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
