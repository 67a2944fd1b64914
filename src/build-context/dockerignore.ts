/**
 * `.dockerignore` with Docker's exact semantics.
 *
 * This is a port of moby/patternmatcher (the matcher used by the Docker CLI,
 * BuildKit and buildx) and of its `ignorefile.ReadAll` reader:
 *
 * - reader: a UTF-8 BOM on the first line is dropped; a line is a comment only if
 *   its *first* character is `#`; lines are trimmed (Go `strings.TrimSpace`);
 *   `!` marks a re-include; each pattern is `filepath.Clean`ed and one leading
 *   `/` is removed;
 * - matcher: `filepath.Clean` again, `filepath.Match` syntax validation, then the
 *   same glob → regexp compilation as patternmatcher (`*` and `?` do not cross
 *   `/`, `**` crosses any number of directories, `[...]` classes, `\` escapes,
 *   regexp metacharacters `.+()|{}$` literal), case-sensitive;
 * - a path is excluded when the last pattern that matches it (or one of its
 *   parent directories, as `MatchesOrParentMatches`) is not a `!` pattern.
 *
 * Deliberate differences from Docker: invalid patterns are reported eagerly by
 * `createIgnoreMatcher` (Docker reports some of them only when a path is first
 * matched against them, and never for a `!` pattern that is never evaluated),
 * and a few exotic Go-regexp escapes (`\p{..}`, `\Q..\E`) are rejected.
 */
import { compileGoRegexp, GoRegexpError } from "./go-regexp.js";

/** One pattern of an ignore file, after Docker's reader and matcher normalisation. */
export interface IgnorePattern {
  /** The cleaned pattern that is matched, without the leading `!`. */
  readonly pattern: string;
  /** True for a `!` (re-include) pattern. */
  readonly negated: boolean;
  /** The line as written in the file (trimmed), for explanations. */
  readonly text: string;
  /** 1-based line number in the source, 0 when the pattern did not come from a file. */
  readonly line: number;
  /** Where the pattern came from, e.g. `.dockerignore`. */
  readonly source?: string;
}

export interface IgnoreMatchResult {
  /** True when the path (or one of its parent directories) is excluded. */
  excluded: boolean;
  /**
   * The pattern that decided, as written (e.g. `docs/` or `!docs/README.md`);
   * absent when no pattern matched.
   */
  rule?: string;
  /** The deciding pattern with its source and line. */
  pattern?: IgnorePattern;
}

export interface IgnoreMatcher {
  readonly patterns: readonly IgnorePattern[];
  /** True when at least one `!` pattern exists (patternmatcher's `Exclusions()`). */
  readonly hasExclusions: boolean;
  /**
   * Docker's `MatchesOrParentMatches`: `relPath` is a slash-separated path relative to
   * the context root. `isDir` does not change the result (Docker ignores it: `foo/`
   * is cleaned to `foo` and matches a file named `foo` too); it is accepted so callers
   * can pass what they know.
   */
  matches(relPath: string, isDir?: boolean): IgnoreMatchResult;
  /** patternmatcher's `MatchesExact`: no parent-directory matching. */
  matchesExact(relPath: string): boolean;
  /**
   * For an excluded directory: true when no `!` pattern could re-include anything
   * below it, so a walker need not descend (the optimisation Docker and BuildKit make).
   * Conservative: any `!` pattern with wildcards or escapes prevents skipping.
   */
  canSkipExcludedDir(relDir: string): boolean;
}

export class DockerignoreError extends Error {
  override name = "DockerignoreError";
  constructor(
    message: string,
    readonly pattern: string,
    readonly line: number,
    readonly source?: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------
// Go helpers

const GO_SPACE_RE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/** Go's `strings.TrimSpace` (differs from String#trim: keeps U+FEFF, trims U+0085). */
export function goTrimSpace(s: string): string {
  return s.replace(GO_SPACE_RE, "");
}

/** Go's `path.Clean` / `filepath.Clean` on Unix. */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(seg);
  }
  const joined = out.join("/");
  if (rooted) return "/" + joined;
  return joined === "" ? "." : joined;
}

