import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, readFile, readlink, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { collectFiles } from "../../src/build-context/collect-files.js";
import {
  detectArchiveKind,
  isArchiveFile,
  packBuildContext,
  readFileChunks,
  sha256File,
  streamBuildContext,
} from "../../src/build-context/pack-tar.js";
import { tarStream } from "../../src/build-context/tar-writer.js";
import { tempDir, writeTree } from "./helpers.js";

const blob = randomBytes(200_000);
const TREE: Record<string, string | Buffer> = {
  Dockerfile: "FROM scratch\nCOPY . /app\n",
  "src/main.py": "print('hi')\n",
  "src/lib/util.py": "X = 1\n",
  "bin/run.sh": "#!/bin/sh\nexec python src/main.py\n",
  "data/blob.bin": blob,
  "empty/": "",
  "ünïcødé/файл.txt": "utf8 name\n",
  [`${"long-directory-name-".repeat(6)}/${"n".repeat(120)}.txt`]: "long\n",
};

/** Builds TREE in `root`, in the given order, with the given modes and times. */
async function buildTree(
  root: string,
  opts: { reverse?: boolean; fileMode: number; execMode: number; dirMode: number; time: number },
): Promise<void> {
  const entries = Object.entries(TREE);
  if (opts.reverse) entries.reverse();
  for (const [rel, content] of entries) await writeTree(root, { [rel]: content });
  await symlink("../src/main.py", path.join(root, "bin/main-link"));
  for (const [rel] of Object.entries(TREE)) {
    const abs = path.join(root, rel);
    if (rel.endsWith("/")) continue;
    await chmod(abs, rel.endsWith(".sh") ? opts.execMode : opts.fileMode);
  }
  const dirs = new Set<string>();
  for (const rel of Object.keys(TREE)) {
    const parts = rel.replace(/\/$/, "").split("/");
    for (let i = 1; i <= parts.length - (rel.endsWith("/") ? 0 : 1); i++) dirs.add(parts.slice(0, i).join("/"));
  }
  for (const d of dirs) await chmod(path.join(root, d), opts.dirMode);
  for (const rel of [...Object.keys(TREE), ...dirs]) {
    await utimes(path.join(root, rel), opts.time, opts.time);
  }
}

