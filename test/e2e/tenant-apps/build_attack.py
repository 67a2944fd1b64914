"""Org B's build step, acting as an attacker (issue 14): run by a Dockerfile RUN step (podman
driver) or by a Rust build script (build.rs, every driver) with a JSON argument
{"data_dir", "markers", "ports"} (attacker.py beside it). It walks the plane's data dir and run
root, reads every process's environment and command line and its own environment, lists the data
dir through every process's root filesystem (/proc/<pid>/root), scans every loopback port and
connects to the plane's listeners, then prints one line `BUILD-ATTACK <json>` with what it
reached; the test asserts that none of it is org A's."""
import json
import os
import socket
import sys

# the running app's attack, imported: the same walk and port scan
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attacker import open_ports, proc_environ_hits, walk  # noqa: E402


def roots_reaching(data_dir):
    """The pids through whose root filesystem (/proc/<pid>/root) the data dir can be listed."""
    roots = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                os.listdir("/proc/%s/root%s" % (pid, data_dir))
                roots.append(pid)
            except OSError:
                pass
    return roots


def main():
    req = json.loads(sys.argv[1])
    markers, data_dir = req["markers"], req["data_dir"]
    listed, read, hits = walk([data_dir, "/run/dodil-ignite"], markers)
    report = {
        "uid": os.getuid(),
        "data_dir_exists": os.path.exists(data_dir),
        "listed": [p for p in listed if p.startswith(data_dir)],
        "read": [p for p in read if p.startswith(data_dir)],
        "hits": hits,
        "proc_hits": proc_environ_hits(markers, skip={os.getpid()}),
        "env_hits": [k for k, v in os.environ.items() if any(m in v for m in markers)],
        "proc_roots": roots_reaching(data_dir),
        "open": [p for p in sorted(set(open_ports()) | set(req["ports"])) if connects(p)],
    }
    print("BUILD-ATTACK " + json.dumps(report), flush=True)


def connects(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
        return True
    except OSError:
        return False


main()
