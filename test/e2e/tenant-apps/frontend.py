"""A frontend app that calls other apps by their public URLs, as the vendor's web samples do.

POST {"calls": [{"url": ..., "token": ...}]} answers, per call, the HTTP status, the body and the
x-ignite-* answer headers it got (or the error, status 0): a call without "token" sends no
Authorization header.
"""
import json
import os
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def call(c):
    headers = {"authorization": "Bearer " + c["token"]} if c.get("token") else {}
    req = urllib.request.Request(c["url"], headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return {"status": r.status, "body": r.read().decode(), "headers": {k.lower(): v for k, v in r.headers.items() if k.lower().startswith("x-ignite-")}}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": e.read().decode(), "headers": {}}
    except Exception as e:  # noqa: BLE001 - the test wants to see what failed
        return {"status": 0, "error": repr(e), "headers": {}}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._answer(200, {"status": "ok"})

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        req = json.loads(self.rfile.read(length) or b"{}")
        self._answer(200, {"results": [call(c) for c in req.get("calls", [])]})


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
