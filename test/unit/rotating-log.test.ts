import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RotatingLog } from "../../src/local/drivers/rotating-log.js";
import { tempDir } from "../helpers/temp-dirs.js";

describe("instance output log", () => {
  it("rotates at its size: output.log and output.log.1 stay under the bound, the newest lines kept in order", async () => {
    const file = join(tempDir("rotlog"), "output.log");
    const log = new RotatingLog(file, 10_000);
    for (let i = 0; i < 5_000; i++) log.write(`line ${String(i).padStart(6, "0")} ${"x".repeat(80)}\n`);
    log.end();
    expect(statSync(file).size).toBeLessThanOrEqual(10_000);
    expect(statSync(`${file}.1`).size).toBeLessThanOrEqual(10_000);
    const lines = (readFileSync(`${file}.1`, "utf8") + readFileSync(file, "utf8")).trimEnd().split("\n");
    expect(lines.at(-1)).toMatch(/^line 004999 /);
    const numbers = lines.map((l) => Number(l.slice(5, 11)));
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i));
  });

  it("continues the size of an existing log (a restarted instance reusing its file)", async () => {
    const file = join(tempDir("rotlog"), "output.log");
    const first = new RotatingLog(file, 1_000);
    first.write("a".repeat(900));
    first.end();
    const second = new RotatingLog(file, 1_000);
    second.write("b".repeat(200));
    second.end();
    expect(readFileSync(`${file}.1`, "utf8")).toBe("a".repeat(900));
    expect(readFileSync(file, "utf8")).toBe("b".repeat(200));
  });
});
