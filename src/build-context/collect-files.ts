/**
 * Walks a build-context directory and decides what is sent.
 *
 * Order of rules, per path:
 * 1. the Dockerfile and the ignore file in use (and a root `.dockerignore`) are always
 *    sent, whatever the patterns say (Docker's `TrimBuildFilesFromExcludes`);
 * 2. default excludes: any path component named `.git`, `node_modules`,
 *    `__pycache__`, `target` or `.venv`, at any depth (`defaultExcludes: false` turns
 *    this off); a `!` line in `.dockerignore` does not bring them back;
 * 3. `.dockerignore` at the context root, or `<Dockerfile>.dockerignore` next to the
 *    Dockerfile, which takes precedence (BuildKit), with Docker's semantics.
 *
 * An excluded directory is not descended into unless a `!` pattern could re-include
 * something below it; when something below it is re-included the directory entry is
 * sent too (as BuildKit does), so the archive carries its normalised mode.
 *
 * Symlink policy: links are never followed. A link whose target stays inside the
 * context is kept as a link (an absolute target inside the context is rewritten to a
 * relative one, so the archive does not depend on where the tree lives); a link that
 * escapes the context (lexically or through other links) is an error naming it; a
 * dangling link is skipped with a warning; a link loop is an error. Sockets, FIFOs and
 * device files are skipped with a warning.
 *
 * Nothing is printed: warnings are returned as data.
 */
import { readdir, readFile, readlink, realpath, stat } from "node:fs/promises";
import { lstatSync } from "node:fs";
import type { Stats } from "node:fs";
import path from "node:path";
import { createIgnoreMatcher, DockerignoreError, parseDockerignore } from "./dockerignore.js";
import type { IgnoreMatcher } from "./dockerignore.js";
import { BuildContextError } from "./errors.js";

export const DEFAULT_EXCLUDES: readonly string[] = [".git", "node_modules", "__pycache__", "target", ".venv"];

export type ContextEntryType = "file" | "dir" | "symlink";

export interface ContextEntry {
  /** POSIX path relative to the context root, no leading `./`, no trailing `/`. */
  path: string;
  type: ContextEntryType;
  /** Bytes of file data (0 for directories and links). */
  size: number;
  /** Normalised mode as packed: dirs 0o755, files 0o755 if any exec bit else 0o644, links 0o777. */
  mode: number;
  /** Symlink target as stored in the archive. */
  linkTarget?: string;
  /**
   * When the entry last changed and which inode it is, as the walk's lstat saw them: what the
   * context cache's signature vouches for (context-cache.ts), so a save need not stat twice.
   */
  changed: { mtimeMs: number; ino: number };
}

export interface ExcludedEntry {
  path: string;
  type: ContextEntryType | "other";
  /** The rule that excluded it: the ignore-file line as written, or the default-exclude name. */
  rule: string;
  /** `default`, or `<ignore file>:<line>`. */
  source: string;
}

export interface CollectOptions {
  /** Dockerfile path, relative to the context root (or absolute). Default `Dockerfile`. */
  dockerfilePath?: string;
  /** Apply the five default excludes. Default true. */
  defaultExcludes?: boolean;
  /** Read `.dockerignore` / `<Dockerfile>.dockerignore`. Default true. */
  useIgnoreFile?: boolean;
  /** Checked between directories; aborts the walk. */
  signal?: AbortSignal;
}

export interface CollectResult {
  /** Real (symlink-resolved) absolute path of the context root. */
  root: string;
  /** Entries to send, in archive order (depth-first, names sorted by UTF-8 bytes). */
  files: ContextEntry[];
  excluded: ExcludedEntry[];
  warnings: string[];
  /** Sum of regular-file sizes. */
  totalBytes: number;
  /** The ignore file that was applied (absolute path), if any. */
  ignoreFile?: string;
  /** The Dockerfile path relative to the root, when it lies inside the context. */
  dockerfile?: string;
}

