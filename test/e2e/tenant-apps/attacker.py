"""Org B's app, acting as an attacker (issue 14): POST /attack with
{"data_dir", "markers", "gateway_port", "victim_host", "ports"} walks the plane's data dir and run
root, reads other processes' environments and command lines, scans every loopback port and calls what answers with
spoofed x-ignite-* headers, then calls org A's app through the gateway without a token. It answers
with what it reached; the test asserts that none of it is org A's."""
import json
import os
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer



def walk(roots, markers):
    listed, read, hits = [], [], []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: None):
            listed.append(dirpath)
            for name in filenames:
                path = os.path.join(dirpath, name)
                try:
                    with open(path, "rb") as f:
                        data = f.read(1 << 20)
                except OSError:
                    continue
                read.append(path)
                if any(m.encode() in data for m in markers):
                    hits.append(path)
    return listed, read, hits


def direct_reads(data_dir):
    out = {}
    for rel in ("auth/jwt-hs256.key", "tokens.json", "orgs"):
        path = os.path.join(data_dir, rel)
        try:
            if os.path.isdir(path):
                out[rel] = "listed: " + ",".join(os.listdir(path))
            else:
                with open(path, "rb") as f:
                    out[rel] = "read %d bytes" % len(f.read())
        except OSError as e:
            out[rel] = "refused: %s" % e.strerror
    return out


def proc_environ_hits(markers, skip=()):
    """Processes (but `skip`) whose environment or command line (what `ps` shows every user) holds a marker."""
    hits = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) in skip:
            continue
        for name in ("environ", "cmdline"):
            try:
                with open("/proc/%s/%s" % (pid, name), "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if any(m.encode() in data for m in markers) and int(pid) not in hits:
                hits.append(int(pid))
    return hits


def listening_ports():
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[3] == "0A":  # LISTEN
                        ports.add(int(parts[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return sorted(ports)


def http_call(port, host, headers=None, timeout=3.0):
    """One HTTP/1.0 request; the first 4 kB of the answer ("" when nothing answered)."""
    request = "POST / HTTP/1.0\r\nHost: %s\r\nContent-Length: 2\r\n" % host
    for k, v in (headers or {}).items():
        request += "%s: %s\r\n" % (k, v)
    request += "\r\n{}"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(request.encode())
            data = b""
            while len(data) < 4096:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.decode("latin-1")
    except OSError:
        return ""


def open_ports():
    found = []
    for port in range(1, 65536):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(0.2)
        try:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                found.append(port)
        finally:
            s.close()
    return found


def attack(req):
    markers = req["markers"]
    roots = [r for r in (req["data_dir"], "/run/dodil-ignite") if r]
    listed, read, hits = walk(roots, markers)
    spoof = {"x-ignite-organization-id": "acme-corp", "x-ignite-function-id": "acme-corp/victim"}
    reached = {}
    for port in sorted(set(open_ports()) | set(req.get("ports", []))):
        if port == int(os.environ["PORT"]):
            continue
        answer = http_call(port, req["victim_host"], spoof, timeout=1.0)
        if answer:
            reached[str(port)] = answer[:300]
    gateway = http_call(req["gateway_port"], req["victim_host"], spoof) if req.get("gateway_port") else ""
    return {
        "uid": os.getuid(),
        "listed": [p for p in listed if p.startswith(req["data_dir"])],
        "read": [p for p in read if p.startswith(req["data_dir"])],
        "hits": hits,
        "direct": direct_reads(req["data_dir"]),
        "environ_hits": proc_environ_hits(markers),
        "listening": listening_ports(),
        "reached": reached,
        "marker_over_network": [p for p, a in reached.items() if any(m in a for m in markers)],
        "gateway": gateway.split("\r\n", 1)[0],
        "gateway_leak": any(m in gateway for m in markers),
    }


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self._send({"ok": True})

    def do_POST(self):
        n = int(self.headers.get("content-length") or 0)
        req = json.loads(self.rfile.read(n) or b"{}")
        self._send(attack(req) if "markers" in req else {"ok": True})

    def _send(self, obj):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
