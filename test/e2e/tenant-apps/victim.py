"""Org A's app: answers every request with a marker only org A should ever see."""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MARKER = os.environ.get("VICTIM_MARKER", "")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self):
        body = json.dumps({"marker": MARKER, "org_header": self.headers.get("x-ignite-organization-id", "")}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
