#!/usr/bin/env python3
"""Minimal Neutron stand-in for the nova servers/detail benchmark (stdlib only).

GET /v2.0/servers/detail in real nova-api ends with
nova.network.security_group_api.get_instances_security_groups_bindings(),
which asks Neutron for the ports of every listed server (chunks of 150
device_ids: GET /v2.0/ports?fields=security_groups&fields=device_id&device_id=..)
and then for those ports' security groups (GET /v2.0/security-groups?id=..
&fields=id&fields=name).  A real neutron-server is out of scope here (it does
not run on SQLite), so this stub answers exactly those two queries the way
Neutron would for servers that each have one port in security group
"default" -- and nothing else (404).  It answers from precomputed fragments,
so it costs far less than real Neutron would: the nova figure measured with it
is an upper bound for nova + real Neutron.

Usage: neutron_stub.py --port PORT [--host 127.0.0.1]
Prints "ready" on stdout once listening; GET /stats returns request counters.
"""

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SG_ID = "00000000-0000-4000-a000-00000000d3fa"
SG = {"id": SG_ID, "name": "default"}
STATS = {"ports": 0, "security-groups": 0, "other": 0}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like neutron-server behind a WSGI server
    server_version = "neutron-stub"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _send(self, status, obj):
        body = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        u = urlsplit(self.path)
        q = parse_qs(u.query)
        path = u.path.rstrip("/")
        if path.endswith("/v2.0/ports"):
            with LOCK:
                STATS["ports"] += 1
            ids = q.get("device_id", [])
            body = ('{"ports": [' + ",".join(
                '{"security_groups": ["%s"], "device_id": "%s"}' % (SG_ID, d) for d in ids) + "]}").encode()
            return self._send(200, body)
        if path.endswith("/v2.0/security-groups"):
            with LOCK:
                STATS["security-groups"] += 1
            want = q.get("id")
            groups = [SG] if (not want or SG_ID in want) else []
            return self._send(200, {"security_groups": groups})
        if path == "/stats":
            with LOCK:
                return self._send(200, dict(STATS))
        with LOCK:
            STATS["other"] += 1
        return self._send(404, {"NeutronError": {"type": "HTTPNotFound", "message": "stub: " + u.path,
                                                  "detail": ""}})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128
    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    print("ready", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
