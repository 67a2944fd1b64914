import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { packBuildContext } from "../../src/build-context/index.js";
import { inspectArchive } from "../../src/wire/archive.js";
import { ArchiveStreamInspector } from "../../src/wire/archive-stream-inspector.js";
import { buildTar, type TarSpec } from "../helpers/hostile-archives.js";

const dir = mkdtempSync(join(tmpdir(), "ignite-tar-walker-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The streamed listing of `bytes` when the walker could make it, or "fell back" when the
 * inspector had to read the stored file (finish is given a path that does not exist).
 */
async function streamedOnly(bytes: Buffer): Promise<Awaited<ReturnType<ArchiveStreamInspector["finish"]>> | "fell back"> {
  const inspector = new ArchiveStreamInspector();
  for (let at = 0; at < bytes.length; at += 5000) {
    if (!inspector.write(bytes.subarray(at, at + 5000))) await inspector.drain();
  }
  return inspector.finish(join(dir, "does-not-exist")).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "ENOENT") throw e;
    return "fell back" as const;
  });
}

/** What node-tar (inspectArchive) says of the same bytes: the listing or the error message. */
async function authoritative(name: string, bytes: Buffer) {
  const f = join(dir, name);
  writeFileSync(f, bytes);
  return inspectArchive(f).catch((e: Error) => `refused: ${e.message}`);
}

const pax = (records: Record<string, string>): TarSpec => {
  let body = "";
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    let n = rest.length + 1;
    while (String(n).length + rest.length !== n) n = String(n).length + rest.length;
    body += `${n}${rest}`;
  }
  return { name: "PaxHeaders/x", type: "x", data: Buffer.from(body, "latin1") };
};