describe("packBuildContext: determinism", () => {
  it("gives a byte-identical tar.gz whatever the mtimes, modes (same exec bit), umask or creation order", async () => {
    const a = await tempDir();
    const b = await tempDir();
    await buildTree(a, { fileMode: 0o644, execMode: 0o755, dirMode: 0o755, time: 1_000_000_000 });
    const oldUmask = process.umask(0o077);
    try {
      await buildTree(b, { reverse: true, fileMode: 0o600, execMode: 0o700, dirMode: 0o700, time: 1_700_000_000 });
    } finally {
      process.umask(oldUmask);
    }
    const pa = await packBuildContext(a, { hashTar: true });
    const pb = await packBuildContext(b, { hashTar: true });
    try {
      expect(pa.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(pb.digest).toBe(pa.digest);
      expect(pa.tarDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(pb.tarDigest).toBe(pa.tarDigest);
      expect((await readFile(pb.archivePath)).equals(await readFile(pa.archivePath))).toBe(true);
      expect(pa.fileCount).toBe(7);
      expect(pa.totalBytes).toBe(Object.values(TREE).reduce((n, v) => n + Buffer.byteLength(v), 0));
      // Packing the same tree again (after touching it) gives the same digest.
      await utimes(path.join(a, "src/main.py"), 5, 5);
      const again = await packBuildContext(a);
      expect(again.digest).toBe(pa.digest);
      await again.cleanup();
    } finally {
      await pa.cleanup();
      await pb.cleanup();
    }
  });

  it("writes a fixed gzip header (no mtime, no name, OS byte 3) and reports the digest of the file", async () => {
    const root = await tempDir();
    await writeTree(root, { "a.txt": "a" });
    const p = await packBuildContext(root);
    try {
      const bytes = await readFile(p.archivePath);
      expect([...bytes.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
      expect(p.archiveBytes).toBe(bytes.length);
      expect(await sha256File(p.archivePath)).toBe(p.digest);
      expect((await stat(p.archivePath)).mode & 0o777).toBe(0o600);
    } finally {
      await p.cleanup();
    }
    expect(existsSync(p.archivePath)).toBe(false);
    expect(existsSync(path.dirname(p.archivePath))).toBe(false);
  });
});

describe("packBuildContext: readable by GNU tar", () => {
  it("lists with tar -tzvf: owner 0/0, fixed date, normalised modes, links as links", async () => {
    const root = await tempDir();
    await buildTree(root, { fileMode: 0o640, execMode: 0o750, dirMode: 0o750, time: 1_600_000_000 });
    const p = await packBuildContext(root);
    try {
      const listing = execFileSync("tar", ["-tzvf", p.archivePath], { encoding: "utf8" })
        .trim()
        .split("\n")
        .map((l) => l.replace(/\s+/g, " "));
      const longDir = "long-directory-name-".repeat(6);
      expect(listing).toEqual([
        "-rw-r--r-- 0/0 25 1985-10-26 08:15 Dockerfile",
        "drwxr-xr-x 0/0 0 1985-10-26 08:15 bin/",
        "lrwxrwxrwx 0/0 0 1985-10-26 08:15 bin/main-link -> ../src/main.py",
        "-rwxr-xr-x 0/0 34 1985-10-26 08:15 bin/run.sh",
        "drwxr-xr-x 0/0 0 1985-10-26 08:15 data/",
        "-rw-r--r-- 0/0 200000 1985-10-26 08:15 data/blob.bin",
        "drwxr-xr-x 0/0 0 1985-10-26 08:15 empty/",
        `drwxr-xr-x 0/0 0 1985-10-26 08:15 ${longDir}/`,
        `-rw-r--r-- 0/0 5 1985-10-26 08:15 ${longDir}/${"n".repeat(120)}.txt`,
        "drwxr-xr-x 0/0 0 1985-10-26 08:15 src/",
        "drwxr-xr-x 0/0 0 1985-10-26 08:15 src/lib/",
        "-rw-r--r-- 0/0 6 1985-10-26 08:15 src/lib/util.py",
        "-rw-r--r-- 0/0 12 1985-10-26 08:15 src/main.py",
        "drwxr-xr-x 0/0 0 1985-10-26 08:15 ünïcødé/",
        "-rw-r--r-- 0/0 10 1985-10-26 08:15 ünïcødé/файл.txt",
      ]);
      expect(p.files.map((f) => f.path)).toEqual(
        listing.map((l) => l.split(" ").slice(5).join(" ").replace(/ -> .*$/, "").replace(/\/$/, "")),
      );
    } finally {
      await p.cleanup();
    }
  });

  it("extracts with tar -xzf to the same content", async () => {
    const root = await tempDir();
    await buildTree(root, { fileMode: 0o644, execMode: 0o755, dirMode: 0o755, time: 1_600_000_000 });
    const out = await tempDir();
    const p = await packBuildContext(root);
    try {
      execFileSync("tar", ["-xzf", p.archivePath, "-C", out]);
    } finally {
      await p.cleanup();
    }
    for (const [rel, content] of Object.entries(TREE)) {
      if (rel.endsWith("/")) {
        expect((await stat(path.join(out, rel))).isDirectory()).toBe(true);
        continue;
      }
      expect((await readFile(path.join(out, rel))).equals(Buffer.from(content))).toBe(true);
    }
    expect(await readlink(path.join(out, "bin/main-link"))).toBe("../src/main.py");
    expect((await stat(path.join(out, "bin/run.sh"))).mode & 0o111).not.toBe(0);
    expect(execFileSync("diff", ["-r", "--no-dereference", root, out], { encoding: "utf8" })).toBe("");
  });

  it("produces the same tar bytes as GNU tar with normalising options (tree without symlinks)", async () => {
    const root = await tempDir();
    await writeTree(root, {
      "a/b/c.txt": "c\n",
      "a/x.bin": randomBytes(5000),
      "run.sh": "#!/bin/sh\n",
      "z/": "",
      [`${"p".repeat(90)}/${"q".repeat(90)}`]: "split into ustar prefix/name\n",
    });
    await chmod(path.join(root, "run.sh"), 0o700);
    const p = await packBuildContext(root, { gzipLevel: 6 });
    try {
      const mine = gunzipSync(await readFile(p.archivePath));
      const names = execFileSync("ls", ["-A", root], { encoding: "utf8" }).trim().split("\n");
      const gnu = execFileSync(
        "tar",
        [
          "--format=ustar",
          "--sort=name",
          "--owner=0",
          "--group=0",
          "--numeric-owner",
          "--mtime=@499162500",
          "--mode=a=rX,u+w",
          "-cf",
          "-",
          "-C",
          root,
          ...names,
        ],
        { maxBuffer: 64 * 1024 * 1024 },
      );
      expect(mine.length).toBe(gnu.length);
      expect(mine.equals(gnu)).toBe(true);
    } finally {
      await p.cleanup();
    }
  });
});

describe("streamBuildContext", () => {
  it("yields one chunk per gzip member (or chunkSize pieces) whose concatenation is the same archive, and the same digest", async () => {
    const root = await tempDir();
    await writeTree(root, { "big.bin": randomBytes(3 * 1024 * 1024 + 123), "small.txt": "s" });
    const s = await streamBuildContext(root);
    const chunks: Buffer[] = [];
    for await (const c of s.chunks) chunks.push(c);
    const summary = await s.done;
    // 3 MiB of tar and a bit: four members, each a whole gzip member as it came from the compressor.
    expect(chunks.length).toBe(4);
    for (const c of chunks) expect([...c.subarray(0, 3)]).toEqual([0x1f, 0x8b, 8]);
    const cut = await streamBuildContext(root, { chunkSize: 1024 * 1024 });
    const pieces: Buffer[] = [];
    for await (const c of cut.chunks) pieces.push(c);
    for (const c of pieces.slice(0, -1)) expect(c.length).toBe(1024 * 1024);
    expect(pieces.at(-1)!.length).toBeLessThanOrEqual(1024 * 1024);
    const p = await packBuildContext(root);
    try {
      expect(Buffer.concat(chunks).equals(await readFile(p.archivePath))).toBe(true);
      expect(Buffer.concat(pieces).equals(Buffer.concat(chunks))).toBe(true);
      expect(summary.digest).toBe(p.digest);
      expect((await cut.done).digest).toBe(p.digest);
      expect(summary.archiveBytes).toBe(p.archiveBytes);
      const fromFile: Buffer[] = [];
      for await (const c of p.readChunks()) fromFile.push(c);
      expect(fromFile.map((c) => c.length)).toEqual(pieces.map((c) => c.length));
      expect(s.fileCount).toBe(2);
    } finally {
      await p.cleanup();
    }
  });

  it("keeps memory bounded: Buffer memory stays far below the archive size while streaming", async () => {
    const root = await tempDir();
    // Incompressible data, so the archive is as big as the input.
    const piece = randomBytes(1024 * 1024);
    for (let i = 0; i < 4; i++) {
      const parts = Array.from({ length: 16 }, () => piece);
      await writeFile(path.join(root, `f${i}.bin`), Buffer.concat(parts));
    }
    // Measure live Buffer memory after a forced GC, so lazily collected garbage does not count.
    v8.setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const s = await streamBuildContext(root, { chunkSize: 256 * 1024 });
    gc();
    const base = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let total = 0;
    let n = 0;
    for await (const c of s.chunks) {
      total += c.length;
      if (++n % 8 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
      }
    }
    expect(total).toBeGreaterThan(64 * 1024 * 1024);
    // In flight: a few 256 KiB reads, zlib buffers and one chunk; nowhere near the 64 MiB archive.
    expect(peak).toBeLessThan(16 * 1024 * 1024);
  });

  it("rejects done when the consumer stops early, and releases the files", async () => {
    const root = await tempDir();
    await writeTree(root, { "big.bin": randomBytes(3 * 1024 * 1024) });
    const s = await streamBuildContext(root, { chunkSize: 64 * 1024 });
    for await (const _ of s.chunks) break;
    await expect(s.done).rejects.toThrow(/not fully consumed/);
  });
});

describe("errors while packing", () => {
  it("refuses a file that changed size between the walk and the pack", async () => {
    const root = await tempDir();
    await writeTree(root, { "a.txt": "short" });
    const collected = await collectFiles(root);
    await writeFile(path.join(root, "a.txt"), "much longer now");
    const consume = async () => {
      for await (const _ of tarStream(collected.root, collected.files)) void _;
    };
    await expect(consume()).rejects.toMatchObject({ code: "FILE_CHANGED", path: "a.txt" });
  });

  it("propagates a packing error through the stream and done", async () => {
    const root = await tempDir();
    await writeTree(root, { "a.txt": "short" });
    const s = await streamBuildContext(root);
    await writeFile(path.join(root, "a.txt"), "changed after the walk");
    const consume = async () => {
      for await (const _ of s.chunks) void _;
    };
    await expect(consume()).rejects.toMatchObject({ code: "FILE_CHANGED" });
    await expect(s.done).rejects.toMatchObject({ code: "FILE_CHANGED" });
  });

  it("surfaces walk errors (escaping symlink) before creating a temp file", async () => {
    const root = await tempDir();
    const tmp = await tempDir();
    await symlink("/etc/hostname", path.join(root, "esc"));
    await expect(packBuildContext(root, { tmpDir: tmp })).rejects.toMatchObject({ code: "SYMLINK_ESCAPE" });
    expect(execFileSync("ls", ["-A", tmp], { encoding: "utf8" })).toBe("");
  });
});

describe("archives given as --code", () => {
  it("detects .tar.gz/.tgz, .tar and .zip by extension and magic bytes", async () => {
    const root = await tempDir();
    await writeTree(root, { "src/a.txt": "a" });
    execFileSync("tar", ["-czf", path.join(root, "ctx.tar.gz"), "-C", root, "src"]);
    execFileSync("tar", ["-czf", path.join(root, "ctx.TGZ"), "-C", root, "src"]);
    execFileSync("tar", ["-cf", path.join(root, "ctx.tar"), "-C", root, "src"]);
    // Minimal empty zip: the end-of-central-directory record.
    await writeFile(path.join(root, "ctx.zip"), Buffer.from("504b0506" + "00".repeat(18), "hex"));
    await writeFile(path.join(root, "fake.tgz"), "not gzip");
    await writeFile(path.join(root, "gz-named.zip"), await readFile(path.join(root, "ctx.tar.gz")));
    await writeFile(path.join(root, "handler.py"), "def handler(p, c): return p\n");

    expect(await isArchiveFile(path.join(root, "ctx.tar.gz"))).toBe(true);
    expect(await isArchiveFile(path.join(root, "ctx.TGZ"))).toBe(true);
    expect(await isArchiveFile(path.join(root, "ctx.tar"))).toBe(true);
    expect(await isArchiveFile(path.join(root, "ctx.zip"))).toBe(true);
    expect(await isArchiveFile(path.join(root, "fake.tgz"))).toBe(false);
    expect(await isArchiveFile(path.join(root, "gz-named.zip"))).toBe(false);
    expect(await isArchiveFile(path.join(root, "handler.py"))).toBe(false);
    expect(await isArchiveFile(path.join(root, "src"))).toBe(false);
    expect(await isArchiveFile(path.join(root, "missing.tar.gz"))).toBe(false);
    expect(await detectArchiveKind(path.join(root, "gz-named.zip"))).toBe("tar.gz");
  });

  it("sha256File and readFileChunks stream an existing file", async () => {
    const root = await tempDir();
    const data = randomBytes(2 * 1024 * 1024 + 7);
    const f = path.join(root, "x.bin");
    await writeFile(f, data);
    const { createHash } = await import("node:crypto");
    expect(await sha256File(f)).toBe(`sha256:${createHash("sha256").update(data).digest("hex")}`);
    const sizes: number[] = [];
    for await (const c of readFileChunks(f)) sizes.push(c.length);
    expect(sizes).toEqual([1024 * 1024, 1024 * 1024, 7]);
  });
});
