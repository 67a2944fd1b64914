#!/usr/bin/env node
// Lists every place the test suite waits on real time and sums the fixed waits, so the number can be
// compared before and after a change: `node scripts/test-sleeps.mjs [dir]` (default test/), `--json`.
//
// What it counts, in test code (string and template contents are skipped, so the sleeps of the app
// sources and shell commands the tests run are not test waits):
// - fixed waits: `setTimeout(r, MS)` / `setTimeout(resolve, MS)` and calls of a `sleep(MS)` helper,
//   MS evaluated with the file's numeric constants (`const LIFETIME_S = 3;`); Math.random() counts at
//   its maximum. A call of `staggered(N, GAP, …)` (max-concurrency's helper) counts as the sum of its
//   gaps; its definition counts nothing.
// - waits inside a loop (polls, repeated waits): listed with their interval, not summed (how often
//   they run depends on the condition they wait for).
// - a CLI run with `--follow … --timeout N` (it ends only when the timeout passes), unless the run is
//   given a clock of its own (`clock` on the same line: the test moves it, test/helpers/fake-clock.ts).
// - wall-clock bounds: `expect(Date.now() - x).toBeLessThan(…)` and the like.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const args = process.argv.slice(2);
const json = args.includes("--json");
const root = args.find((a) => !a.startsWith("--")) ?? "test";

function files(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (/\.(ts|mts|js|mjs)$/.test(name)) out.push(p);
  }
  return out.sort();
}

/** The source with string, template and comment contents blanked (same length, newlines kept); `${…}` inside templates stays code. */
function codeOnly(src) {
  const out = src.split("");
  const blank = (i) => {
    if (out[i] !== "\n") out[i] = " ";
  };
  const stack = []; // "`" for a template, "{" for a `${` expression or a brace inside one
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    const inTemplate = stack[stack.length - 1] === "`";
    if (inTemplate) {
      if (c === "\\") {
        blank(i);
        blank(i + 1);
        i += 2;
      } else if (c === "`") {
        stack.pop();
        i++;
      } else if (c === "$" && src[i + 1] === "{") {
        stack.push("{");
        i += 2;
      } else {
        blank(i);
        i++;
      }
      continue;
    }
    if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") blank(i++);
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      while (i < stop) blank(i++);
    } else if (c === '"' || c === "'") {
      i++;
      while (i < src.length && src[i] !== c && src[i] !== "\n") {
        if (src[i] === "\\") blank(i++);
        blank(i++);
      }
      i++;
    } else if (c === "`") {
      stack.push("`");
      i++;
    } else if (c === "{" && stack.length) {
      stack.push("{");
      i++;
    } else if (c === "}" && stack.length) {
      stack.pop();
      i++;
    } else i++;
  }
  return out.join("");
}

/** The text between the parenthesis at `open` and its match. */
function balanced(code, open) {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === "(") depth++;
    else if (code[i] === ")" && --depth === 0) return code.slice(open + 1, i);
  }
  return code.slice(open + 1);
}

