import { describe, expect, it } from "vitest";
import { parseDuration } from "../../src/config/duration.js";

describe("parseDuration (Go-style)", () => {
  it.each([
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["250ms", 250],
    ["1.5s", 1500],
    ["0", 0],
    ["2h0m10s", 7_210_000],
  ])("%s = %d ms", (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(["", "5", "m", "5 m", "5x", "-1s", "1s5"])("rejects %j naming the flag", (text) => {
    expect(() => parseDuration(text, "--timeout")).toThrow(/--timeout/);
  });
});