describe("the upload's tar header walker lists what node-tar lists, or leaves the listing to it", () => {
  it("our packer's archives (ustar prefixes, PAX paths and link targets, links, empty files) are listed from the stream alone", async () => {
    const tree = join(dir, "tree");
    const deep = `${"d".repeat(60)}/${"e".repeat(60)}`;
    mkdirSync(join(tree, deep), { recursive: true });
    mkdirSync(join(tree, "f".repeat(200)), { recursive: true });
    writeFileSync(join(tree, "Dockerfile"), "FROM scratch\n");
    writeFileSync(join(tree, deep, "in-prefix.txt"), "prefix");
    writeFileSync(join(tree, "f".repeat(200), "g".repeat(150)), "pax path");
    writeFileSync(join(tree, "empty"), "");
    writeFileSync(join(tree, "ünïcödé.txt"), randomBytes(70_000));
    symlinkSync(`${"f".repeat(200)}/${"g".repeat(150)}`, join(tree, "long-link"));
    symlinkSync("Dockerfile", join(tree, "short-link"));
    const packed = await packBuildContext(tree, {});
    try {
      const bytes = readFileSync(packed.archivePath);
      const got = await streamedOnly(bytes);
      expect(got).not.toBe("fell back");
      expect(got).toEqual(await authoritative("ours.tgz", bytes));
      expect(got !== "fell back" && got.entries.some((e) => e.path.endsWith("g".repeat(150)))).toBe(true);
    } finally {
      await packed.cleanup();
    }
  });

  it("GNU tar's archives: short names from the stream, a GNU long name left to node-tar", async () => {
    const src = join(dir, "gnu");
    mkdirSync(join(src, "sub"), { recursive: true });
    writeFileSync(join(src, "sub", "a.txt"), "a");
    writeFileSync(join(src, "sub", "random.bin"), randomBytes(4000));
    const short = execFileSync("tar", ["-cz", "-C", src, "."]);
    const got = await streamedOnly(short);
    expect(got).not.toBe("fell back");
    expect(got).toEqual(await authoritative("gnu.tgz", short));
    writeFileSync(join(src, "sub", "n".repeat(150)), "long");
    expect(await streamedOnly(execFileSync("tar", ["-cz", "--format=gnu", "-C", src, "."]))).toBe("fell back");
  });

  // Each of these is either listed exactly as node-tar lists it, or left to node-tar; never listed
  // when node-tar refuses it (the upload would then accept what the build later refuses). Each
  // starts with an incompressible file, so that its gzip is past the 512 bytes a listing starts at.
  const file = (name: string, data = "x"): TarSpec => ({ name, data: Buffer.from(data) });
  const pad: TarSpec = { name: "pad.bin", data: randomBytes(2000) };
  const hostile: Record<string, TarSpec[] | Buffer> = {
    "a path with ..": [file("../up.txt")],
    "an absolute path": [file("/etc/cron.d/x")],
    "a character device": [{ name: "dev", type: "3" }],
    "a FIFO": [{ name: "fifo", type: "6" }],
    "a symlink out": [{ name: "out", type: "2", linkname: "../../etc/passwd" }],
    "an absolute symlink": [{ name: "abs", type: "2", linkname: "/etc/passwd" }],
    "a hard link out": [{ name: "hard", type: "1", linkname: "../x" }],
    "a link without a target": [{ name: "nolink", type: "2" }],
    "a file with a link target": [{ name: "f", linkname: "x", data: Buffer.from("x") }],
    "a size larger than the body": [{ name: "big", declaredSize: 100_000, data: Buffer.from("x") }],
    "a directory with a size": [{ name: "d", type: "5", declaredSize: 1024 }, file("after")],
    "a file named like a directory": [file("looks-like-dir/", "")],
    "a global PAX header": [{ name: "g", type: "g", data: Buffer.from("11 path=x\n") }, file("a")],
    "a GNU long name": [{ name: "././@LongLink", type: "L", data: Buffer.from("n".repeat(200)) }, file("short")],
    "an unknown type": [{ name: "weird", type: "Z" }],
    "a PAX path out": [pax({ path: "../../escape" }), file("innocent")],
    "a PAX path with a NUL": [pax({ path: "ok\0/../../x" }), file("innocent")],
    "a PAX type": [pax({ type: "3" }), file("innocent")],
    "a PAX size": [pax({ size: "5" }), file("sized", "12345")],
    "a PAX linkpath on a file": [pax({ linkpath: "/etc/passwd" }), file("innocent")],
    "a PAX linkpath out": [pax({ linkpath: "../../../etc" }), { name: "l", type: "2", linkname: "ok" }],
    "two PAX headers": [pax({ path: "a" }), pax({ path: "b" }), file("c")],
    "a PAX header at the end": [pax({ path: "a" })],
    "a bad PAX record length": [{ name: "p", type: "x", data: Buffer.from("99 path=x\n") }, file("c")],
    "entries after one zero block": Buffer.concat([buildTar([pad, file("a")], Buffer.alloc(512)), buildTar([file("b")])]),
    "no end marker": buildTar([pad, file("a")], Buffer.alloc(0)),
    "a bad checksum": (() => {
      const t = buildTar([pad, file("a")]);
      t[0] = "b".charCodeAt(0);
      return t;
    })(),
    "a v7 header": (() => {
      const t = buildTar([pad, file("a")]);
      t.fill(0, 257, 265);
      return t;
    })(),
  };
  const listed: Record<string, number> = {};
  for (const [what, spec] of Object.entries(hostile)) {
    it(`${what}`, async () => {
      const tar = Buffer.isBuffer(spec) ? spec : buildTar([pad, ...spec]);
      for (const [kind, bytes] of [
        ["tar", tar],
        ["tgz", gzipSync(tar)],
      ] as const) {
        const got = await streamedOnly(bytes);
        const truth = await authoritative(`case.${kind}`, bytes);
        if (got !== "fell back") expect(got).toEqual(truth);
        listed[what] = (listed[what] ?? 0) + (got === "fell back" ? 0 : 1);
      }
    });
  }

  it("the cases node-tar accepts as they are were listed from the stream, so the comparison above was made", () => {
    for (const what of ["a PAX size", "a file named like a directory", "a directory with a size"]) expect(listed[what], what).toBe(2);
  });
});
