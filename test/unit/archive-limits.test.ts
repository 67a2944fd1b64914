import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ArchiveError, extractArchive, inspectArchive } from "../../src/wire/archive.js";
import { buildZip } from "../helpers/hostile-archives.js";

const dir = mkdtempSync(join(tmpdir(), "ignite-hostile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function python(script: string): void {
  execFileSync("python3", ["-c", script]);
}

describe("hostile archives are refused before anything is written", () => {
  it("a gzip bomb (50 MB of zeros in a few kB) over the size limit", async () => {
    python(`import tarfile,io\nt=tarfile.open('${dir}/bomb.tgz','w:gz')\ni=tarfile.TarInfo('zeros');i.size=50_000_000\nt.addfile(i,io.BytesIO(bytes(50_000_000)))\nt.close()`);
    expect(readFileSync(join(dir, "bomb.tgz")).length).toBeLessThan(200_000);
    const target = join(dir, "bomb-out");
    await expect(extractArchive(join(dir, "bomb.tgz"), target, { maxTotalBytes: 10_000_000 })).rejects.toThrow(ArchiveError);
    expect(() => readdirSync(target)).toThrow();
  });

  it("more entries than the limit", async () => {
    python(`import tarfile,io\nt=tarfile.open('${dir}/many.tar','w')\nfor n in range(1001):\n  i=tarfile.TarInfo(f'f{n}');i.size=0;t.addfile(i,io.BytesIO(b''))\nt.close()`);
    await expect(inspectArchive(join(dir, "many.tar"), { maxEntries: 1000 })).rejects.toThrow(/1000|entries/);
  });

  it("a truncated tar.gz stream", async () => {
    python(`import tarfile,io,os\nt=tarfile.open('${dir}/whole.tgz','w:gz')\nd=os.urandom(300_000)\ni=tarfile.TarInfo('data.bin');i.size=len(d)\nt.addfile(i,io.BytesIO(d))\nt.close()`);
    const whole = readFileSync(join(dir, "whole.tgz"));
    writeFileSync(join(dir, "cut.tgz"), whole.subarray(0, Math.floor(whole.length / 2)));
    await expect(inspectArchive(join(dir, "cut.tgz"))).rejects.toThrow(ArchiveError);
  });
});

/** Bytes under dir (files only), or 0 when it does not exist. */
function bytesUnder(dir: string): number {
  let total = 0;
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
    }
  } catch {
    return 0;
  }
  return total;
}

describe("archive limits count what is inflated, not what headers declare", () => {
  it("a zip whose entry declares 10 B but inflates to 20 MiB is refused mid-stream, leaving nothing", async () => {
    const file = join(dir, "liar.zip");
    writeFileSync(file, buildZip([{ name: "small.txt", data: Buffer.alloc(20 * 1024 * 1024), declaredSize: 10 }]));
    expect(statSync(file).size).toBeLessThan(100_000);
    const target = join(dir, "liar-out");
    await expect(extractArchive(file, target, { maxTotalBytes: 1024 * 1024 })).rejects.toThrow(/inflates to more than the 10 bytes it declares/);
    expect(bytesUnder(target)).toBe(0);
  });

  it("many lying entries cannot add up past maxTotalBytes either", async () => {
    const file = join(dir, "liars.zip");
    const entries = Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, data: Buffer.alloc(1024 * 1024), declaredSize: 1 }));
    writeFileSync(file, buildZip(entries));
    const target = join(dir, "liars-out");
    await expect(extractArchive(file, target, { maxTotalBytes: 1024 * 1024 })).rejects.toThrow(ArchiveError);
    expect(bytesUnder(target)).toBe(0);
  });

  it("a zip entry shorter than declared, or with a wrong CRC, is refused", async () => {
    const short = join(dir, "short.zip");
    writeFileSync(short, buildZip([{ name: "a", data: Buffer.from("abc"), declaredSize: 100 }]));
    await expect(extractArchive(short, join(dir, "short-out"))).rejects.toThrow(/inflates to 3 bytes, not the 100/);
    const crc = join(dir, "crc.zip");
    writeFileSync(crc, buildZip([{ name: "a", data: Buffer.from("abc"), declaredCrc: 1234 }]));
    await expect(extractArchive(crc, join(dir, "crc-out"))).rejects.toThrow(/CRC-32/);
  });

  it("a stored zip entry whose two sizes disagree is refused before anything is written", async () => {
    const file = join(dir, "stored.zip");
    writeFileSync(file, buildZip([{ name: "a", data: Buffer.alloc(5000), method: 0, declaredSize: 10 }]));
    await expect(inspectArchive(file)).rejects.toThrow(/stored uncompressed/);
  });

  it("an honest zip still extracts byte for byte", async () => {
    const file = join(dir, "honest.zip");
    writeFileSync(file, buildZip([{ name: "d/a.txt", data: Buffer.from("hello") }, { name: "b.bin", data: Buffer.alloc(70_000, 7), method: 0 }]));
    const target = join(dir, "honest-out");
    await extractArchive(file, target);
    expect(readFileSync(join(target, "d/a.txt"), "utf8")).toBe("hello");
    expect(readFileSync(join(target, "b.bin")).equals(Buffer.alloc(70_000, 7))).toBe(true);
  });

  it("a tar.gz with 50 MB of zeros after its end marker is refused while listing", async () => {
    python(`import tarfile,io,gzip\nb=io.BytesIO()\nt=tarfile.open(fileobj=b,mode='w')\ni=tarfile.TarInfo('a.txt');i.size=2\nt.addfile(i,io.BytesIO(b'hi'))\nt.close()\nopen('${dir}/tail.tgz','wb').write(gzip.compress(b.getvalue()+bytes(50_000_000)))`);
    await expect(inspectArchive(join(dir, "tail.tgz"))).rejects.toThrow(/inflates to more than its entries account for/);
  });

  it("an entry nested 300 directories deep is refused with a message, not ENAMETOOLONG", async () => {
    const file = join(dir, "deep.zip");
    writeFileSync(file, buildZip([{ name: `${"d/".repeat(300)}f`, data: Buffer.from("x") }]));
    await expect(inspectArchive(file)).rejects.toThrow(/nested too deep/);
  });
});
