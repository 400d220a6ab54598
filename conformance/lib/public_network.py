#!/usr/bin/env python3
"""Create the external network Tempest's floating-IP tests need, and print its id.

As an admin: a network with router:external=True named "public" and one IPv4 subnet
(172.24.4.0/24, outside Tempest's 10.100.0.0/16 project range). Idempotent: an existing
"public" external network is reused.
"""

import json
import sys
import urllib.request


def call(method, url, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.headers, json.loads(r.read() or b"null")


def main():
    base, password = sys.argv[1], sys.argv[2]
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    headers, _ = call("POST", f"{base}/identity/v3/auth/tokens", body=auth)
    token = headers["X-Subject-Token"]
    net = f"{base}/network/v2.0"
    _, nets = call("GET", f"{net}/networks?name=public&router:external=True", token)
    if nets["networks"]:
        print(nets["networks"][0]["id"])
        return
    _, n = call("POST", f"{net}/networks", token, {"network": {"name": "public", "router:external": True}})
    nid = n["network"]["id"]
    call("POST", f"{net}/subnets", token, {"subnet": {
        "network_id": nid, "name": "public-subnet", "ip_version": 4, "cidr": "172.24.4.0/24",
        "gateway_ip": "172.24.4.1", "enable_dhcp": False}})
    print(nid)


if __name__ == "__main__":
    main()
