import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ArchiveError, extractArchive, inspectArchive } from "../../src/wire/archive.js";

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
