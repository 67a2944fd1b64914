import { cpSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkspace, withoutTraces, type Workspace } from "../helpers/workspace.js";

let workspace: Workspace;
const cli = (argv: string[]) => workspace.cli(argv);

beforeAll(async () => {
  workspace = await startWorkspace("cli-edges");
  cpSync(join(import.meta.dirname, "..", "fixtures", "crashing-app"), join(workspace.work, "crashing"), { recursive: true });
  for (const argv of [
    ["app", "deploy", "acme-corp:greeter", "--code", "app", "--dockerfile-path", "Dockerfile"],
    ["app", "deploy", "acme-corp:crashing", "--code", "crashing", "--dockerfile-path", "Dockerfile"],
  ]) {
    const result = await cli(argv);
    if (result.exitCode !== 0) throw new Error(result.stderr);
  }
});

afterAll(async () => {
  await workspace?.close();
});

/** A user-facing failure: one Error line (no stack frames, no bundle source), and no `stack` under -o json. */
function expectOneLine(stderr: string): void {
  const lines = withoutTraces(stderr).filter((l) => !l.startsWith("hint:"));
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toContain('"stack"');
}

describe("durations", () => {
  it("a timeout over the bound is a usage error naming the limit", async () => {
    const result = await cli(["app", "list", "--timeout", "999999999h"]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('invalid duration "999999999h" for --timeout: the limit is 168h');
    expectOneLine(result.stderr);
  });

  it("1ns is a deadline (exit 8), not 'no deadline'", async () => {
    const result = await cli(["app", "list", "--timeout", "1ns"]);
    expect(result.exitCode, result.stderr).toBe(8);
    expect(result.stderr).toMatch(/did not finish within 1ms/);
  });

  it("--timeout 0 means no deadline, as its help says", async () => {
    const result = await cli(["app", "list", "--timeout", "0"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const help = await cli(["app", "list", "--help"]);
    expect(help.stdout).toMatch(/0 = no\s+deadline/);
  });
});

describe("environmental errors are one line, never a stack trace", () => {
  it("a file the system refuses to create (-o json has no stack field)", async () => {
    const result = await cli(["version", "code", "acme-corp:greeter", "--output-file", "/proc/version", "--force", "-o", "json"]);
    expect(result.exitCode).toBe(1);
    expectOneLine(result.stderr);
    expect(JSON.parse(withoutTraces(result.stderr)[0]!)).toMatchObject({ code: "FAILURE", message: expect.stringMatching(/^cannot open \/proc\/.*: no such file or directory \(ENOENT\)$/) });
  });

  const procCwdUnreadable = (() => {
    try {
      readlinkSync("/proc/1/cwd");
      return false;
    } catch {
      return true;
    }
  })();
  it.runIf(procCwdUnreadable)("draft save --code /proc (EACCES while packing)", async () => {
    for (const extra of [[], ["-o", "json"]]) {
      const result = await cli(["draft", "save", "acme-corp:greeter", "--code", "/proc", "--runtime", "python", ...extra]);
      expect([1, 2]).toContain(result.exitCode);
      expect(result.stderr).toMatch(/cannot readlink \/proc\/\S+: permission denied \(EACCES\)/);
      expectOneLine(result.stderr);
    }
  });
});

describe("an app that fails mid-call is reported as the app's failure", () => {
  it("exits after sending part of its answer: exit 1, naming the app and the execution", async () => {
    const result = await cli(["invoke", "acme-corp:crashing"]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe("partial");
    expect(result.stderr).toMatch(/acme-corp:crashing failed during its answer \(HTTP 200, execution \w{26}\): the app's answer was cut off/);
    expect(result.stderr).not.toMatch(/cannot reach|check --api-endpoint/);
  });

  it("exits before answering: the plane's words, not 'cannot reach the Ignite API'", async () => {
    const result = await cli(["invoke", "acme-corp:crashing", "--path", "/before"]);
    expect(result.exitCode).toBe(9);
    expect(result.stderr).toMatch(/app acme-corp\/crashing \(version 1\) did not answer on its port/);
    expect(result.stderr).not.toMatch(/cannot reach|check --api-endpoint/);
    expectOneLine(result.stderr);
  });
});

describe("invoke -H", () => {
  it.each([["x-a: bad\u0001value"], ["x-a: line\r\nx-b: injected"], ["x-a: \u2603"]])("refuses %j before any call (exit 2)", async (header) => {
    const result = await cli(["invoke", "acme-corp:greeter", "-H", header]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("invalid value for --header x-a: a header value may hold only visible characters");
    expectOneLine(result.stderr);
  });

  it("still sends a header with tabs, spaces and Latin-1", async () => {
    const result = await cli(["invoke", "acme-corp:greeter", "-H", "x-a: a\tb c \u00e9"]);
    expect(result.exitCode, result.stderr).toBe(0);
  });
});