/** Splits at top-level commas. */
function splitArgs(text) {
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

function constants(code) {
  const table = {};
  for (const m of code.matchAll(/\bconst\s+([A-Za-z_$][\w$]*)\s*=\s*([\d_.\s*+\-/()]+|[\d_.]+\s*\*\s*[A-Z_]+);/g)) {
    const v = evaluate(m[2], table);
    if (v !== undefined) table[m[1]] = v;
  }
  return table;
}

function evaluate(expr, table) {
  let e = expr.replace(/Math\.random\(\)/g, "1").replace(/(\d)_(\d)/g, "$1$2");
  e = e.replace(/[A-Za-z_$][\w$]*/g, (name) => (name in table ? String(table[name]) : name));
  if (!/^[\d.\s*+\-/()]+$/.test(e)) return undefined;
  try {
    return Function(`"use strict"; return (${e});`)();
  } catch {
    return undefined;
  }
}

/** For each offset, whether it sits in a loop: a `while (…)`/`for (…)` block or a braceless loop body on its line. */
function loopMap(code) {
  const inLoop = new Uint8Array(code.length);
  const stack = [];
  let statementStart = 0;
  let parens = 0;
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === "(") parens++;
    else if (c === ")") parens--;
    else if (c === "{") {
      const head = code.slice(statementStart, i);
      stack.push(/\b(while|for)\s*\(|\bdo\s*$/.test(head) || (stack.length > 0 && stack[stack.length - 1]));
      statementStart = i + 1;
    } else if (c === "}") {
      stack.pop();
      statementStart = i + 1;
    } else if (c === ";" && parens === 0) statementStart = i + 1;
    if (stack.length && stack[stack.length - 1]) inLoop[i] = 1;
  }
  // `while (cond) await wait(…);` with no braces
  for (const m of code.matchAll(/\b(while|for)\s*\(/g)) {
    const open = m.index + m[0].length - 1;
    const cond = balanced(code, open);
    const bodyStart = open + cond.length + 2;
    if (/^\s*\{/.test(code.slice(bodyStart, bodyStart + 50))) continue;
    const end = code.indexOf(";", bodyStart);
    for (let i = bodyStart; i < (end < 0 ? code.length : end); i++) inLoop[i] = 1;
  }
  return inLoop;
}

const sites = [];
const bounds = [];
for (const file of files(root)) {
  const src = readFileSync(file, "utf8");
  const code = codeOnly(src);
  const table = constants(code);
  const inLoop = loopMap(code);
  const lineOf = (offset) => src.slice(0, offset).split("\n").length;
  const add = (offset, expr, ms, note) => sites.push({ file: relative(process.cwd(), file), line: lineOf(offset), expr, ms, loop: inLoop[offset] === 1, note });

  for (const m of code.matchAll(/\bsetTimeout\(\s*(r|resolve)\s*,/g)) {
    const lineText = code.slice(code.lastIndexOf("\n", m.index) + 1, code.indexOf("\n", m.index));
    if (/\bsleep\s*=|function\s+sleep\b/.test(lineText)) continue; // a sleep helper's definition: counted at its calls
    const parts = splitArgs(balanced(code, m.index + "setTimeout".length));
    add(m.index, parts[1], evaluate(parts[1], table), /Math\.random/.test(parts[1]) ? "random, counted at its maximum" : undefined);
  }
  for (const m of code.matchAll(/(?<![.\w$])sleep\(/g)) {
    const before = code.slice(Math.max(0, m.index - 30), m.index);
    if (/(const|function|let)\s+$/.test(before)) continue;
    const expr = balanced(code, m.index + "sleep".length).trim();
    if (/^[a-z]\s*\*\s*\w+$/.test(expr)) continue; // staggered's own gap, counted at its calls
    add(m.index, expr, evaluate(expr, table));
  }
  for (const m of code.matchAll(/(?<![.\w$])staggered\(/g)) {
    const before = code.slice(Math.max(0, m.index - 30), m.index);
    if (/function\s+$/.test(before)) continue;
    const [n, gap] = splitArgs(balanced(code, m.index + "staggered".length)).map((a) => evaluate(a, table));
    if (n === undefined || gap === undefined) continue;
    add(m.index, `staggered(${n}, ${gap})`, (gap * n * (n - 1)) / 2, "sum of the gaps between the calls");
  }
  // A CLI run that follows until its --timeout ends it: the test waits that long.
  for (const m of src.matchAll(/\[[^\]\n]*"--follow"[^\]\n]*"--timeout",\s*"(\d+)(ms|s)"/g)) {
    // a run given a clock of its own (the rest of its line names `clock`) ends when the test moves that clock
    const rest = src.slice(m.index + m[0].length, src.indexOf("\n", m.index));
    if (/\bclock\b/.test(rest)) continue;
    add(m.index, `--follow --timeout ${m[1]}${m[2]}`, Number(m[1]) * (m[2] === "s" ? 1000 : 1), "a CLI follow that only its --timeout ends");
  }
  for (const m of code.matchAll(/expect\(\s*(Date\.now\(\)|performance\.now\(\))\s*-[^)]*\)\s*\.\s*toBe(LessThan|LessThanOrEqual)\(/g)) {
    bounds.push({ file: relative(process.cwd(), file), line: lineOf(m.index), text: src.slice(m.index, src.indexOf("\n", m.index)).trim() });
  }
}

const fixed = sites.filter((s) => !s.loop);
const looped = sites.filter((s) => s.loop);
const unknown = fixed.filter((s) => s.ms === undefined);
const totalMs = fixed.reduce((n, s) => n + (s.ms ?? 0), 0);

if (json) {
  console.log(JSON.stringify({ root, fixedWaits: fixed.length, fixedWaitMs: totalMs, unevaluated: unknown.length, loopWaits: looped.length, wallClockBounds: bounds.length, sites, bounds }, null, 2));
} else {
  console.log(`fixed waits in ${root}/ (not in a loop):`);
  for (const s of fixed) console.log(`  ${String(s.ms ?? "?").padStart(7)} ms  ${s.file}:${s.line}  ${s.expr}${s.note ? `  (${s.note})` : ""}`);
  console.log(`waits inside a loop (polls or repeated waits; not summed):`);
  for (const s of looped) console.log(`  ${String(s.ms ?? "?").padStart(7)} ms  ${s.file}:${s.line}  ${s.expr}${s.note ? `  (${s.note})` : ""}`);
  console.log(`wall-clock bounds asserted:`);
  for (const b of bounds) console.log(`  ${b.file}:${b.line}  ${b.text}`);
  console.log(
    `total: ${fixed.length} fixed waits, ${(totalMs / 1000).toFixed(2)} s${unknown.length ? ` (+${unknown.length} not evaluated)` : ""}; ${looped.length} waits in loops; ${bounds.length} wall-clock bounds`,
  );
}
