/**
 * The tier's memory and CPU limits are applied to containers (podman), and an app the kernel kills
 * for going over its memory shows as OOMKilled in `app state` and `app logs`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/run-cli.js";
import { removeDir, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { tempDir } from "../helpers/temp-dirs.js";
import { imageCache, inCI, podmanMissing, pythonImagePresent } from "./container-helpers.js";

// Allocates `mb` MiB on request and keeps it, so the kernel must kill it when that is over the limit.
const SERVER_PY = `import http.server, json, os
held = []
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.reply({"ok": True})
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        held.append(bytearray(int(body.get("mb", 1)) * 1024 * 1024))
        self.reply({"held_mb": sum(len(b) for b in held) // (1024 * 1024)})
    def reply(self, obj):
        data = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()
`;

const skip = podmanMissing || (pythonImagePresent() ? "" : "the python base image is not in the image cache (dodil ignite dev setup)");

describe.skipIf(!!skip && !inCI)(`tier limits on podman${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let cp: TestControlPlane;
  let work: string;
  const cli = (argv: string[]) => runCli(["ignite", ...argv], { env: cp.env, cwd: work });

  beforeAll(async () => {
    cp = await startTestControlPlane({ label: "limits", driver: "podman", imageCacheDir: imageCache });
    work = tempDir("limits-work");
    mkdirSync(join(work, "hog"));
    writeFileSync(join(work, "hog", "server.py"), SERVER_PY);
    writeFileSync(join(work, "hog", "Dockerfile"), 'FROM python:3.12-slim\nCOPY server.py /app/server.py\nUSER 65534\nCMD ["python3", "/app/server.py"]\n');
  }, 60_000);

  afterAll(async () => {
    await cp?.stop();
    if (cp) removeDir(cp.dataDir);
    if (work) removeDir(work);
  });

  it("runs the container with the tier's memory and CPU, and an app over its memory shows as OOMKilled", async () => {
    const deploy = await cli(["app", "deploy", "acme-corp:hog", "--code", "./hog", "--dockerfile-path", "Dockerfile", "--tier", "small", "--health-path", "/"]);
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    // 16 MiB fits; 600 MiB can only fail if the 256 MB limit is applied
    expect((await cli(["invoke", "acme-corp:hog", "-p", '{"mb": 16}'])).exitCode).toBe(0);
    const over = await cli(["invoke", "acme-corp:hog", "-p", '{"mb": 600}']);
    expect(over.exitCode).not.toBe(0);
    // the plane learns of the kill when it sees the container exit, which may come after the failed call
    let state = await cli(["app", "state", "acme-corp:hog", "-o", "json"]);
    for (let i = 0; i < 60 && !/OOMKilled/.test(state.stdout); i++) {
      await new Promise((r) => setTimeout(r, 500));
      state = await cli(["app", "state", "acme-corp:hog", "-o", "json"]);
    }
    expect(state.stdout).toMatch(/OOMKilled: it went over its memory limit of 256 MB/);
    const logs = await cli(["app", "logs", "acme-corp:hog"]);
    expect(logs.stdout).toMatch(/ignite: version 1 of acme-corp\/hog was OOMKilled/);
  }, 180_000);
});
