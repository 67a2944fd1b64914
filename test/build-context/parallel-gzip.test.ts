import { execFileSync } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { collectFiles } from "../../src/build-context/collect-files.js";
import { packBuildContext, streamBuildContext } from "../../src/build-context/pack-tar.js";
import { gzipMember } from "../../src/build-context/gzip-member.js";
import { BufferPool, DEFAULT_GZIP_MEMBER_SIZE, parallelGzip } from "../../src/build-context/parallel-gzip.js";
import { tarStream } from "../../src/build-context/tar-writer.js";
import { tempDir, writeTree } from "./helpers.js";

const MiB = 1024 * 1024;

/** Deterministic pseudo-random bytes (AES-CTR keystream), so failures reproduce. */
function noise(seed: string, size: number): Buffer {
  const key = createHash("sha256").update(seed).digest();
  return createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** Compressible text of `size` bytes. */
function text(seed: string, size: number): Buffer {
  const words = noise(seed, 4096).toString("hex").match(/.{1,7}/g)!;
  let s = "";
  for (let i = 0; s.length < size; i++) s += words[(i * 7919) % words.length] + (i % 11 === 0 ? "\n" : " ");
  return Buffer.from(s.slice(0, size));
}

/** A ~5.5 MiB context: several gzip members, text and incompressible data, many small files. */
async function bigTree(): Promise<string> {
  const root = await tempDir();
  const tree: Record<string, string | Buffer> = { Dockerfile: "FROM scratch\nCOPY . /app\n" };
  for (let i = 0; i < 40; i++) tree[`src/m${String(i).padStart(2, "0")}.ts`] = text(`t${i}`, 10_000 + i * 997);
  tree["assets/a.bin"] = noise("a", 2 * MiB + 12_345);
  tree["assets/b.txt"] = text("b", 1.5 * MiB);
  tree["assets/c.bin"] = noise("c", 700_001);
  tree["empty/"] = "";
  await writeTree(root, tree);
  return root;
}

/** The uncompressed tar the packer writes for `root`. */
async function tarOf(root: string): Promise<Buffer> {
  const collected = await collectFiles(root);
  const parts: Buffer[] = [];
  for await (const c of tarStream(collected.root, collected.files)) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/**
 * The gzip members the packer must write for `data`: one per `memberSize` bytes, each encoded on
 * its own (gzip-member.test.ts checks the encoding against zlib and the readers).
 */
async function members(data: Buffer, memberSize: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += memberSize) out.push(await gzipMember(data.subarray(off, off + memberSize), 6));
  return out;
}

describe("multi-member gzip: format", () => {
  it("is the concatenation of one gzip member per 1 MiB of tar, each with the fixed header", async () => {
    const root = await bigTree();
    const tar = await tarOf(root);
    const p = await packBuildContext(root, { hashTar: true });
    try {
      const gz = await readFile(p.archivePath);
      const expected = await members(tar, DEFAULT_GZIP_MEMBER_SIZE);
      expect(expected.length).toBe(Math.ceil(tar.length / MiB));
      expect(expected.length).toBeGreaterThanOrEqual(5);
      expect(gz.equals(Buffer.concat(expected))).toBe(true);
      // Every member starts with the fixed header: no mtime, no name, OS byte 3.
      let off = 0;
      for (const m of expected) {
        expect([...gz.subarray(off, off + 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
        off += m.length;
      }
      expect(p.tarDigest).toBe(`sha256:${createHash("sha256").update(tar).digest("hex")}`);
      expect(p.archiveBytes).toBe(gz.length);
    } finally {
      await p.cleanup();
    }
  });

  it("is a single ordinary gzip member when the tar is under 1 MiB", async () => {
    const root = await tempDir();
    await writeTree(root, { Dockerfile: "FROM scratch\n", "a.txt": text("small", 200_000) });
    const tar = await tarOf(root);
    expect(tar.length).toBeLessThan(MiB);
    const p = await packBuildContext(root);
    try {
      const single = await gzipMember(tar, 6);
      expect((await readFile(p.archivePath)).equals(single)).toBe(true);
      expect(gunzipSync(single).equals(tar)).toBe(true);
    } finally {
      await p.cleanup();
    }
  });
});

describe("multi-member gzip: determinism", () => {
  it("gives byte-identical archives and digests with 1, 2 and 4 compressions in flight, packed or streamed", async () => {
    const root = await bigTree();
    const archives: Buffer[] = [];
    const digests = new Set<string>();
    for (const gzipConcurrency of [1, 2, 4]) {
      const p = await packBuildContext(root, { gzipConcurrency });
      try {
        archives.push(await readFile(p.archivePath));
        digests.add(p.digest);
      } finally {
        await p.cleanup();
      }
      const s = await streamBuildContext(root, { gzipConcurrency, chunkSize: 300_000 });
      const chunks: Buffer[] = [];
      for await (const c of s.chunks) chunks.push(c);
      archives.push(Buffer.concat(chunks));
      digests.add((await s.done).digest);
    }
    expect(digests.size).toBe(1);
    for (const a of archives.slice(1)) expect(a.equals(archives[0]!)).toBe(true);
  });

  it("cuts at fixed byte offsets: a different member size is a different (still valid) archive", async () => {
    const root = await bigTree();
    const tar = await tarOf(root);
    const a = await packBuildContext(root, { gzipMemberSize: 256 * 1024, gzipConcurrency: 3, hashTar: true });
    const b = await packBuildContext(root, { gzipMemberSize: 256 * 1024, gzipConcurrency: 1 });
    const c = await packBuildContext(root, { hashTar: true });
    try {
      const gzA = await readFile(a.archivePath);
      expect(gzA.equals(await readFile(b.archivePath))).toBe(true);
      expect(gzA.equals(Buffer.concat(await members(tar, 256 * 1024)))).toBe(true);
      expect(a.digest).not.toBe(c.digest);
      expect(a.tarDigest).toBe(c.tarDigest);
      expect(gunzipSync(gzA).equals(tar)).toBe(true);
    } finally {
      await Promise.all([a.cleanup(), b.cleanup(), c.cleanup()]);
    }
  });
});

describe("multi-member gzip: readers", () => {
  it("passes gzip -t, and gzip -dc, node's gunzip and Python's gzip give back the tar", async () => {
    const root = await bigTree();
    const tar = await tarOf(root);
    const p = await packBuildContext(root, { gzipConcurrency: 2, hashTar: true });
    try {
      execFileSync("gzip", ["-t", p.archivePath]);
      const viaGzip = execFileSync("gzip", ["-dc", p.archivePath], { maxBuffer: 64 * MiB });
      expect(viaGzip.equals(tar)).toBe(true);
      expect(gunzipSync(await readFile(p.archivePath)).equals(tar)).toBe(true);
      const py = execFileSync(
        "python3",
        ["-c", "import gzip,hashlib,sys; print(hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest())", p.archivePath],
        { encoding: "utf8" },
      ).trim();
      expect(`sha256:${py}`).toBe(p.tarDigest);
    } finally {
      await p.cleanup();
    }
  });

  it("GNU tar lists and extracts it; Python's tarfile reads every member; the content round-trips", async () => {
    const root = await bigTree();
    const out = await tempDir();
    const p = await packBuildContext(root, { gzipConcurrency: 4 });
    try {
      const listing = execFileSync("tar", ["-tzf", p.archivePath], { encoding: "utf8" }).trim().split("\n");
      expect(listing.map((l) => l.replace(/\/$/, ""))).toEqual(p.files.map((f) => f.path));
      execFileSync("tar", ["-xzf", p.archivePath, "-C", out]);
      const names = execFileSync(
        "python3",
        ["-c", "import tarfile,sys; print('\\n'.join(m.name for m in tarfile.open(sys.argv[1], 'r:gz')))", p.archivePath],
        { encoding: "utf8" },
      ).trim().split("\n");
      expect(names.map((n) => n.replace(/\/$/, ""))).toEqual(p.files.map((f) => f.path));
    } finally {
      await p.cleanup();
    }
    expect(execFileSync("diff", ["-r", "--no-dereference", root, out], { encoding: "utf8" })).toBe("");
    expect((await readFile(path.join(out, "assets/a.bin"))).equals(noise("a", 2 * MiB + 12_345))).toBe(true);
  });
});

const goMissing = (() => {
  try {
    execFileSync("go", ["version"], { stdio: "ignore" });
    return "";
  } catch {
    return "go is not installed (CI installs golang-go)";
  }
})();
if (goMissing && !process.env["CI"]) console.warn(`[Go reader test skipped] ${goMissing}`);

describe("multi-member gzip: Go's reader", () => {
  it.skipIf(!!goMissing && !process.env["CI"])("compress/gzip and archive/tar read every member and entry, with the right content", async () => {
    const root = await bigTree();
    const tar = await tarOf(root);
    const p = await packBuildContext(root, { gzipConcurrency: 2 });
    try {
      const goCache = await tempDir();
      const out = execFileSync("go", ["run", path.join(import.meta.dirname, "go-reader", "main.go"), p.archivePath], {
        encoding: "utf8",
        env: { ...process.env, GOCACHE: goCache, GO111MODULE: "off" },
        maxBuffer: 16 * MiB,
      });
      const lines = out.trim().split("\n");
      expect(lines.pop()).toBe(`total\t${tar.length}`);
      const expected = await Promise.all(
        p.files.map(async (f) => {
          const name = f.type === "dir" ? `${f.path}/` : f.path;
          const content = f.type === "file" ? await readFile(path.join(root, f.path)) : Buffer.alloc(0);
          const flag = f.type === "dir" ? "5" : f.type === "symlink" ? "2" : "0";
          return `${name}\t${flag}\t${content.length}\t${createHash("sha256").update(content).digest("hex")}`;
        }),
      );
      expect(lines).toEqual(expected);
      // The tree has stored and deflated members both.
      expect(p.archiveBytes).toBeGreaterThan(2.7 * MiB);
      expect(p.archiveBytes).toBeLessThan(tar.length * 0.8);
    } finally {
      await p.cleanup();
    }
  });
});

describe("parallelGzip", () => {
  async function* pieces(data: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
    let off = 0;
    for (let i = 0; off < data.length; i++) {
      const n = sizes[i % sizes.length]!;
      yield data.subarray(off, off + n);
      off += n;
    }
  }
  async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const b of gen) parts.push(b);
    return Buffer.concat(parts);
  }

  it("cuts the input by offset, whatever the sizes of the pieces it arrives in", async () => {
    const data = Buffer.concat([noise("p", 300_000), text("p", 333_333)]);
    const memberSize = 100_000;
    const aligned = await collect(parallelGzip(pieces(data, [memberSize]), { level: 6, memberSize, concurrency: 1 }));
    const ragged = await collect(parallelGzip(pieces(data, [1, 4095, 77_777, 250_001, 512]), { level: 6, memberSize, concurrency: 3, readAhead: 0 }));
    const pooled = await collect(
      parallelGzip(pieces(data, [65_536]), { level: 6, memberSize, concurrency: 2, pool: new BufferPool(memberSize, 2) }),
    );
    expect(ragged.equals(aligned)).toBe(true);
    expect(pooled.equals(aligned)).toBe(true);
    expect(gunzipSync(aligned).equals(data)).toBe(true);
    expect(aligned.equals(Buffer.concat(await members(data, memberSize)))).toBe(true);
  });

  it("gives a valid empty gzip file for an empty input", async () => {
    async function* none(): AsyncGenerator<Buffer> {}
    const gz = await collect(parallelGzip(none(), { level: 6 }));
    expect(gunzipSync(gz).length).toBe(0);
    expect(gz[9]).toBe(3);
  });

  it("rethrows a source error after the members before it, and stops cleanly when abandoned", async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield noise("f", 250_000);
      throw new Error("source broke");
    }
    const got: Buffer[] = [];
    await expect(
      (async () => {
        for await (const m of parallelGzip(failing(), { level: 6, memberSize: 100_000, concurrency: 2 })) got.push(m);
      })(),
    ).rejects.toThrow("source broke");
    expect(got.length).toBeLessThanOrEqual(2);

    let pulled = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      for (;;) {
        pulled++;
        yield noise(`e${pulled}`, 64 * 1024);
      }
    }
    for await (const _ of parallelGzip(endless(), { level: 1, memberSize: 64 * 1024, concurrency: 2, readAhead: 1 })) break;
    // Bounded read-ahead: it stopped pulling once the queue was full.
    expect(pulled).toBeLessThanOrEqual(4);
  });

  it("rejects bad sizes", async () => {
    async function* one(): AsyncGenerator<Buffer> {
      yield Buffer.from("x");
    }
    await expect(parallelGzip(one(), { level: 6, memberSize: 0 }).next()).rejects.toThrow(RangeError);
    await expect(parallelGzip(one(), { level: 6, concurrency: 0 }).next()).rejects.toThrow(RangeError);
  });
});
