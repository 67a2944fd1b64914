import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Quarantine } from "../../src/local/store/quarantine.js";
import { checkDraft, checkVersion } from "../../src/local/store/record-checks.js";
import { tempDir } from "../helpers/temp-dirs.js";

const draft = { codeHash: "sha256:" + "a".repeat(64), createdAtMs: 1, updatedAtMs: 2, codeKind: 1, source: "code", sizeBytes: 3, dockerfilePath: "Dockerfile", buildArgs: {}, buildStatus: 0 };

describe("quarantine", () => {
  it("returns a valid record and reads a missing file as absent", async () => {
    const dir = tempDir("quarantine");
    const q = new Quarantine(dir);
    writeFileSync(join(dir, "draft.json"), JSON.stringify(draft));
    expect(await q.read(join(dir, "draft.json"), checkDraft)).toEqual(draft);
    expect(await q.read(join(dir, "missing.json"), checkDraft)).toBeUndefined();
    expect(await q.list()).toEqual([]);
  });

  it("moves a truncated file aside with why, and logs its path", async () => {
    const dir = tempDir("quarantine");
    const lines: string[] = [];
    const q = new Quarantine(dir, (l) => lines.push(l));
    const file = join(dir, "orgs", "a", "draft.json");
    mkdirSync(join(dir, "orgs", "a"), { recursive: true });
    writeFileSync(file, JSON.stringify(draft).slice(0, 30));
    expect(await q.read(file, checkDraft)).toBeUndefined();
    expect(existsSync(file)).toBe(false);
    const [entry] = await q.list();
    expect(entry).toMatchObject({ path: join("orgs", "a", "draft.json"), reason: expect.stringMatching(/^not valid JSON.*truncated/) });
    expect(readFileSync(join(dir, entry!.movedTo), "utf8")).toBe(JSON.stringify(draft).slice(0, 30));
    expect(lines).toEqual([expect.stringContaining(`state file ${file} is unusable (not valid JSON`)]);
  });

  it("names the field that is wrong", async () => {
    const dir = tempDir("quarantine");
    const q = new Quarantine(dir);
    writeFileSync(join(dir, "1.json"), JSON.stringify({ version: 1, codeHash: 7 }));
    expect(await q.read(join(dir, "1.json"), checkVersion)).toBeUndefined();
    writeFileSync(join(dir, "2.json"), JSON.stringify({ ...draft, buildArgs: { A: 1 } }));
    expect(await q.read(join(dir, "2.json"), checkDraft)).toBeUndefined();
    expect((await q.list()).map((e) => e.reason)).toEqual(["field 'createdAtMs' is missing", "field 'buildArgs.A' must be string"]);
  });

  it("never repeats the file's content in the reason (it may be a secret)", async () => {
    const dir = tempDir("quarantine");
    const q = new Quarantine(dir);
    writeFileSync(join(dir, "s.json"), 'x{"token": "s3cret-value"}');
    await q.read(join(dir, "s.json"), checkDraft);
    expect(JSON.stringify(await q.list())).not.toContain("s3cret");
  });

  it("quarantines a file once when several readers find it bad at the same time", async () => {
    const dir = tempDir("quarantine");
    const q = new Quarantine(dir);
    writeFileSync(join(dir, "d.json"), "{");
    const reads = await Promise.all([1, 2, 3].map(() => q.read(join(dir, "d.json"), checkDraft)));
    expect(reads).toEqual([undefined, undefined, undefined]);
    expect(readdirSync(join(dir, "quarantine")).filter((n) => !n.endsWith(".why.json"))).toHaveLength(1);
  });
});
