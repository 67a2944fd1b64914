// Deterministic synthetic build context: N files, about B bytes, half source-like text
// (compressible, ~3:1 with gzip -6) and half random bytes (incompressible), in 100-file
// directories, plus a Dockerfile at the root. The same options always give the same
// tree, byte for byte (PRNG: xorshift32 for choices, AES-256-CTR for random bytes).
import { createCipheriv, createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

/** xorshift32 seeded from a string: deterministic, fast, good enough for a bench. */
function prng(seed) {
  let x = createHash("sha256").update(seed).digest().readUInt32LE(0) || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

const KEYWORDS = ["const", "let", "return", "if", "else", "for", "while", "function", "import", "export", "from", "class", "new", "await", "async", "yield", "true", "false", "null", "this"];

/** A pool of source-like lines built from a pseudo-random vocabulary. */
function linePool(rand, count) {
  const vocab = [];
  for (let i = 0; i < 800; i++) {
    let w = "";
    const len = 3 + Math.floor(rand() * 9);
    for (let j = 0; j < len; j++) w += String.fromCharCode(97 + Math.floor(rand() * 26));
    if (rand() < 0.3) w = w[0].toUpperCase() + w.slice(1);
    vocab.push(w);
  }
  const pick = (arr) => arr[Math.floor(rand() * arr.length)];
  const punct = [" = ", "(", ", ", ").", "; ", " + ", " => ", "[", "] ", " { ", " }", ": ", " && ", " || "];
  const lines = [];
  for (let i = 0; i < count; i++) {
    let line = "  ".repeat(Math.floor(rand() * 4));
    const n = 2 + Math.floor(rand() * 8);
    for (let j = 0; j < n; j++) {
      line += rand() < 0.25 ? pick(KEYWORDS) : pick(vocab);
      line += rand() < 0.5 ? " " : pick(punct);
    }
    if (rand() < 0.2) line += String(Math.floor(rand() * 100000));
    lines.push(line.trimEnd() + "\n");
  }
  return lines;
}

/**
 * Writes the tree into `dir` (which must exist and be empty).
 * @param {{ files?: number, bytes?: number, seed?: string }} options
 * @returns {{ files: number, bytes: number, textBytes: number, randomBytes: number }}
 */
export function generateTree(dir, { files = 20_000, bytes = 200 * 1024 * 1024, seed = "dodil-bench" } = {}) {
  const rand = prng(seed);
  const pool = linePool(rand, 4000);
  const key = createHash("sha256").update(`${seed}/random`).digest();
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  const mean = bytes / files;
  // Sizes uniform in [0.2, 1.8] x mean, then scaled so the total is exactly `bytes`.
  const raw = Array.from({ length: files }, () => 0.2 + 1.6 * rand());
  const scale = bytes / raw.reduce((a, b) => a + b, 0);
  const sizes = raw.map((r) => Math.floor(r * scale));
  sizes[files - 1] += bytes - sizes.reduce((a, b) => a + b, 0);
  let textBytes = 0;
  let randomBytes = 0;
  writeFileSync(path.join(dir, "Dockerfile"), "FROM scratch\nCOPY . /app\n");
  for (let i = 0; i < files; i++) {
    const sub = path.join(dir, `pkg${String(Math.floor(i / 100)).padStart(4, "0")}`);
    if (i % 100 === 0) mkdirSync(sub);
    const size = sizes[i];
    let data;
    if (i % 2 === 0) {
      let s = "";
      while (s.length < size) s += pool[Math.floor(rand() * pool.length)];
      data = Buffer.from(s.slice(0, size), "latin1");
      textBytes += size;
    } else {
      data = cipher.update(Buffer.alloc(size));
      randomBytes += size;
    }
    const name = `${i % 2 === 0 ? "mod" : "asset"}${String(i).padStart(6, "0")}.${i % 2 === 0 ? "ts" : "bin"}`;
    writeFileSync(path.join(sub, name), data);
  }
  return { files, bytes, textBytes, randomBytes };
}
