#!/usr/bin/env python3
"""Create what Tempest's compute tests boot with, and print it as JSON for tempest_conf.py.

As an admin, through the APIs under test:
  - the test guest (guest/build-test-guest) as Glance images: its kernel (aki) and initramfs
    (ari), and two root-disk images carrying kernel_id/ramdisk_id/os_command_line, so that
    image_ref and image_ref_alt differ (Tempest's image filter tests need two);
  - two public flavors, the second larger (the resize target);
  - a shared network with a DHCP subnet that every test project boots on (fixed_network_name).

  - with --copy-to CLOUD (an AWS or vCenter cloud, which boots only its own copies of
    images), both root-disk images copied into that cloud's image store with Glance's
    copy-image, waiting until each has its location there;
  - with --disk-boot, the root-disk images carry no kernel_id/ramdisk_id (a vCenter VM boots
    from its disk; direct kernel boot is libvirt's).

Usage: compute_resources.py BASE_URL ADMIN_PASSWORD GUEST_DIR [--copy-to CLOUD] [--disk-boot]
"""

import json
import sys
import time
import urllib.request


def call(method, url, token=None, body=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/octet-stream" if raw is not None else "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    with urllib.request.urlopen(req, timeout=300) as r:
        body = r.read()
        return r.headers, (json.loads(body) if body else None)


def image(base, token, name, path, disk_format, container_format, props=None):
    body = {"name": name, "disk_format": disk_format, "container_format": container_format,
            "visibility": "public"}
    body.update(props or {})
    _, img = call("POST", f"{base}/image/v2/images", token, body)
    with open(path, "rb") as f:
        call("PUT", f"{base}/image/v2/images/{img['id']}/file", token, raw=f.read())
    return img["id"]


def main():
    base, password, guest = sys.argv[1], sys.argv[2], sys.argv[3]
    args = sys.argv[4:]
    copy_to = args[args.index("--copy-to") + 1] if "--copy-to" in args else None
    disk_boot = "--disk-boot" in args
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    headers, _ = call("POST", f"{base}/identity/v3/auth/tokens", body=auth)
    token = headers["X-Subject-Token"]

    kernel = image(base, token, "test-guest-kernel", f"{guest}/vmlinuz", "aki", "aki")
    ramdisk = image(base, token, "test-guest-initrd", f"{guest}/initrd.img", "ari", "ari")
    boot = {} if disk_boot else {"kernel_id": kernel, "ramdisk_id": ramdisk, "os_command_line": "console=ttyS0"}
    disks = [image(base, token, name, f"{guest}/disk.qcow2", "qcow2", "bare", boot)
             for name in ("test-guest", "test-guest-alt")]

    if copy_to:
        for d in disks:
            call("POST", f"{base}/image/v2/images/{d}/import", token,
                 {"method": {"name": "copy-image"}, "stores": [copy_to]})
        deadline = time.monotonic() + 300
        for d in disks:
            while True:
                _, img = call("GET", f"{base}/image/v2/images/{d}", token)
                if f"hybridstack:location:{copy_to}" in img:
                    break
                if time.monotonic() > deadline:
                    sys.exit(f"image {d} was not copied to {copy_to} within 300 s")
                time.sleep(0.5)

    flavors = []
    for fid, name, ram, disk in (("42", "test.small", 192, 1), ("84", "test.medium", 256, 2)):
        call("POST", f"{base}/compute/v2.1/flavors", token, {"flavor": {
            "id": fid, "name": name, "vcpus": 1, "ram": ram, "disk": disk}})
        flavors.append(fid)

    net = f"{base}/network/v2.0"
    _, n = call("POST", f"{net}/networks", token, {"network": {"name": "tempest-fixed", "shared": True}})
    call("POST", f"{net}/subnets", token, {"subnet": {
        "network_id": n["network"]["id"], "name": "tempest-fixed-v4", "ip_version": 4,
        "cidr": "10.99.0.0/22", "enable_dhcp": True}})

    print(json.dumps({"image_ref": disks[0], "image_ref_alt": disks[1], "flavor_ref": flavors[0],
                      "flavor_ref_alt": flavors[1], "fixed_network_name": "tempest-fixed"}))


if __name__ == "__main__":
    main()
