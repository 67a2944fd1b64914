/**
 * Translation of the small subset of Go RE2 syntax that moby/patternmatcher emits
 * into an equivalent JavaScript RegExp (`u` flag).
 *
 * patternmatcher turns a glob into a Go regexp string character by character
 * (it is not character-class aware, so `[*]` becomes `[[^/]*]`, which Go parses
 * as the class `[[^/]` followed by `*` and a literal `]`). To reproduce Docker's
 * behaviour exactly, including those quirks, we build the very same Go regexp
 * string and then parse it the way Go's regexp/syntax does:
 *
 * - outside classes: `^`, `$` (no multi-line), `.` (anything but `\n`), `*`, `?`,
 *   `(`, `)`, `|`; a bare `]` is a literal;
 * - classes: optional `^`, `]` literal when first, ranges `a-z`, Perl classes
 *   `\d \w \s`, POSIX classes `[:alpha:]`, escapes;
 * - escapes: ASCII punctuation is literal; `\a \f \t \n \r \v`, octal, `\x41`,
 *   `\x{263a}`, `\d \D \w \W \s \S`, `\A \z \b \B`.
 *
 * `\p{..}`, `\P{..}`, `\Q..\E` and negated POSIX classes are rejected with an
 * error rather than mistranslated (they cannot come from a sensible
 * .dockerignore line).
 */

export class GoRegexpError extends Error {
  override name = "GoRegexpError";
}

function hex(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

function isAsciiAlnum(c: string): boolean {
  return /^[0-9A-Za-z]$/.test(c);
}

function isOctal(c: string | undefined): c is string {
  return c !== undefined && c >= "0" && c <= "7";
}

type Range = [number, number];

const POSIX_CLASSES: Record<string, Range[]> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a], [0x5f, 0x5f]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};

const GO_SPACE = "[\\t\\n\\f\\r ]";
const GO_NOT_SPACE = "[^\\t\\n\\f\\r ]";

function rangesToClassBody(ranges: Range[]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`)).join("");
}

/** Parses a single-character escape (Go parseEscape). Returns the code point and next index. */
function parseCharEscape(cps: string[], i: number): [number, number] {
  // cps[i] is the backslash
  const c = cps[i + 1];
  if (c === undefined) throw new GoRegexpError("trailing backslash at end of expression");
  let j = i + 2;
  if (c >= "0" && c <= "7") {
    // Octal: \0 plus up to two digits; \1-\7 only when followed by an octal digit
    // (a single non-zero digit would be a backreference, which Go rejects).
    if (c !== "0" && !isOctal(cps[j])) throw new GoRegexpError(`invalid escape sequence: \\${c}`);
    let r = c.charCodeAt(0) - 0x30;
    for (let k = 1; k < 3 && isOctal(cps[j]); k++) {
      r = r * 8 + (cps[j]!.charCodeAt(0) - 0x30);
      j++;
    }
    return [r, j];
  }
  switch (c) {
    case "x": {
      if (cps[j] === "{") {
        let k = j + 1;
        let digits = "";
        while (k < cps.length && cps[k] !== "}") digits += cps[k++];
        if (cps[k] !== "}" || !/^[0-9A-Fa-f]+$/.test(digits)) throw new GoRegexpError("invalid escape sequence: \\x{");
        const r = parseInt(digits, 16);
        if (r > 0x10ffff) throw new GoRegexpError("invalid escape sequence: \\x{");
        return [r, k + 1];
      }
      const h = (cps[j] ?? "") + (cps[j + 1] ?? "");
      if (!/^[0-9A-Fa-f]{2}$/.test(h)) throw new GoRegexpError("invalid escape sequence: \\x");
      return [parseInt(h, 16), j + 2];
    }
    case "a":
      return [7, j];
    case "f":
      return [12, j];
    case "n":
      return [10, j];
    case "r":
      return [13, j];
    case "t":
      return [9, j];
    case "v":
      return [11, j];
  }
  const cp = c.codePointAt(0)!;
  if (cp < 0x80 && !isAsciiAlnum(c)) return [cp, j];
  throw new GoRegexpError(`invalid or unsupported escape sequence: \\${c}`);
}

/** Parses a Go character class starting at cps[i] === "[". */
function parseClass(cps: string[], i: number): [string, number] {
  let j = i + 1;
  let negated = false;
  if (cps[j] === "^") {
    negated = true;
    j++;
  }
  let body = "";
  let first = true;
  for (;;) {
    if (j >= cps.length) throw new GoRegexpError("missing closing ]");
    if (cps[j] === "]" && !first) {
      j++;
      break;
    }
    first = false;
    // POSIX named class: [:alpha:]
    if (cps[j] === "[" && cps[j + 1] === ":") {
      let end = -1;
      for (let k = j + 2; k + 1 < cps.length; k++) {
        if (cps[k] === ":" && cps[k + 1] === "]") {
          end = k;
          break;
        }
      }
      if (end >= 0) {
        const name = cps.slice(j + 2, end).join("");
        const ranges = POSIX_CLASSES[name];
        if (!ranges) {
          if (name.startsWith("^") && POSIX_CLASSES[name.slice(1)]) {
            throw new GoRegexpError(`unsupported negated POSIX class [:${name}:]`);
          }
          throw new GoRegexpError(`invalid character class range: [:${name}:]`);
        }
        body += rangesToClassBody(ranges);
        j = end + 2;
        continue;
      }
    }
    if (cps[j] === "\\") {
      const e = cps[j + 1];
      if (e === "d" || e === "D" || e === "w" || e === "W") {
        body += `\\${e}`; // ASCII-only in JS (u flag, no i flag), as in Go
        j += 2;
        continue;
      }
      if (e === "s") {
        body += "\\t\\n\\f\\r ";
        j += 2;
        continue;
      }
      if (e === "S" || e === "p" || e === "P") {
        throw new GoRegexpError(`unsupported escape \\${e} inside a character class`);
      }
    }
    let lo: number;
    [lo, j] = parseClassChar(cps, j);
    let hi = lo;
    if (cps[j] === "-" && j + 1 < cps.length && cps[j + 1] !== "]") {
      [hi, j] = parseClassChar(cps, j + 1);
      if (hi < lo) throw new GoRegexpError("invalid character class range");
    }
    body += lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`;
  }
  return [`[${negated ? "^" : ""}${body}]`, j];
}