class BadPattern extends Error {}

/** Go `filepath.scanChunk`. */
function scanChunk(p: string[]): { star: boolean; chunk: string[]; rest: string[] } {
  let k = 0;
  let star = false;
  while (k < p.length && p[k] === "*") {
    k++;
    star = true;
  }
  p = p.slice(k);
  let inrange = false;
  let i = 0;
  scan: for (; i < p.length; i++) {
    switch (p[i]) {
      case "\\":
        if (i + 1 < p.length) i++;
        break;
      case "[":
        inrange = true;
        break;
      case "]":
        inrange = false;
        break;
      case "*":
        if (!inrange) break scan;
        break;
    }
  }
  return { star, chunk: p.slice(0, i), rest: p.slice(i) };
}

/** Go `filepath.getEsc`. */
function getEsc(chunk: string[]): [number, string[]] {
  if (chunk.length === 0 || chunk[0] === "-" || chunk[0] === "]") throw new BadPattern();
  if (chunk[0] === "\\") {
    chunk = chunk.slice(1);
    if (chunk.length === 0) throw new BadPattern();
  }
  const r = chunk[0]!.codePointAt(0)!;
  const next = chunk.slice(1);
  if (next.length === 0) throw new BadPattern();
  return [r, next];
}

/** Go `filepath.matchChunk`. */
function matchChunk(chunk: string[], s: string[]): { rest: string[]; ok: boolean } {
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const c = chunk[0]!;
    if (c === "[") {
      let r = 0;
      if (!failed) {
        r = s[0]!.codePointAt(0)!;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
      let negated = false;
      if (chunk.length > 0 && chunk[0] === "^") {
        negated = true;
        chunk = chunk.slice(1);
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (chunk.length > 0 && chunk[0] === "]" && nrange > 0) {
          chunk = chunk.slice(1);
          break;
        }
        let lo: number;
        [lo, chunk] = getEsc(chunk);
        let hi = lo;
        if (chunk[0] === "-") [hi, chunk] = getEsc(chunk.slice(1));
        if (lo <= r && r <= hi) match = true;
        nrange++;
      }
      if (match === negated) failed = true;
    } else if (c === "?") {
      if (!failed) {
        if (s[0] === "/") failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    } else {
      if (c === "\\") {
        chunk = chunk.slice(1);
        if (chunk.length === 0) throw new BadPattern();
      }
      if (!failed) {
        if (chunk[0] !== s[0]) failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    }
  }
  if (failed) return { rest: [], ok: false };
  return { rest: s, ok: true };
}

/** Go `filepath.Match` (Unix). Throws on a malformed pattern, as ErrBadPattern. */
export function goFilepathMatch(pattern: string, name: string): boolean {
  let pat = Array.from(pattern);
  let nm = Array.from(name);
  patternLoop: while (pat.length > 0) {
    const { star, chunk, rest } = scanChunk(pat);
    pat = rest;
    if (star && chunk.length === 0) return !nm.includes("/");
    const m = matchChunk(chunk, nm);
    if (m.ok && (m.rest.length === 0 || pat.length > 0)) {
      nm = m.rest;
      continue;
    }
    if (star) {
      for (let i = 0; i < nm.length && nm[i] !== "/"; i++) {
        const m2 = matchChunk(chunk, nm.slice(i + 1));
        if (m2.ok) {
          if (pat.length === 0 && m2.rest.length > 0) continue;
          nm = m2.rest;
          continue patternLoop;
        }
      }
    }
    while (pat.length > 0) {
      const sc = scanChunk(pat);
      pat = sc.rest;
      matchChunk(sc.chunk, []);
    }
    return false;
  }
  return nm.length === 0;
}

function isValidGlob(pattern: string): boolean {
  try {
    goFilepathMatch(pattern, ".");
    return true;
  } catch (err) {
    if (err instanceof BadPattern) return false;
    throw err;
  }
}

// ---------------------------------------------------------------------------
// Reader (moby/patternmatcher/ignorefile.ReadAll)

/**
 * Parses the text of a `.dockerignore` file exactly as Docker's reader does.
 * Returns the patterns in order; a lone `!` is kept (and rejected by `createIgnoreMatcher`).
 */
export function parseDockerignore(text: string, source?: string): IgnorePattern[] {
  const out: IgnorePattern[] = [];
  // bufio.ScanLines: split on \n, drop one trailing \r per line.
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  lines.forEach((raw, idx) => {
    let line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (idx === 0 && line.startsWith("\ufeff")) line = line.slice(1);
    if (line.startsWith("#")) return;
    let pattern = goTrimSpace(line);
    if (pattern === "") return;
    const text = pattern;
    const invert = pattern.startsWith("!");
    if (invert) pattern = goTrimSpace(pattern.slice(1));
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith("/")) pattern = pattern.slice(1);
    }
    out.push({ pattern, negated: invert, text, line: idx + 1, ...(source !== undefined ? { source } : {}) });
  });
  return out;
}

