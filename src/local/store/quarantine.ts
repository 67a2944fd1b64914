/**
 * State files that cannot be used are moved aside, never deleted, and never allowed to stop the
 * plane: a truncated app.json (a disk that filled up, an editor, a bad restore) costs that one
 * record, reported with its path and what is wrong, while every other app keeps serving.
 *
 *   quarantine/<when>-<path with / as __>             the file as it was found
 *   quarantine/<when>-<path with / as __>.why.json    { path, reason, quarantinedAtMs }
 *
 * `dodil ignite dev doctor --data-dir DIR` lists them; putting one back is a manual `mv` once fixed.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { errorMessage } from "../errors.js";
import { fsyncDir, writeJson } from "../atomic-fs.js";

export const QUARANTINE_DIR = "quarantine";

export interface QuarantinedFile {
  /** Where the file was, relative to the data dir. */
  path: string;
  reason: string;
  quarantinedAtMs: number;
  /** Where it is now, relative to the data dir. */
  movedTo: string;
}

/** What is wrong with a record whose JSON parsed (thrown by a record check). */
export class InvalidRecord extends Error {}

export class Quarantine {
  constructor(
    readonly dataDir: string,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  dir(): string {
    return path.join(this.dataDir, QUARANTINE_DIR);
  }

  /** Moves `file` into the quarantine with why; false when it was gone already (another reader moved it). */
  async put(file: string, reason: string): Promise<boolean> {
    const rel = path.relative(this.dataDir, file);
    const now = Date.now();
    const name = `${new Date(now).toISOString().replace(/[:.]/g, "-")}-${rel.split(path.sep).join("__")}`;
    await fsp.mkdir(this.dir(), { recursive: true, mode: 0o700 });
    const dest = path.join(this.dir(), name);
    try {
      await fsp.rename(file, dest);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw e;
    }
    await fsyncDir(path.dirname(file));
    await writeJson(`${dest}.why.json`, { path: rel, reason, quarantinedAtMs: now });
    this.log(`state file ${file} is unusable (${reason}): moved to ${dest}; the rest of the plane keeps serving`);
    return true;
  }

  async list(): Promise<QuarantinedFile[]> {
    const names = await fsp.readdir(this.dir()).catch(() => [] as string[]);
    const out: QuarantinedFile[] = [];
    for (const n of names.filter((n) => n.endsWith(".why.json")).sort()) {
      try {
        const why = JSON.parse(await fsp.readFile(path.join(this.dir(), n), "utf8")) as Omit<QuarantinedFile, "movedTo">;
        out.push({ path: why.path, reason: why.reason, quarantinedAtMs: why.quarantinedAtMs, movedTo: path.join(QUARANTINE_DIR, n.slice(0, -".why.json".length)) });
      } catch {
        out.push({ path: "?", reason: `unreadable note ${n}`, quarantinedAtMs: 0, movedTo: path.join(QUARANTINE_DIR, n) });
      }
    }
    return out;
  }

  /**
   * Reads a JSON record and checks it; a file that is not JSON or fails the check is quarantined and
   * reads as absent. Undefined when the file does not exist.
   */
  async read<T>(file: string, check: (value: unknown) => T): Promise<T | undefined> {
    let text: string;
    try {
      text = await fsp.readFile(file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    let reason: string;
    try {
      return check(JSON.parse(text));
    } catch (e) {
      if (e instanceof SyntaxError) reason = text.trim() === "" ? "empty file" : notJson(e);
      else if (e instanceof InvalidRecord) reason = e.message;
      else reason = errorMessage(e);
    }
    await this.put(file, reason);
    return undefined;
  }
}

/**
 * Why JSON.parse refused a file, without the excerpt of the file V8 puts in some messages: the
 * file may be a secret.
 */
function notJson(e: SyntaxError): string {
  if (/end of JSON input/.test(e.message)) return "not valid JSON: it ends early (truncated)";
  const at = /at position (\d+)/.exec(e.message);
  return `not valid JSON${at ? ` at byte ${at[1]}` : ""} (truncated or garbled)`;
}