function parseClassChar(cps: string[], j: number): [number, number] {
  const c = cps[j];
  if (c === undefined) throw new GoRegexpError("missing closing ]");
  if (c === "\\") return parseCharEscape(cps, j);
  return [c.codePointAt(0)!, j + 1];
}

/** Translates a Go regexp (as produced by patternmatcher) to JavaScript RegExp source for the `u` flag. */
export function goRegexpToJsSource(src: string): string {
  const cps = Array.from(src);
  let out = "";
  let i = 0;
  while (i < cps.length) {
    const c = cps[i]!;
    if (c === "\\") {
      const e = cps[i + 1];
      switch (e) {
        case "d":
        case "D":
        case "w":
        case "W":
        case "b":
        case "B":
          out += `\\${e}`;
          i += 2;
          continue;
        case "s":
          out += GO_SPACE;
          i += 2;
          continue;
        case "S":
          out += GO_NOT_SPACE;
          i += 2;
          continue;
        case "A":
          out += "^";
          i += 2;
          continue;
        case "z":
          out += "$";
          i += 2;
          continue;
        case "p":
        case "P":
        case "Q":
          throw new GoRegexpError(`unsupported escape sequence: \\${e}`);
      }
      const [cp, next] = parseCharEscape(cps, i);
      out += hex(cp);
      i = next;
      continue;
    }
    if (c === "[") {
      const [cls, next] = parseClass(cps, i);
      out += cls;
      i = next;
      continue;
    }
    if (c === ".") {
      out += "[^\\n]";
    } else if (c === "^" || c === "$" || c === "*" || c === "?" || c === "(" || c === ")" || c === "|" || c === "+") {
      out += c;
    } else {
      out += hex(c.codePointAt(0)!);
    }
    i++;
  }
  return out;
}

export function compileGoRegexp(src: string): RegExp {
  const js = goRegexpToJsSource(src);
  try {
    return new RegExp(js, "u");
  } catch (err) {
    throw new GoRegexpError(`invalid expression ${src}: ${(err as Error).message}`);
  }
}