// ---------------------------------------------------------------------------
// Matcher (moby/patternmatcher.New + Pattern.compile + MatchesOrParentMatches)

export type PatternMatchType = "exact" | "prefix" | "suffix" | "regexp";

/**
 * patternmatcher's `compile` for the `/` separator: the match type and, for
 * `regexp`, the Go regexp source it would build (exposed for tests).
 */
export function compilePattern(cleaned: string): { matchType: PatternMatchType; goRegexp?: string } {
  let reg = "^";
  let type: PatternMatchType = "exact";
  const cps = Array.from(cleaned);
  let k = 0;
  for (let i = 0; k < cps.length; i++) {
    const ch = cps[k++]!;
    if (ch === "*") {
      if (cps[k] === "*") {
        k++;
        if (cps[k] === "/") k++;
        if (k >= cps.length) {
          if (type === "exact") type = "prefix";
          else {
            reg += ".*";
            type = "regexp";
          }
        } else {
          reg += "(.*/)?";
          type = "regexp";
        }
        if (i === 0) type = "suffix";
      } else {
        reg += "[^/]*";
        type = "regexp";
      }
    } else if (ch === "?") {
      reg += "[^/]";
      type = "regexp";
    } else if (".+()|{}$".includes(ch)) {
      reg += "\\" + ch;
    } else if (ch === "\\") {
      if (k < cps.length) {
        reg += "\\" + cps[k++]!;
        type = "regexp";
      } else {
        reg += "\\";
      }
    } else if (ch === "[" || ch === "]") {
      reg += ch;
      type = "regexp";
    } else {
      reg += ch;
    }
  }
  if (type === "regexp") return { matchType: type, goRegexp: reg + "$" };
  return { matchType: type };
}

interface CompiledPattern {
  readonly def: IgnorePattern;
  readonly test: (path: string) => boolean;
  readonly hasWildcards: boolean;
}

