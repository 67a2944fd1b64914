import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseKeyValues } from "../../src/core/key-values.js";
import { readEnvFiles } from "../../src/core/env-file.js";
import { tempDir } from "../helpers/temp-dirs.js";

async function envOf(...texts: string[]): Promise<Record<string, string>> {
  const dir = tempDir("envfile");
  const names = texts.map((text, i) => {
    writeFileSync(join(dir, `${i}.env`), text);
    return `${i}.env`;
  });
  return parseKeyValues(await readEnvFiles(names, dir), "--env");
}

describe("--env-file (dotenv syntax)", () => {
  it.each<[string, string, Record<string, string>]>([
    ["plain", "A=1\nB=two words\n", { A: "1", B: "two words" }],
    ["double quotes keep spaces and expand \\n", 'A="  padded  "\nB="line1\\nline2"\n', { A: "  padded  ", B: "line1\nline2" }],
    ["single quotes are literal", "A='a \\n b'\n", { A: "a \\n b" }],
    ["export prefix", "export A=1\n  export B=2\n", { A: "1", B: "2" }],
    ["comments and blank lines", "# a comment\n\nA=1 # trailing\n   # indented comment\nB='#not a comment'\n", { A: "1", B: "#not a comment" }],
    ["an empty value", "A=\nB=''\n", { A: "", B: "" }],
    ["a value with =", "URL=postgres://u:p@h/db?x=1\n", { URL: "postgres://u:p@h/db?x=1" }],
    ["a multi-line quoted value", 'KEY="-----BEGIN-----\nabc\n-----END-----"\nNEXT=1\n', { KEY: "-----BEGIN-----\nabc\n-----END-----", NEXT: "1" }],
    ["CRLF line ends", "A=1\r\nB=2\r\n", { A: "1", B: "2" }],
  ])("%s", async (_name, text, expected) => {
    expect(await envOf(text)).toEqual(expected);
  });

  it("a later file wins over an earlier one", async () => {
    expect(await envOf("A=first\nB=kept\n", "A=second\n")).toEqual({ A: "second", B: "kept" });
  });

  it.each([
    ["not an assignment", "A=1\nthis is not one\n", /^0\.env:2: not a KEY=VALUE line/],
    ["a key with a space", "A=1\n\nMY KEY=secret-value\n", /^0\.env:3: not a KEY=VALUE line/],
    ["a key starting with a digit", "1A=secret-value\n", /^0\.env:1: /],
    ["YAML-style", "A: secret-value\n", /^0\.env:1: /],
    ["an unclosed quote", 'A=1\nB="secret-value\nC=2\n', /^0\.env:2: the quoted value is never closed/],
  ])("a malformed line (%s) is an error naming file and line, without the line", async (_name, text, message) => {
    const error = await envOf(text).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("secret-value");
  });

  it("a missing file is an error naming it", async () => {
    await expect(readEnvFiles(["nope.env"], tempDir("envfile"))).rejects.toThrow(/^--env-file nope\.env cannot be read \(ENOENT\)$/);
  });
});
