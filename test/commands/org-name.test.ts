// The documented global --org-name is an alias of --org: it names the organization of a bare app name.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkspace, type Workspace } from "../helpers/workspace.js";

let workspace: Workspace;

describe("--org-name", () => {
  beforeAll(async () => {
    workspace = await startWorkspace("org-name");
  }, 60_000);
  afterAll(async () => {
    await workspace?.close();
  });

  it("names the organization of a bare app name, before or after the subcommand", async () => {
    expect((await workspace.cli(["app", "create", "acme-corp:named"])).exitCode).toBe(0);
    const after = await workspace.cli(["app", "get", "named", "--org-name", "acme-corp", "-o", "json"]);
    expect(after.exitCode, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout).id).toBe("acme-corp/named");
    const before = await workspace.cli(["--org-name", "other-org", "app", "get", "named"]);
    expect(before.exitCode).not.toBe(0);
    expect(before.stderr).toMatch(/other-org/);
  });
});
