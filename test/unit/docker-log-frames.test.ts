/** The Docker Engine API's multiplexed log frames, parsed with a bound on what a frame may declare. */
import { describe, expect, it } from "vitest";
import { LogFrameParser, MAX_FRAME_BYTES } from "../../src/local/drivers/docker-log-frames.js";

function frame(kind: number, payload: string | Buffer, declared?: number): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(8);
  head[0] = kind;
  head.writeUInt32BE(declared ?? body.length, 4);
  return Buffer.concat([head, body]);
}

function parse(chunks: Buffer[]): { out: string[]; ok: boolean[] } {
  const p = new LogFrameParser();
  const out: string[] = [];
  const ok = chunks.map((c) => p.push(c, (s, b) => out.push(`${s}:${b.toString()}`)));
  return { out, ok };
}

describe("docker log frames", () => {
  it("splits stdout and stderr frames, across any chunk boundaries", () => {
    const all = Buffer.concat([frame(1, "one\n"), frame(2, "two\n"), frame(1, "three\n")]);
    for (let cut = 1; cut < all.length; cut++) {
      const { out, ok } = parse([all.subarray(0, cut), all.subarray(cut)]);
      expect(ok).toEqual([true, true]);
      expect(out).toEqual(["stdout:one\n", "stderr:two\n", "stdout:three\n"]);
    }
  });

  it("a frame declaring more than MAX_FRAME_BYTES ends the stream at once instead of buffering up to 4 GiB", () => {
    const { out, ok } = parse([Buffer.concat([frame(1, "kept\n"), frame(1, "x", 0xffffffff)]), Buffer.alloc(1024, 0x61)]);
    expect(out).toEqual(["stdout:kept\n"]);
    expect(ok).toEqual([false, false]);
    expect(parse([frame(2, Buffer.alloc(MAX_FRAME_BYTES, 0x62))]).out).toHaveLength(1);
  });

  it("a header with an unknown stream type is corrupt, not a frame", () => {
    expect(parse([frame(7, "?")])).toEqual({ out: [], ok: [false] });
  });
});
