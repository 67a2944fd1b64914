import { execFileSync } from "node:child_process";
import { lstatSync } from "node:fs";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { collectFiles } from "../../src/build-context/collect-files.js";
import { BuildContextError } from "../../src/build-context/errors.js";
import { tempDir, writeTree } from "./helpers.js";

const paths = (r: { files: Array<{ path: string }> }) => r.files.map((f) => f.path);

describe("collectFiles: default excludes", () => {
  it("skips .git, node_modules, __pycache__, target and .venv at any depth", async () => {
    const root = await tempDir();
    await writeTree(root, {
      "app.py": "print(1)",
      ".git/config": "x",
      "node_modules/left-pad/index.js": "x",
      "pkg/node_modules/dep.js": "x",
      "pkg/lib/__pycache__/m.cpython-312.pyc": "x",
      "rust/target/debug/bin": "x",
      "deep/er/.venv/bin/python": "x",
      "sub/.git": "gitdir: ../.git/modules/sub", // a submodule's .git file
      "targets/keep.txt": "similar name, not excluded",
    });
    const r = await collectFiles(root);
    expect(paths(r)).toEqual([
      "app.py",
      "deep",
      "deep/er",
      "pkg",
      "pkg/lib",
      "rust",
      "sub",
      "targets",
      "targets/keep.txt",
    ]);
    expect(r.excluded.map((e) => [e.path, e.rule, e.source])).toEqual([
      [".git", ".git", "default"],
      ["deep/er/.venv", ".venv", "default"],
      ["node_modules", "node_modules", "default"],
      ["pkg/lib/__pycache__", "__pycache__", "default"],
      ["pkg/node_modules", "node_modules", "default"],
      ["rust/target", "target", "default"],
      ["sub/.git", ".git", "default"],
    ]);
  });

  it("defaultExcludes: false sends them", async () => {
    const root = await tempDir();
    await writeTree(root, { "a/node_modules/x.js": "x", ".git/HEAD": "ref" });
    const r = await collectFiles(root, { defaultExcludes: false });
    expect(paths(r)).toEqual([".git", ".git/HEAD", "a", "a/node_modules", "a/node_modules/x.js"]);
  });

  it("a ! line in .dockerignore does not re-include a default exclude", async () => {
    const root = await tempDir();
    await writeTree(root, { ".dockerignore": "!node_modules/keep.js\n", "node_modules/keep.js": "x" });
    const r = await collectFiles(root);
    expect(paths(r)).toEqual([".dockerignore"]);
  });
});

