import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkspace, type Workspace } from "../helpers/workspace.js";

let workspace: Workspace;
let work: string;
const cli = (argv: string[]) => workspace.cli(argv);

beforeAll(async () => {
  workspace = await startWorkspace("hostile");
  ({ work } = workspace);
  for (const argv of [["app", "create", "acme-corp:greeter"], ["draft", "save", "acme-corp:greeter", "--code", "app", "--dockerfile-path", "Dockerfile"], ["draft", "publish", "acme-corp:greeter"]]) {
    const result = await cli(argv);
    if (result.exitCode !== 0) throw new Error(result.stderr);
  }
});

afterAll(async () => {
  await workspace?.close();
});

describe("hostile payloads", () => {
  it("sends binary, invalid UTF-8 bytes unchanged and reports the app's 4xx as data", async () => {
    writeFileSync(join(work, "binary.bin"), Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80]));
    const result = await cli(["invoke", "acme-corp:greeter", "--payload-file", "binary.bin", "-o", "json"]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status_code: 422, body: { detail: "body is not valid JSON" } });
  });

  it("carries an 8 MB payload", async () => {
    writeFileSync(join(work, "big.json"), JSON.stringify({ name: "x".repeat(8_000_000) }));
    const result = await cli(["invoke", "acme-corp:greeter", "--payload-file", "big.json", "-o", "json"]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).body.greeting).toHaveLength("Hello, !".length + 8_000_000);
  });

  it("refuses a payload over the message limit with exit 7, not a crash", async () => {
    writeFileSync(join(work, "huge.bin"), Buffer.alloc(70 * 1024 * 1024, 0x61));
    const result = await cli(["invoke", "acme-corp:greeter", "--payload-file", "huge.bin"]);
    expect(result.exitCode).toBe(7);
    expect(result.stderr.split("\n").filter((l) => l.startsWith("Error:"))).toHaveLength(1);
  });
});

describe("names at and beyond their limits", () => {
  it.each([
    [["app", "create", `acme-corp:${"a".repeat(63)}`], 0],
    [["app", "create", `acme-corp:${"a".repeat(64)}`], 2],
    [["app", "create", "acme-corp:a;rm -rf /"], 2],
    [["app", "create", "acme-corp:$(id)"], 2],
    [["app", "create", "../etc:passwd"], 2],
    [["app", "create", "acme-corp:ok-env", "--env", "A B=1"], 2],
    [["app", "create", "acme-corp:ok-env2", "--env", `K=${"v".repeat(10_000)}`], 0],
  ])("%j exits %i", async (argv, code) => {
    const result = await cli(argv);
    expect(result.exitCode, result.stderr).toBe(code);
    if (code !== 0) expect(result.stderr).toMatch(/^Error: /m);
  });
});
