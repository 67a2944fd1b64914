import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkspace, withoutTraces, type Workspace } from "../helpers/workspace.js";

// `invoke -X/--method, --path, -H/--header, --content-type`: the HTTP request the app receives,
// checked with an app that answers with what it got.
const ECHO_PY = `import json, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Echo(BaseHTTPRequestHandler):
    def echo(self):
        n = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        out = json.dumps({"method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = echo
    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8080"))), Echo).serve_forever()
`;

let workspace: Workspace;
const cli: Workspace["cli"] = (argv, env, extra) => workspace.cli(argv, env, extra);

beforeAll(async () => {
  workspace = await startWorkspace("invoke-http");
  mkdirSync(join(workspace.work, "echo"));
  writeFileSync(join(workspace.work, "echo", "echo.py"), ECHO_PY);
  writeFileSync(join(workspace.work, "echo", "Dockerfile"), 'FROM python:3.12-slim\nCOPY echo.py /app/echo.py\nUSER 1000\nCMD ["python3", "/app/echo.py"]\n');
  const deploy = await cli(["app", "deploy", "acme-corp:echo", "--code", "./echo", "--dockerfile-path", "Dockerfile"]);
  if (deploy.exitCode !== 0) throw new Error(deploy.stderr);
}, 120_000);

afterAll(async () => {
  await workspace?.close();
});

const received = async (argv: string[]) => {
  const result = await cli(["invoke", "acme-corp:echo", ...argv, "-o", "json"]);
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout).body as { method: string; path: string; headers: Record<string, string>; body: string };
};

describe("invoke's HTTP request flags", () => {
  it("sends a JSON POST to / by default", async () => {
    const got = await received(["-p", '{"a": 1}']);
    expect(got).toMatchObject({ method: "POST", path: "/", body: '{"a": 1}' });
    expect(got.headers["content-type"]).toBe("application/json");
  });

  it("sends the method, path with query, headers and content type asked for", async () => {
    const got = await received(["-X", "get", "--path", "/items/7?limit=5&q=a", "-H", "Accept: text/csv", "-H", "x-trace:  abc ", "--content-type", "text/plain"]);
    expect(got).toMatchObject({ method: "GET", path: "/items/7?limit=5&q=a", body: "" });
    expect(got.headers).toMatchObject({ accept: "text/csv", "x-trace": "abc", "content-type": "text/plain" });
  });

  it("uses them for --async too", async () => {
    const id = (await cli(["invoke", "acme-corp:echo", "--async", "-X", "PUT", "--path", "/jobs", "-p", "{}"])).stdout.trim();
    const watch = await cli(["execution", "watch", id, "-o", "json"]);
    const final = JSON.parse(watch.stdout.trim().split("\n").at(-1) as string);
    expect(final.result).toMatchObject({ method: "PUT", path: "/jobs" });
  });

  it.each<[string, string[], RegExp]>([
    ["a method that is not one", ["-X", "GET /"], /invalid value "GET \/" for --method/],
    ["a path without its leading /", ["--path", "items"], /invalid value "items" for --path/],
    ["a header without a colon", ["-H", "Accept text/csv"], /invalid value "Accept text\/csv" for --header: use "Name: value"/],
    ["an x-ignite-* header", ["-H", "x-ignite-execution-id: 1"], /x-ignite-\* headers are set by the platform/],
  ])("refuses %s (exit 2, nothing sent)", async (_name, argv, message) => {
    const result = await cli(["invoke", "acme-corp:echo", ...argv]);
    expect(result.exitCode).toBe(2);
    expect(withoutTraces(result.stderr)[0]).toMatch(message);
    expect(result.stdout).toBe("");
  });
});