function compileForMatch(def: IgnorePattern): CompiledPattern {
  const p = def.pattern;
  const { matchType, goRegexp } = compilePattern(p);
  const hasWildcards = /[*?[\\]/.test(p);
  let test: (path: string) => boolean;
  switch (matchType) {
    case "exact":
      test = (path) => path === p;
      break;
    case "prefix": {
      const prefix = p.slice(0, -2);
      test = (path) => path.startsWith(prefix);
      break;
    }
    case "suffix": {
      const suffix = p.slice(2);
      test = (path) => path.endsWith(suffix) || (suffix.startsWith("/") && path === suffix.slice(1));
      break;
    }
    case "regexp": {
      let re: RegExp;
      try {
        re = compileGoRegexp(goRegexp!);
      } catch (err) {
        const why = err instanceof GoRegexpError ? err.message : String(err);
        throw patternError(def, `invalid pattern ${JSON.stringify(def.text)}: ${why}`);
      }
      test = (path) => re.test(path);
      break;
    }
  }
  return { def, test, hasWildcards };
}

function patternError(def: IgnorePattern, message: string): DockerignoreError {
  const where = def.line > 0 ? `${def.source ?? ".dockerignore"}:${def.line}: ` : "";
  return new DockerignoreError(where + message, def.text, def.line, def.source);
}

/** Normalises one raw pattern string as patternmatcher.New does. Returns undefined for a blank one. */
function normalise(input: IgnorePattern | string): IgnorePattern | undefined {
  const base: IgnorePattern =
    typeof input === "string"
      ? { pattern: input, negated: false, text: goTrimSpace(input), line: 0 }
      : input;
  // Rebuild the string the reader would have handed to patternmatcher.New.
  let p = goTrimSpace(typeof input === "string" ? input : (input.negated ? "!" : "") + input.pattern);
  if (p === "") return undefined;
  p = cleanPath(p);
  let negated = false;
  if (p.startsWith("!")) {
    if (p.length === 1) throw patternError(base, 'illegal exclusion pattern: "!"');
    negated = true;
    p = p.slice(1);
  }
  const def: IgnorePattern = { ...base, pattern: p, negated };
  if (!isValidGlob(p)) throw patternError(def, `invalid pattern ${JSON.stringify(def.text)}: syntax error in pattern`);
  return def;
}

/**
 * Builds a matcher from patterns returned by `parseDockerignore` or from raw pattern
 * strings (as in a `.dockerignore` line, e.g. `!docs/README.md`). Throws
 * `DockerignoreError` for a malformed pattern.
 */
export function createIgnoreMatcher(patterns: ReadonlyArray<IgnorePattern | string>): IgnoreMatcher {
  const compiled: CompiledPattern[] = [];
  for (const input of patterns) {
    const def = normalise(input);
    if (def) compiled.push(compileForMatch(def));
  }
  const exclusions = compiled.filter((c) => c.def.negated);
  const hasExclusions = exclusions.length > 0;
  const wildcardExclusions = exclusions.some((c) => c.hasWildcards);

  function decide(relPath: string, withParents: boolean): IgnoreMatchResult {
    // As the Go methods: the path is used as given (callers pass clean relative
    // paths); its parents are filepath.Dir(path) split on "/". The root never matches.
    const file = relPath;
    if (file === "." || file === "") return { excluded: false };
    const parentPath = cleanPath(file.slice(0, file.lastIndexOf("/") + 1));
    const parentDirs = parentPath === "." ? [] : parentPath.split("/");
    let matched = false;
    let decider: IgnorePattern | undefined;
    for (const c of compiled) {
      if (c.def.negated !== matched) continue;
      let match = c.test(file);
      if (!match && withParents) {
        for (let i = 0; i < parentDirs.length; i++) {
          if (c.test(parentDirs.slice(0, i + 1).join("/"))) {
            match = true;
            break;
          }
        }
      }
      if (match) {
        matched = !c.def.negated;
        decider = c.def;
      }
    }
    if (!decider) return { excluded: matched };
    return { excluded: matched, rule: decider.text, pattern: decider };
  }

  return {
    patterns: compiled.map((c) => c.def),
    hasExclusions,
    matches: (relPath) => decide(relPath, true),
    matchesExact: (relPath) => decide(relPath, false).excluded,
    canSkipExcludedDir(relDir: string): boolean {
      if (!hasExclusions) return true;
      if (wildcardExclusions) return false;
      const dirSlash = cleanPath(relDir) + "/";
      return !exclusions.some((c) => (c.def.pattern + "/").startsWith(dirSlash));
    },
  };
}