const utf8Compare = (a: string, b: string): number => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

/** Sorts names by their UTF-8 bytes (the order GNU tar's --sort=name uses). */
export function sortNames(names: string[]): string[] {
  return names.sort(utf8Compare);
}

export function normaliseFileMode(mode: number): number {
  return mode & 0o111 ? 0o755 : 0o644;
}

function toPosix(p: string): string {
  return p.split(path.sep).join("/");
}

function isInside(root: string, p: string): boolean {
  if (p === root) return true;
  const withSep = root.endsWith(path.sep) ? root : root + path.sep;
  return p.startsWith(withSep);
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : undefined;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

function specialKind(st: Stats): string | undefined {
  if (st.isFIFO()) return "FIFO";
  if (st.isSocket()) return "socket";
  if (st.isCharacterDevice()) return "character device";
  if (st.isBlockDevice()) return "block device";
  return undefined;
}

interface DirFrame {
  rel: string;
  changed: ContextEntry["changed"];
  emitted: boolean;
  parent: DirFrame | undefined;
  exclusion?: ExcludedEntry;
}

/** The context root, as given and resolved, and how to name an absolute path relative to it. */
interface ContextRoot {
  given: string;
  real: string;
  /** The path relative to the root (either spelling), or undefined when it lies outside. */
  relTo(abs: string): string | undefined;
}

async function contextRoot(root: string): Promise<ContextRoot> {
  const given = path.resolve(root);
  let real: string;
  try {
    real = await realpath(given);
    if (!(await stat(real)).isDirectory()) throw new Error("not a directory");
  } catch (err) {
    throw new BuildContextError("CONTEXT_NOT_DIRECTORY", `build context ${root} is not a readable directory`, undefined, { cause: err });
  }
  const roots = real === given ? [real] : [real, given];
  const relTo = (abs: string): string | undefined => {
    for (const r of roots) if (isInside(r, abs)) return toPosix(path.relative(r, abs));
    return undefined;
  };
  return { given, real, relTo };
}

/** `<Dockerfile>.dockerignore` (BuildKit's precedence) or the root's `.dockerignore`, parsed. */
async function loadIgnoreFile(root: ContextRoot, dockerfileAbs: string): Promise<{ ignoreFile?: string; matcher?: IgnoreMatcher }> {
  const specific = dockerfileAbs + ".dockerignore";
  const rootIgnore = path.join(root.real, ".dockerignore");
  const ignoreFile = (await isFile(specific)) ? specific : (await isFile(rootIgnore)) ? rootIgnore : undefined;
  if (!ignoreFile) return {};
  const label = root.relTo(ignoreFile) ?? ignoreFile;
  try {
    const text = await readFile(ignoreFile, "utf8");
    return { ignoreFile, matcher: createIgnoreMatcher(parseDockerignore(text, label)) };
  } catch (err) {
    if (err instanceof DockerignoreError) {
      throw new BuildContextError("INVALID_IGNORE_FILE", err.message, label, { cause: err });
    }
    throw new BuildContextError("UNREADABLE_PATH", `cannot read ${label}: ${(err as Error).message}`, label, { cause: err });
  }
}

const changedOf = (st: Stats): ContextEntry["changed"] => ({ mtimeMs: st.mtimeMs, ino: st.ino });

const entryType = (st: Stats): ExcludedEntry["type"] => (st.isDirectory() ? "dir" : st.isFile() ? "file" : st.isSymbolicLink() ? "symlink" : "other");

/** One walk of a context: what it keeps, what it excludes and why, and its warnings. */
class ContextWalk {
  readonly files: ContextEntry[] = [];
  readonly excluded: ExcludedEntry[] = [];
  readonly warnings: string[] = [];
  totalBytes = 0;
  /** Paths sent whatever the patterns say, and the directories on the way to them. */
  private readonly forced = new Set<string>();
  private readonly forcedDirs = new Set<string>();
  private readonly useDefaults: boolean;

  constructor(
    private readonly root: ContextRoot,
    private readonly matcher: IgnoreMatcher | undefined,
    forced: (string | undefined)[],
    private readonly options: CollectOptions,
  ) {
    this.useDefaults = options.defaultExcludes ?? true;
    for (const rel of forced) if (rel) this.forced.add(rel);
    for (const f of this.forced) {
      const parts = f.split("/");
      for (let i = 1; i < parts.length; i++) this.forcedDirs.add(parts.slice(0, i).join("/"));
    }
  }

  /** Adds a directory's entry (and its parents') once something below it is kept. */
  private emit(frame: DirFrame | undefined): void {
    if (!frame || frame.emitted) return;
    this.emit(frame.parent);
    this.files.push({ path: frame.rel, type: "dir", size: 0, mode: 0o755, changed: frame.changed });
    frame.emitted = true;
  }

  private async checkSymlink(abs: string, rel: string): Promise<string | undefined> {
    const target = await readlink(abs);
    const lexical = path.resolve(path.dirname(abs), target);
    if (this.root.relTo(lexical) === undefined) {
      throw new BuildContextError("SYMLINK_ESCAPE", `symlink ${rel} points outside the build context (target: ${target})`, rel);
    }
    try {
      await stat(abs);
    } catch (err) {
      const code = errnoCode(err);
      if (code === "ENOENT" || code === "ENOTDIR") {
        this.warnings.push(`skipped dangling symlink ${rel} -> ${target}`);
        return undefined;
      }
      if (code === "ELOOP") {
        throw new BuildContextError("SYMLINK_LOOP", `symlink loop at ${rel} (target: ${target})`, rel, { cause: err });
      }
      throw new BuildContextError("UNREADABLE_PATH", `cannot resolve symlink ${rel}: ${(err as Error).message}`, rel, { cause: err });
    }
    const real = await realpath(abs);
    if (!isInside(this.root.real, real)) {
      throw new BuildContextError("SYMLINK_ESCAPE", `symlink ${rel} points outside the build context (target: ${target}, resolves to ${real})`, rel);
    }
    if (!path.isAbsolute(target)) return target;
    const rewritten = toPosix(path.relative(path.dirname(abs), real));
    return rewritten === "" ? "." : rewritten;
  }

  async walk(dirAbs: string, frame: DirFrame | undefined, onlyForced: boolean): Promise<void> {
    if (this.options.signal?.aborted) throw new BuildContextError("ABORTED", "packing was cancelled");
    let names: string[];
    try {
      names = sortNames(await readdir(dirAbs));
    } catch (err) {
      const rel = frame?.rel ?? ".";
      throw new BuildContextError("UNREADABLE_PATH", `cannot read directory ${rel}: ${(err as Error).message}`, rel, { cause: err });
    }
    for (const name of names) {
      const rel = frame ? `${frame.rel}/${name}` : name;
      const abs = path.join(dirAbs, name);
      let st: Stats;
      try {
        // Synchronous on purpose: an async lstat is a thread-pool round trip (~80 µs on a
        // small VM, 20x the call itself), which dominated the walk of a 20,000-file tree.
        // The event loop still gets control at every directory's readdir.
        st = lstatSync(abs);
      } catch (err) {
        if (errnoCode(err) === "ENOENT") continue; // vanished during the walk
        throw new BuildContextError("UNREADABLE_PATH", `cannot stat ${rel}: ${(err as Error).message}`, rel, { cause: err });
      }
      if (await this.exclude({ name, rel, abs, st }, frame, onlyForced)) continue;
      await this.keep({ rel, abs, st }, frame);
    }
  }

  /** Applies the default excludes and the ignore file to one entry; true when it is not sent itself. */
  private async exclude(e: { name: string; rel: string; abs: string; st: Stats }, frame: DirFrame | undefined, onlyForced: boolean): Promise<boolean> {
    const { name, rel, abs, st } = e;
    const isForced = this.forced.has(rel);
    const isForcedDir = this.forcedDirs.has(rel) && st.isDirectory();
    // Default excludes (and the inside of a default-excluded dir that holds a forced path).
    if (!isForced && (onlyForced || (this.useDefaults && DEFAULT_EXCLUDES.includes(name)))) {
      if (isForcedDir) {
        const sub: DirFrame = { rel, changed: changedOf(st), emitted: false, parent: frame };
        await this.walk(abs, sub, true);
        if (!sub.emitted) this.excluded.push({ path: rel, type: "dir", rule: name, source: "default" });
        return true;
      }
      if (!onlyForced) this.excluded.push({ path: rel, type: entryType(st), rule: name, source: "default" });
      return true;
    }
    const matcher = this.matcher;
    const decision = matcher && !isForced ? matcher.matches(rel, st.isDirectory()) : { excluded: false };
    if (!decision.excluded) return false;
    const p = "pattern" in decision ? decision.pattern : undefined;
    const exclusion: ExcludedEntry = {
      path: rel,
      type: entryType(st),
      rule: decision.rule ?? "",
      source: p ? `${p.source ?? ".dockerignore"}:${p.line}` : ".dockerignore",
    };
    if (st.isDirectory() && (isForcedDir || !matcher!.canSkipExcludedDir(rel))) {
      const sub: DirFrame = { rel, changed: changedOf(st), emitted: false, parent: frame };
      await this.walk(abs, sub, false);
      if (!sub.emitted) this.excluded.push(exclusion);
    } else {
      this.excluded.push(exclusion);
    }
    return true;
  }

  private async keep(e: { rel: string; abs: string; st: Stats }, frame: DirFrame | undefined): Promise<void> {
    const { rel, abs, st } = e;
    if (st.isDirectory()) {
      this.emit(frame);
      const changed = changedOf(st);
      this.files.push({ path: rel, type: "dir", size: 0, mode: 0o755, changed });
      await this.walk(abs, { rel, changed, emitted: true, parent: frame }, false);
    } else if (st.isFile()) {
      this.emit(frame);
      this.files.push({ path: rel, type: "file", size: st.size, mode: normaliseFileMode(st.mode), changed: changedOf(st) });
      this.totalBytes += st.size;
    } else if (st.isSymbolicLink()) {
      const linkTarget = await this.checkSymlink(abs, rel);
      if (linkTarget !== undefined) {
        this.emit(frame);
        this.files.push({ path: rel, type: "symlink", size: 0, mode: 0o777, linkTarget, changed: changedOf(st) });
      }
    } else {
      this.warnings.push(`skipped ${specialKind(st) ?? "special file"} ${rel}: only files, directories and symlinks are sent`);
    }
  }
}

export async function collectFiles(root: string, options: CollectOptions = {}): Promise<CollectResult> {
  const ctx = await contextRoot(root);
  const dockerfileAbs = path.resolve(ctx.given, options.dockerfilePath ?? "Dockerfile");
  const dockerfileRel = ctx.relTo(dockerfileAbs);
  const { ignoreFile, matcher } = (options.useIgnoreFile ?? true) ? await loadIgnoreFile(ctx, dockerfileAbs) : {};
  // The Dockerfile and the ignore file in use (and a root .dockerignore) are always sent.
  const walk = new ContextWalk(ctx, matcher, [dockerfileRel, ignoreFile ? ctx.relTo(ignoreFile) : undefined, ".dockerignore"], options);
  await walk.walk(ctx.real, undefined, false);
  const result: CollectResult = { root: ctx.real, files: walk.files, excluded: walk.excluded, warnings: walk.warnings, totalBytes: walk.totalBytes };
  if (ignoreFile) result.ignoreFile = ignoreFile;
  if (dockerfileRel) result.dockerfile = dockerfileRel;
  return result;
}
