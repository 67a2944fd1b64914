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

  it("rounds a positive duration below 1 ms up to 1 ms, so it is never 'no deadline'", () => {
    expect(parseDuration("1ns")).toBe(1);
    expect(parseDuration("0s")).toBe(0);
  });

  it("refuses a duration over the bound, naming the limit", () => {
    expect(parseDuration("168h")).toBe(168 * 3_600_000);
    expect(() => parseDuration("168h1ms")).toThrow('invalid duration "168h1ms" for --timeout: the limit is 168h');
    expect(() => parseDuration("999999999h")).toThrow(/the limit is 168h/);
    expect(parseDuration("8760h", "--since", 8760 * 3_600_000)).toBe(8760 * 3_600_000);
  });
});
