/**
 * A Dockerfile parser: line continuations, comments, parser directives (escape), heredocs (bodies
 * are kept), JSON and shell forms. It does not interpret instructions; the drivers do.
 */

export interface Instruction {
  /** Upper-case keyword (FROM, COPY, ...). */
  keyword: string;
  /** Raw arguments after the keyword (continuations joined). */
  args: string;
  /** Flags such as --from=builder, parsed from the start of args (a repeated flag: its last value). */
  flags: Record<string, string>;
  /** The same flags in order, repeated ones included (RUN may have several --mount). */
  flagList: Array<[string, string]>;
  /** Arguments with the flags removed. */
  rest: string;
  /** Parsed JSON form, when the arguments are a JSON string array. */
  json?: string[];
  /** Heredoc bodies attached to this instruction, in order. */
  heredocs: { name: string; body: string }[];
  /** 1-based line number where the instruction starts. */
  line: number;
  /** The instruction as written (continuations joined with a space), for logs. */
  original: string;
}

export class DockerfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DockerfileError";
  }
}

export function parseDockerfile(text: string): Instruction[] {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  let escape = "\\";
  // Parser directives: only at the very top, before any instruction or non-directive comment.
  for (const l of lines) {
    const m = /^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$/.exec(l);
    if (!m) break;
    if (m[1]!.toLowerCase() === "escape" && (m[2] === "`" || m[2] === "\\")) escape = m[2];
  }
  const out: Instruction[] = [];
  let i = 0;
  while (i < lines.length) {
    const startLine = i + 1;
    let raw = lines[i]!;
    i++;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    // join continuations
    let joined = "";
    for (;;) {
      const t = raw.replace(/[ \t]+$/, "");
      if (t.endsWith(escape) && !t.endsWith(escape + escape)) {
        joined += t.slice(0, -1);
        // skip comment and empty lines inside a continuation
        while (i < lines.length && (/^\s*#/.test(lines[i]!) || lines[i]!.trim() === "")) i++;
        if (i >= lines.length) break;
        raw = lines[i]!;
        i++;
        continue;
      }
      joined += t;
      break;
    }
    const m = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(joined);
    if (!m) throw new DockerfileError(`line ${startLine}: cannot parse '${joined.trim().slice(0, 80)}'`);
    const keyword = m[1]!.toUpperCase();
    const args = (m[2] ?? "").trim();
    // heredocs: <<EOF, <<-EOF, <<"EOF"
    const heredocs: { name: string; body: string }[] = [];
    if (keyword === "RUN" || keyword === "COPY" || keyword === "ADD") {
      const re = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;
      let hm: RegExpExecArray | null;
      while ((hm = re.exec(args))) {
        const strip = hm[1] === "-";
        const name = hm[3]!;
        const body: string[] = [];
        let closed = false;
        while (i < lines.length) {
          const l = lines[i]!;
          i++;
          if ((strip ? l.replace(/^\t+/, "") : l) === name) {
            closed = true;
            break;
          }
          body.push(strip ? l.replace(/^\t+/, "") : l);
        }
        if (!closed) throw new DockerfileError(`line ${startLine}: heredoc '${name}' is not terminated`);
        heredocs.push({ name, body: body.join("\n") + "\n" });
      }
    }
    const { flags, flagList, rest } = splitFlags(args);
    const ins: Instruction = { keyword, args, flags, flagList, rest, heredocs, line: startLine, original: `${keyword} ${args}`.trim() };
    const json = parseJsonForm(rest);
    if (json) ins.json = json;
    out.push(ins);
  }
  return out;
}

function splitFlags(args: string): { flags: Record<string, string>; flagList: Array<[string, string]>; rest: string } {
  const flags: Record<string, string> = {};
  const flagList: Array<[string, string]> = [];
  let rest = args;
  for (;;) {
    const m = /^--([a-zA-Z][a-zA-Z0-9-]*)(?:=(\S*))?\s*/.exec(rest);
    if (!m) break;
    flags[m[1]!.toLowerCase()] = m[2] ?? "true";
    flagList.push([m[1]!.toLowerCase(), m[2] ?? "true"]);
    rest = rest.slice(m[0].length);
  }
  return { flags, flagList, rest: rest.trim() };
}

export function parseJsonForm(s: string): string[] | undefined {
  const t = s.trim();
  if (!t.startsWith("[")) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
  } catch {
    // not JSON: shell form
  }
  return undefined;
}

/**
 * Substitutes $VAR, ${VAR}, ${VAR:-default}, ${VAR:+alt}, ${VAR-default}, ${VAR+alt}; `\$` stays literal.
 */
export function expandVars(s: string, vars: Record<string, string | undefined>, escape = "\\"): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === escape && s[i + 1] === "$") {
      out += "$";
      i++;
      continue;
    }
    if (c !== "$") {
      out += c;
      continue;
    }
    if (s[i + 1] === "{") {
      const end = findClose(s, i + 2);
      if (end < 0) {
        out += c;
        continue;
      }
      const inner = s.slice(i + 2, end);
      i = end;
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([\s\S]*))?$/.exec(inner);
      if (!m) throw new DockerfileError(`bad substitution '\${${inner}}'`);
      const name = m[1]!;
      const op = m[2];
      const word = m[3] ?? "";
      const val = vars[name];
      if (!op) out += val ?? "";
      else if (op === ":-") out += val ? val : expandVars(word, vars, escape);
      else if (op === "-") out += val !== undefined ? val : expandVars(word, vars, escape);
      else if (op === ":+") out += val ? expandVars(word, vars, escape) : "";
      else if (op === "+") out += val !== undefined ? expandVars(word, vars, escape) : "";
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i + 1));
    if (!m) {
      out += c;
      continue;
    }
    out += vars[m[0]] ?? "";
    i += m[0].length;
  }
  return out;
}

