#!/usr/bin/env python3
"""Latency of server list requests against one running hybridstack; prints a JSON summary."""

import http.client
import json
import statistics
import sys
import time
import urllib.parse


def main():
    base, rows, n, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    u = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    for _ in range(600):
        try:
            conn.request("GET", "/identity/v3")
            conn.getresponse().read()
            break
        except OSError:
            time.sleep(0.1)
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": "bench"}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    conn.request("POST", "/identity/v3/auth/tokens", json.dumps(auth), {"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    token = r.getheader("X-Subject-Token")
    h = {"X-Auth-Token": token}

    def get(path):
        conn.request("GET", path, headers=h)
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200, (resp.status, body[:300])
        return json.loads(body)

    # A marker half-way through the table: paging deep must cost what the first page does.
    mid = f"{(rows // 2) >> 16:08x}-0000-4000-8000-{rows // 2:012x}"
    paths = {
        "detail, first page": f"/compute/v2.1/servers/detail?limit={limit}",
        "detail, deep page (marker)": f"/compute/v2.1/servers/detail?limit={limit}&marker={mid}",
        "brief, first page": f"/compute/v2.1/servers?limit={limit}",
    }
    out = {"rows": rows, "p50": {}, "p90": {}, "p99": {}}
    for name, path in paths.items():
        for _ in range(20):
            got = get(path)
            assert len(got["servers"]) == limit, (name, len(got["servers"]))
        lat = []
        for _ in range(n):
            t0 = time.perf_counter()
            get(path)
            lat.append((time.perf_counter() - t0) * 1e3)
        lat.sort()
        out["p50"][name] = statistics.median(lat)
        out["p90"][name] = lat[int(len(lat) * 0.9)]
        out["p99"][name] = lat[int(len(lat) * 0.99)]
        print(f"  {rows:>9,} rows  {name:<28} p50 {out['p50'][name]:7.2f} ms  p90 {out['p90'][name]:7.2f} ms  "
              f"p99 {out['p99'][name]:7.2f} ms", file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
