"""The seed recipe's greeter, on the Python standard library only.

Same contract as the FastAPI version in examples/greeter-fastapi: listen on $PORT, answer
GET /health (and /healthz, the platform's default health path) and POST /, and echo the x-ignite-* correlation headers the platform injects.
"""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GREETING = "Hello"


class Handler(BaseHTTPRequestHandler):
    server_version = "greeter/1"

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.split("?")[0] in ("/health", "/healthz"):
            self._reply(200, {"ok": True})
        else:
            self._reply(404, {"detail": "Not Found"})

    def do_POST(self):
        if self.path.split("?")[0] != "/":
            self._reply(404, {"detail": "Not Found"})
            return
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            self._reply(422, {"detail": "body is not valid JSON"})
            return
        name = body.get("name", "world") if isinstance(body, dict) else "world"
        self._reply(200, {
            "greeting": f"{GREETING}, {name}!",
            "execution_id": self.headers.get("x-ignite-execution-id") or "",
            "function_id": self.headers.get("x-ignite-function-id") or "",
            "organization_id": self.headers.get("x-ignite-organization-id") or "",
        })

    def log_message(self, format, *args):
        # One line per request on stderr, like uvicorn's access log.
        print(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else ''}", flush=True)


class Server(ThreadingHTTPServer):
    # The default listen backlog (5) drops connections under a burst of concurrent calls.
    request_queue_size = 1024
    daemon_threads = True


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8080"))
    Server(("0.0.0.0", port), Handler).serve_forever()
