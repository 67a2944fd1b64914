import { describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { decideColor } from "../../src/output/io-streams.js";
import { renderResult, type ResultView } from "../../src/output/render.js";
import { createTheme } from "../../src/output/theme.js";
import { formatBytes } from "../../src/output/format-bytes.js";

const plain = await createTheme(false);
const colored = await createTheme(true);
const view: ResultView = {
  data: [{ id: "acme-corp/greeter", active_version: 1 }],
  human: {
    kind: "table",
    columns: [
      { key: "id", header: "ID" },
      { key: "v", header: "ACTIVE" },
    ],
    wideColumns: [{ key: "x", header: "EXTRA" }],
    rows: [
      { id: "acme-corp:greeter", v: "1", x: "wide-only" },
      { id: "acme-corp:a", v: "-", x: "" },
    ],
    empty: "No apps yet.",
  },
};

describe("renderResult", () => {
  it("aligns table columns without box drawing or ANSI when colour is off", () => {
    expect(renderResult(view, "table", plain)).toBe("ID                 ACTIVE\nacme-corp:greeter  1\nacme-corp:a        -\n");
  });

  it("adds the wide columns only for -o wide", () => {
    expect(renderResult(view, "table", plain)).not.toContain("EXTRA");
    expect(renderResult(view, "wide", plain)).toContain("EXTRA");
    expect(renderResult(view, "wide", plain)).toContain("wide-only");
  });

  it("prints the data as JSON and YAML", () => {
    expect(JSON.parse(renderResult(view, "json", plain))).toEqual(view.data);
    expect(parseYaml(renderResult(view, "yaml", plain, toYaml))).toEqual(view.data);
  });

  it("prints [] for an empty list and the empty message for a table", () => {
    const empty: ResultView = { data: [], human: { kind: "table", columns: [{ key: "id", header: "ID" }], rows: [], empty: "No apps yet." } };
    expect(renderResult(empty, "json", plain).trim()).toBe("[]");
    expect(renderResult(empty, "table", plain)).toBe("No apps yet.\n");
  });

  it("uses ANSI only when colour is on", () => {
    expect(renderResult(view, "table", colored)).toContain("\u001b[1m");
    expect(renderResult(view, "table", plain)).not.toContain("\u001b[");
  });

  it("styles without colour as chalk at level 0 does: chained or not, the arguments joined by spaces", () => {
    expect(plain.bold("a")).toBe("a");
    expect(plain.red.bold.dim("a", "b", 3)).toBe("a b 3");
    expect(plain.level).toBe(0);
    expect(colored.red.bold("a")).toBe("\u001b[31m\u001b[1ma\u001b[22m\u001b[39m");
  });
});

describe("decideColor", () => {
  it.each<[string, boolean, Record<string, string>, boolean, boolean]>([
    ["a terminal", true, {}, false, true],
    ["a pipe", false, {}, false, false],
    ["NO_COLOR on a terminal", true, { NO_COLOR: "1" }, false, false],
    ["--no-color on a terminal", true, {}, true, false],
    ["FORCE_COLOR on a pipe", false, { FORCE_COLOR: "1" }, false, true],
    ["FORCE_COLOR=0 on a terminal", true, { FORCE_COLOR: "0" }, false, false],
    ["NO_COLOR beats FORCE_COLOR", false, { NO_COLOR: "1", FORCE_COLOR: "1" }, false, false],
    ["TERM=dumb", true, { TERM: "dumb" }, false, false],
  ])("%s", (_name, isTTY, env, noColorFlag, expected) => {
    expect(decideColor({ isTTY, env, noColorFlag })).toBe(expected);
  });
});

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [999, "999 B"],
    [1536, "1.5 kB"],
    [20_000_000, "20 MB"],
  ])("%d -> %s", (bytes, text) => expect(formatBytes(bytes)).toBe(text));
});

describe("byteProgress", () => {
  it("off a terminal: a line per interval and the completion once, though a streamed upload keeps reporting the total while its last chunks go", async () => {
    const { PassThrough } = await import("node:stream");
    const { Output } = await import("../../src/output/output.js");
    const { byteProgress } = await import("../../src/output/progress.js");
    const stderr = new PassThrough();
    const io = { stdout: new PassThrough(), stderr, stdin: new PassThrough(), stdoutIsTTY: false, stderrIsTTY: false, stdinIsTTY: false, stdoutColor: false, stderrColor: false, columns: 80 };
    const output = await Output.create(io, "table", false);
    let time = 0;
    const progress = byteProgress(output, await output.spinner("Uploading"), "Uploading", { intervalMs: 2000, now: () => time });
    for (const [at, done] of [[500, 100], [2100, 400], [2500, 500], [4200, 1000], [4300, 1000], [9000, 1000]] as const) {
      time = at;
      progress.update(done, 1000);
    }
    const lines = String(stderr.read() ?? "").split("\n").filter((l) => l.startsWith("Uploading"));
    expect(lines).toEqual(["Uploading 400 B / 1.0 kB", "Uploading 1.0 kB / 1.0 kB"]);
  });
});