function findClose(s: string, from: number): number {
  let depth = 1;
  for (let j = from; j < s.length; j++) {
    if (s[j] === "{") depth++;
    else if (s[j] === "}" && --depth === 0) return j;
  }
  return -1;
}

/**
 * Splits shell-ish words: whitespace separates, single/double quotes group, backslash escapes.
 * Used for ENV/LABEL/ARG key=value lists and COPY sources; variables are expanded first by callers.
 */
export function splitWords(s: string): string[] {
  const words: string[] = [];
  let cur = "";
  let has = false;
  let q: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      if (c === q) q = null;
      else if (c === "\\" && q === '"' && i + 1 < s.length && /["\\$`]/.test(s[i + 1]!)) cur += s[++i];
      else cur += c;
      continue;
    }
    if (c === "'" || c === '"') {
      q = c;
      has = true;
    } else if (c === "\\" && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) words.push(cur);
      cur = "";
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (q) throw new DockerfileError(`unterminated quote in '${s.slice(0, 80)}'`);
  if (has || cur) words.push(cur);
  return words;
}

/** Parses `K=V K2="v 2"` or the legacy `K V with spaces` form (ENV, LABEL). */
export function parseKeyValues(s: string, keyword: string): [string, string][] {
  const first = /^\s*([^\s=]+)(\s*=|\s+|$)/.exec(s);
  if (!first) throw new DockerfileError(`${keyword} needs at least one argument`);
  if (!first[2]!.includes("=")) {
    // legacy form: the rest of the line is the value
    const value = s.slice(first[0].length);
    if (!value && keyword === "ENV") throw new DockerfileError(`ENV ${first[1]} needs a value (ENV KEY=VALUE or ENV KEY VALUE)`);
    return [[first[1]!, value.trim()]];
  }
  return splitWords(s).map((w) => {
    const eq = w.indexOf("=");
    if (eq <= 0) throw new DockerfileError(`${keyword} '${w}' is not of the form KEY=VALUE`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}
