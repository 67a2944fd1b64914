import { createInterface } from "node:readline/promises";
import type { Readable } from "node:stream";
import type { IoStreams } from "../output/io-streams.js";

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** A y/N question on stderr; false without asking when stdin is not a terminal. */
export async function confirmOnTerminal(io: IoStreams, question: string): Promise<boolean> {
  if (!io.stdinIsTTY) return false;
  const rl = createInterface({ input: io.stdin, output: io.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