describe("collectFiles: .dockerignore", () => {
  it("applies patterns and reports the rule and line that excluded each path", async () => {
    const root = await tempDir();
    await writeTree(root, {
      ".dockerignore": "# build output\ndist\n*.log\n**/*.tmp\n",
      Dockerfile: "FROM scratch",
      "dist/bundle.js": "x",
      "dist/sub/more.js": "x",
      "app.log": "x",
      "src/app.log": "kept: *.log does not cross /",
      "src/a.tmp": "x",
      "src/main.ts": "x",
    });
    const r = await collectFiles(root);
    expect(paths(r)).toEqual([".dockerignore", "Dockerfile", "src", "src/app.log", "src/main.ts"]);
    expect(r.excluded).toEqual([
      { path: "app.log", type: "file", rule: "*.log", source: ".dockerignore:3" },
      // dist is pruned: its children are not listed one by one
      { path: "dist", type: "dir", rule: "dist", source: ".dockerignore:2" },
      { path: "src/a.tmp", type: "file", rule: "**/*.tmp", source: ".dockerignore:4" },
    ]);
    expect(r.ignoreFile).toBe(path.join(r.root, ".dockerignore"));
    expect(r.totalBytes).toBe(r.files.reduce((n, f) => n + f.size, 0));
    expect(r.totalBytes).toBe(35 + 12 + 28 + 1);
  });

  it("! after a directory exclude re-includes a file and sends its parent directories", async () => {
    const root = await tempDir();
    await writeTree(root, {
      ".dockerignore": "docs\n!docs/api/keep.md\n",
      "docs/a.md": "x",
      "docs/api/keep.md": "keep",
      "docs/api/drop.md": "x",
      "docs/img/x.png": "x",
    });
    const r = await collectFiles(root);
    expect(paths(r)).toEqual([".dockerignore", "docs", "docs/api", "docs/api/keep.md"]);
    expect(r.files.find((f) => f.path === "docs")).toMatchObject({ type: "dir", mode: 0o755 });
    expect(r.excluded.map((e) => e.path)).toEqual(["docs/a.md", "docs/api/drop.md", "docs/img"]);
  });

  it("a wildcard ! pattern forces a descent into excluded directories", async () => {
    const root = await tempDir();
    await writeTree(root, {
      ".dockerignore": "*\n!**/*.go\n",
      "a/b/main.go": "package main",
      "a/b/readme": "x",
      "c/x.txt": "x",
    });
    const r = await collectFiles(root);
    expect(paths(r)).toEqual([".dockerignore", "a", "a/b", "a/b/main.go"]);
    expect(r.excluded.map((e) => e.path)).toEqual(["a/b/readme", "c/x.txt", "c"]);
  });

  it("always sends the Dockerfile and the ignore file, even when a pattern matches them", async () => {
    const root = await tempDir();
    await writeTree(root, { ".dockerignore": "*\n", Dockerfile: "FROM scratch", "other.txt": "x" });
    const r = await collectFiles(root);
    expect(paths(r)).toEqual([".dockerignore", "Dockerfile"]);
    expect(r.dockerfile).toBe("Dockerfile");
  });

  it("always sends a Dockerfile that sits in an excluded (or default-excluded) directory, and nothing else there", async () => {
    const root = await tempDir();
    await writeTree(root, {
      ".dockerignore": "build\n",
      "build/Dockerfile": "FROM scratch",
      "build/junk.o": "x",
      "target/ci/Dockerfile": "FROM scratch",
      "target/ci/big.bin": "x",
    });
    const r = await collectFiles(root, { dockerfilePath: "build/Dockerfile" });
    expect(paths(r)).toEqual([".dockerignore", "build", "build/Dockerfile"]);
    const r2 = await collectFiles(root, { dockerfilePath: "target/ci/Dockerfile" });
    expect(paths(r2)).toEqual([".dockerignore", "target", "target/ci", "target/ci/Dockerfile"]);
  });

  it("<Dockerfile>.dockerignore next to the Dockerfile takes precedence over the root .dockerignore", async () => {
    const root = await tempDir();
    await writeTree(root, {
      ".dockerignore": "a.txt\n",
      "docker/app.Dockerfile": "FROM scratch",
      "docker/app.Dockerfile.dockerignore": "b.txt\n*.dockerignore\n",
      "a.txt": "a",
      "b.txt": "b",
    });
    const r = await collectFiles(root, { dockerfilePath: "docker/app.Dockerfile" });
    expect(r.ignoreFile).toBe(path.join(r.root, "docker/app.Dockerfile.dockerignore"));
    expect(paths(r)).toEqual([
      ".dockerignore",
      "a.txt",
      "docker",
      "docker/app.Dockerfile",
      "docker/app.Dockerfile.dockerignore",
    ]);
    expect(r.excluded).toEqual([
      { path: "b.txt", type: "file", rule: "b.txt", source: "docker/app.Dockerfile.dockerignore:1" },
    ]);
    // Without that Dockerfile, the root file applies.
    const plain = await collectFiles(root);
    expect(paths(plain)).not.toContain("a.txt");
    expect(paths(plain)).toContain("b.txt");
  });

  it("rejects an invalid ignore file with its file and line", async () => {
    const root = await tempDir();
    await writeTree(root, { ".dockerignore": "ok\n[\n" });
    await expect(collectFiles(root)).rejects.toMatchObject({
      name: "BuildContextError",
      code: "INVALID_IGNORE_FILE",
      message: expect.stringContaining(".dockerignore:2"),
    });
  });

  it("walks in a deterministic, byte-sorted order whatever the creation order", async () => {
    const names = ["b", "a", "B", "a-b", "a.b", "Z", "é", "a_b"];
    const r1 = await tempDir();
    const r2 = await tempDir();
    for (const n of names) await writeFile(path.join(r1, n), n);
    for (const n of [...names].reverse()) await writeFile(path.join(r2, n), n);
    const p1 = paths(await collectFiles(r1));
    expect(p1).toEqual(paths(await collectFiles(r2)));
    expect(p1).toEqual(["B", "Z", "a", "a-b", "a.b", "a_b", "b", "é"]);
  });

  it("normalises modes: dirs 0755, files 0755 with any exec bit else 0644", async () => {
    const root = await tempDir();
    await writeTree(root, { "x.sh": "#!/bin/sh", "data.txt": "d", "d/": "" });
    execFileSync("chmod", ["0710", path.join(root, "x.sh")]);
    execFileSync("chmod", ["0600", path.join(root, "data.txt")]);
    execFileSync("chmod", ["0700", path.join(root, "d")]);
    const r = await collectFiles(root);
    expect(r.files.map((f) => [f.path, f.mode.toString(8)])).toEqual([
      ["d", "755"],
      ["data.txt", "644"],
      ["x.sh", "755"],
    ]);
  });
});

