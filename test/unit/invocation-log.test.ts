import { statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InvocationLog } from "../../src/local/invoke/invocation-log.js";
import { tempDir } from "../helpers/temp-dirs.js";

describe("invocation record", () => {
  it("stays under its bound while the totals count every call", async () => {
    const file = join(tempDir("invocations"), "invocations.jsonl");
    const log = new InvocationLog(20_000, 100);
    for (let i = 0; i < 5_000; i++) log.append(file, { t: i, ms: i, code: 200, ok: i % 5 !== 0 });
    expect(statSync(file).size).toBeLessThanOrEqual(20_000 + 100);
    const totals = await log.totals(file);
    expect(totals.total).toBe(5_000);
    expect(totals.succeeded).toBe(4_000);
    // the newest calls are kept for the percentiles
    expect(totals.recentMs.at(-1)).toBe(4_999);
    expect(totals.recentMs.length).toBeGreaterThanOrEqual(100);
  });

  it("a second process (a restart) continues from the file's size", async () => {
    const file = join(tempDir("invocations"), "invocations.jsonl");
    for (let round = 0; round < 3; round++) {
      const log = new InvocationLog(5_000, 10);
      for (let i = 0; i < 200; i++) log.append(file, { t: i, ms: 1, code: 200, ok: true });
    }
    expect(statSync(file).size).toBeLessThanOrEqual(5_100);
    expect((await new InvocationLog().totals(file)).total).toBe(600);
  });
});
