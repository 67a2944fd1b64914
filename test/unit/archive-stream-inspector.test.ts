import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { inspectArchive, type ArchiveLimits } from "../../src/wire/archive.js";
import { ArchiveStreamInspector } from "../../src/wire/archive-stream-inspector.js";
import { buildZip } from "../helpers/hostile-archives.js";

const dir = mkdtempSync(join(tmpdir(), "ignite-stream-inspect-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function python(script: string): void {
  execFileSync("python3", ["-c", script]);
}

/** Feeds `file` to an inspector in small chunks (waiting for drain like the upload), then finishes with `finishFile`. */
async function streamed(file: string, finishFile: string, limits: ArchiveLimits = {}) {
  const bytes = readFileSync(file);
  const inspector = new ArchiveStreamInspector(limits);
  for (let at = 0; at < bytes.length; at += 7000) {
    if (!inspector.write(bytes.subarray(at, at + 7000))) await inspector.drain();
  }
  return inspector.finish(finishFile, limits.singleFileName);
}

describe("ArchiveStreamInspector lists an upload as it arrives, as inspectArchive lists the file", () => {
  it("a tar.gz and a plain tar are listed from the stream alone (the file is not read)", async () => {
    python(`import tarfile,io,os\nfor name,mode in (('ok.tgz','w:gz'),('ok.tar','w')):\n  t=tarfile.open('${dir}/'+name,mode)\n  for n in range(50):\n    d=os.urandom(3000)\n    i=tarfile.TarInfo(f'src/f{n}.bin');i.size=len(d);t.addfile(i,io.BytesIO(d))\n  i=tarfile.TarInfo('link');i.type=tarfile.SYMTYPE;i.linkname='src/f1.bin';t.addfile(i)\n  t.close()`);
    for (const name of ["ok.tgz", "ok.tar"]) {
      const got = await streamed(join(dir, name), join(dir, "does-not-exist"));
      expect(got).toEqual(await inspectArchive(join(dir, name)));
      expect(got.entries.length).toBe(51);
    }
  });

  it("zip, a plain file and a gzip of one file fall back to the file and agree with inspectArchive", async () => {
    writeFileSync(join(dir, "a.zip"), buildZip([{ name: "a.txt", data: Buffer.from("hello") }]));
    writeFileSync(join(dir, "plain.txt"), "x".repeat(2000));
    writeFileSync(join(dir, "one.gz"), gzipSync(Buffer.from("y".repeat(5000))));
    for (const name of ["a.zip", "plain.txt", "one.gz"]) {
      const f = join(dir, name);
      expect(await streamed(f, f, { singleFileName: "main.py" })).toEqual(await inspectArchive(f, { singleFileName: "main.py" }));
    }
  });

  it("a refused entry, a truncated stream and an over-limit archive give inspectArchive's error", async () => {
    python(`import tarfile,io,os\nt=tarfile.open('${dir}/escape.tgz','w:gz')\nd=os.urandom(3000)\ni=tarfile.TarInfo('../up.bin');i.size=len(d);t.addfile(i,io.BytesIO(d))\nt.close()\nt=tarfile.open('${dir}/whole.tgz','w:gz')\nd=os.urandom(300_000)\ni=tarfile.TarInfo('data.bin');i.size=len(d);t.addfile(i,io.BytesIO(d))\nt.close()`);
    const whole = readFileSync(join(dir, "whole.tgz"));
    writeFileSync(join(dir, "cut.tgz"), whole.subarray(0, Math.floor(whole.length / 2)));
    const cases: [string, ArchiveLimits][] = [
      ["escape.tgz", {}],
      ["cut.tgz", {}],
      ["whole.tgz", { maxTotalBytes: 100_000 }],
    ];
    for (const [name, limits] of cases) {
      const f = join(dir, name);
      const expected = await inspectArchive(f, limits).then(
        () => "listed",
        (e: Error) => e.message,
      );
      expect(expected).not.toBe("listed");
      await expect(streamed(f, f, limits)).rejects.toThrow(expected);
    }
  });
});