describe("collectFiles: symlinks and special files", () => {
  it("keeps a link that points inside the context as a link; rewrites an absolute one to relative", async () => {
    const root = await tempDir();
    await writeTree(root, { "src/a.txt": "a", "cfg/": "" });
    await symlink("../src/a.txt", path.join(root, "cfg/a.txt"));
    await symlink(path.join(root, "src"), path.join(root, "srclink"));
    await symlink(".", path.join(root, "cfg/self")); // a link to a dir is not followed, so no loop
    const r = await collectFiles(root);
    expect(r.files.filter((f) => f.type === "symlink")).toMatchObject([
      { path: "cfg/a.txt", type: "symlink", size: 0, mode: 0o777, linkTarget: "../src/a.txt" },
      { path: "cfg/self", type: "symlink", size: 0, mode: 0o777, linkTarget: "." },
      { path: "srclink", type: "symlink", size: 0, mode: 0o777, linkTarget: "src" },
    ]);
    expect(r.warnings).toEqual([]);
  });

  it("rejects a link escaping the context, naming the link and its target", async () => {
    const root = await tempDir();
    await writeTree(root, { "ok.txt": "x", "sub/": "" });
    await symlink("../../etc/passwd", path.join(root, "sub/pw"));
    const err = await collectFiles(root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildContextError);
    expect(err).toMatchObject({ code: "SYMLINK_ESCAPE", path: "sub/pw" });
    expect((err as Error).message).toContain("sub/pw");
    expect((err as Error).message).toContain("../../etc/passwd");

    const root2 = await tempDir();
    await symlink("/etc/hostname", path.join(root2, "abs"));
    await expect(collectFiles(root2)).rejects.toMatchObject({ code: "SYMLINK_ESCAPE", path: "abs" });
  });

  it("rejects a link that escapes through another (ignored) link", async () => {
    const root = await tempDir();
    const outside = await tempDir();
    await writeTree(outside, { "secret.txt": "s" });
    await writeTree(root, { ".dockerignore": "hop\n" });
    await symlink(outside, path.join(root, "hop"));
    await symlink("hop/secret.txt", path.join(root, "innocent"));
    await expect(collectFiles(root)).rejects.toMatchObject({ code: "SYMLINK_ESCAPE", path: "innocent" });
  });

  it("does not check links that .dockerignore excludes", async () => {
    const root = await tempDir();
    await writeTree(root, { ".dockerignore": "out\n", "a.txt": "a" });
    await symlink("/etc/hostname", path.join(root, "out"));
    const r = await collectFiles(root);
    expect(paths(r)).toEqual([".dockerignore", "a.txt"]);
  });

  it("skips a dangling link with a warning", async () => {
    const root = await tempDir();
    await writeTree(root, { "a.txt": "a" });
    await symlink("missing/file", path.join(root, "dangling"));
    const r = await collectFiles(root);
    expect(paths(r)).toEqual(["a.txt"]);
    expect(r.warnings).toEqual(["skipped dangling symlink dangling -> missing/file"]);
  });

  it("rejects a link loop", async () => {
    const root = await tempDir();
    await symlink("b", path.join(root, "a"));
    await symlink("a", path.join(root, "b"));
    await expect(collectFiles(root)).rejects.toMatchObject({ code: "SYMLINK_LOOP", path: "a" });
  });

  it("skips FIFOs and sockets with a warning", async () => {
    const root = await tempDir();
    await writeTree(root, { "a.txt": "a" });
    execFileSync("mkfifo", [path.join(root, "pipe")]);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(root, "sock"), resolve));
    try {
      const r = await collectFiles(root);
      expect(paths(r)).toEqual(["a.txt"]);
      expect(r.warnings).toEqual([
        "skipped FIFO pipe: only files, directories and symlinks are sent",
        "skipped socket sock: only files, directories and symlinks are sent",
      ]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("resolves a symlinked context root", async () => {
    const real = await tempDir();
    const holder = await tempDir();
    await writeTree(real, { "a.txt": "a" });
    await symlink(real, path.join(holder, "ctx"));
    const r = await collectFiles(path.join(holder, "ctx"));
    expect(paths(r)).toEqual(["a.txt"]);
  });

  it("fails clearly when the context is not a directory", async () => {
    const root = await tempDir();
    await writeTree(root, { "f.txt": "x" });
    await expect(collectFiles(path.join(root, "f.txt"))).rejects.toMatchObject({ code: "CONTEXT_NOT_DIRECTORY" });
    await expect(collectFiles(path.join(root, "nope"))).rejects.toMatchObject({ code: "CONTEXT_NOT_DIRECTORY" });
  });

  it("an empty directory is sent as a directory entry", async () => {
    const root = await tempDir();
    await mkdir(path.join(root, "empty"));
    const st = lstatSync(path.join(root, "empty"));
    // What lstat said during the walk: the context cache's signature is made of it.
    expect((await collectFiles(root)).files).toEqual([{ path: "empty", type: "dir", size: 0, mode: 0o755, changed: { mtimeMs: st.mtimeMs, ino: st.ino } }]);
  });
});
