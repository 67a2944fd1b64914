import { createCipheriv, createHash } from "node:crypto";
import { gunzipSync, gzipSync, inflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { classifyRuns, gzipMember, looksIncompressible, SAMPLE_WINDOW } from "../../src/build-context/gzip-member.js";

function noise(seed: string, size: number): Buffer {
  const key = createHash("sha256").update(seed).digest();
  return createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

function text(seed: string, size: number): Buffer {
  const words = noise(seed, 4096).toString("hex").match(/.{1,7}/g)!;
  let s = "";
  for (let i = 0; s.length < size; i++) s += words[(i * 7919) % words.length] + (i % 11 === 0 ? "\n" : " ");
  return Buffer.from(s.slice(0, size));
}

describe("gzip member: which windows are stored", () => {
  it("stores random and already-compressed bytes, deflates text, zeros and repeated random blocks", () => {
    expect(looksIncompressible(noise("r", SAMPLE_WINDOW))).toBe(true);
    const compressed = gzipSync(Buffer.from(noise("g", 200_000).toString("hex")), { level: 9 });
    expect(compressed.length).toBeGreaterThan(SAMPLE_WINDOW);
    expect(looksIncompressible(compressed.subarray(0, SAMPLE_WINDOW))).toBe(true);
    expect(looksIncompressible(text("t", SAMPLE_WINDOW))).toBe(false);
    expect(looksIncompressible(Buffer.alloc(SAMPLE_WINDOW))).toBe(false);
    // High byte entropy but LZ77 compresses it 60x: a 1 KiB random block repeated.
    const block = noise("block", 1024);
    expect(looksIncompressible(Buffer.concat(Array.from({ length: 64 }, () => block)))).toBe(false);
    // Random hex (4 bits a byte) still compresses.
    expect(looksIncompressible(Buffer.from(noise("hex", SAMPLE_WINDOW / 2).toString("hex")))).toBe(false);
    // Too short to judge: deflated.
    expect(looksIncompressible(noise("short", 100))).toBe(false);
  });

  it("merges adjacent windows of the same kind into runs at fixed offsets", () => {
    const slice = Buffer.concat([text("a", 3 * SAMPLE_WINDOW), noise("b", 5 * SAMPLE_WINDOW), text("c", SAMPLE_WINDOW + 10)]);
    expect(classifyRuns(slice)).toEqual([
      { start: 0, end: 3 * SAMPLE_WINDOW, stored: false },
      { start: 3 * SAMPLE_WINDOW, end: 8 * SAMPLE_WINDOW, stored: true },
      { start: 8 * SAMPLE_WINDOW, end: slice.length, stored: false },
    ]);
  });
});

describe("gzip member: format", () => {
  it("is one ordinary gzip member: fixed header, stored and deflated runs, CRC and length", async () => {
    const slice = Buffer.concat([text("a", 300_000), noise("b", 400_000), text("c", 200_000), noise("d", 148_576)]);
    const member = await gzipMember(slice, 6);
    expect([...member.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    expect(gunzipSync(member).equals(slice)).toBe(true);
    // The deflate stream alone inflates to the slice too (no trailing garbage, a final block).
    expect(inflateRawSync(member.subarray(10, member.length - 8)).equals(slice)).toBe(true);
    // About the size zlib gives the whole slice at the same level.
    const zlibSize = gzipSync(slice, { level: 6 }).length;
    expect(member.length).toBeLessThan(zlibSize * 1.01);
    // The random runs are in it verbatim (stored).
    expect(member.includes(noise("b", 400_000).subarray(100_000, 120_000))).toBe(true);
    expect(member.includes(text("a", 300_000).subarray(0, 1000))).toBe(false);
  });

  it("handles an empty slice, a short one and an all-random one", async () => {
    expect(gunzipSync(await gzipMember(Buffer.alloc(0), 6)).length).toBe(0);
    expect(gunzipSync(await gzipMember(Buffer.from("hello"), 6)).toString()).toBe("hello");
    const random = noise("all", 1024 * 1024);
    const member = await gzipMember(random, 6);
    expect(gunzipSync(member).equals(random)).toBe(true);
    // Stored: 5 bytes a block of 65,535, header, final block and trailer.
    expect(member.length).toBe(random.length + 5 * Math.ceil(random.length / 65535) + 10 + 5 + 8);
  });

  it("depends only on the bytes and the level", async () => {
    const slice = Buffer.concat([text("x", 500_000), noise("y", 500_000)]);
    const a = await gzipMember(slice, 6);
    const b = await gzipMember(Buffer.from(slice), 6);
    expect(a.equals(b)).toBe(true);
    expect(a.equals(await gzipMember(slice, 1))).toBe(false);
  });
});
