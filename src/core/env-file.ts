import { readFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { UsageError } from "../errors.js";

/** A key as --env takes it (parseKeyValues), with the dotenv `export ` prefix allowed. */
const ASSIGNMENT = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=(.*)$/;

/**
 * The --env-file files as KEY=VALUE items, file by file in order (a later file, then --env, wins).
 * Values are parsed by dotenv (quotes, escapes, multi-line quoted values, `export`, comments); each
 * line is checked first, since dotenv skips what it cannot read: a malformed line is an error
 * naming the file and line, and never shows the line (it may hold a secret).
 */
export async function readEnvFiles(files: readonly string[], cwd: string): Promise<string[]> {
  if (files.length === 0) return [];
  const { parse } = await import("dotenv");
  const items: string[] = [];
  for (const file of files) {
    const path = isAbsolute(file) ? file : join(cwd, file);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      throw new UsageError(`--env-file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    checkEnvLines(text, file);
    for (const [key, value] of Object.entries(parse(text))) items.push(`${key}=${value}`);
  }
  return items;
}

/** Every line is blank, a comment, KEY=VALUE, or inside a quoted value that spans lines. */
export function checkEnvLines(text: string, file: string): void {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index] as string;
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const match = ASSIGNMENT.exec(line);
    if (!match) throw new UsageError(`${file}:${index + 1}: not a KEY=VALUE line (dotenv syntax: KEY=VALUE, export KEY=VALUE, # comment; keys are letters, digits and '_')`);
    const value = (match[1] as string).trimStart();
    const quote = value[0];
    if (quote !== '"' && quote !== "'" && quote !== "`") continue;
    if (value.indexOf(quote, 1) > 0) continue;
    // A quoted value that goes on: it ends on the first later line holding the same quote.
    const end = lines.findIndex((later, at) => at > index && later.includes(quote));
    if (end < 0) throw new UsageError(`${file}:${index + 1}: the quoted value is never closed (no ${quote} after it)`);
    index = end;
  }
}
