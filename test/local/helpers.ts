import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as tar from "tar";
import { create } from "@bufbuild/protobuf";
import { GetAppLogsRequestSchema, type AppLogLine } from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import type { ComputeClient } from "../helpers/control-plane.js";
import { removeDir as cleanup, tempDir } from "../helpers/temp-dirs.js";

export { cleanup, tempDir };

/**
 * Resolves once the app's log has a line `matches`, already written or new: StreamAppLogs replays
 * the backlog after it subscribed to new lines, so nothing falls between the two.
 */
export async function untilLogLine(c: ComputeClient, app: string, matches: (line: AppLogLine) => boolean): Promise<void> {
  const call = c.open.streamAppLogs(create(GetAppLogsRequestSchema, { appName: app }));
  try {
    await new Promise<void>((resolve, reject) => {
      call.on("data", (line: AppLogLine) => matches(line) && resolve());
      call.on("error", reject);
      call.on("end", () => reject(new Error(`the log stream of ${app} ended before the line came`)));
    });
  } finally {
    call.on("error", () => undefined);
    call.cancel();
  }
}

/** Writes files into a new directory and packs it as tar.gz; returns the archive bytes. */
export async function makeTarGz(files: Record<string, string>): Promise<Buffer> {
  const dir = tempDir("ctx");
  try {
    for (const [name, content] of Object.entries(files)) {
      const p = path.join(dir, "src", name);
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, content);
    }
    const out = path.join(dir, "ctx.tar.gz");
    await tar.c({ gzip: true, file: out, cwd: path.join(dir, "src"), portable: true }, Object.keys(files));
    const { readFileSync } = await import("node:fs");
    return readFileSync(out);
  } finally {
    cleanup(dir);
  }
}

export const SERVER_PY = `
import json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

VERSION = os.environ.get("APP_VERSION_TAG", "v1")

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def _send(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.path == "/health":
            return self._send(200, {"ok": True})
        self._send(404, {"error": "not found", "path": self.path})
    def do_POST(self):
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n) if n else b""
        body = json.loads(raw) if raw else {}
        self._send(200, {
            "greeting": "Hello, %s!" % body.get("name", "world"),
            "tag": TAG,
            "path": self.path,
            "execution_id": self.headers.get("x-ignite-execution-id", ""),
            "function_id": self.headers.get("x-ignite-function-id", ""),
            "organization_id": self.headers.get("x-ignite-organization-id", ""),
            "spoofed": self.headers.get("x-ignite-spoof", ""),
            "custom": self.headers.get("x-custom", ""),
            "greeting_env": os.environ.get("GREETING", ""),
            "home": os.environ.get("HOME", ""),
        })

TAG = "__TAG__"
HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8080"))), H).serve_forever()
`;

export const DOCKERFILE = `# the seed's shape, with a stdlib server
FROM python:3.12-slim
ARG APP_ENV=dev
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir \\
    -r requirements.txt
COPY server.py .
ENV APP_ENV=$APP_ENV GREETING="hi there"
# K8s sets PORT; we read it at runtime.
EXPOSE 8080
USER 65534
CMD ["python", "server.py"]
`;

export function greeterContext(tag: string): Promise<Buffer> {
  return makeTarGz({
    Dockerfile: DOCKERFILE,
    "requirements.txt": "# stdlib only\n",
    "server.py": SERVER_PY.replace("__TAG__", tag),
  });
}
