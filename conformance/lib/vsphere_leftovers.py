#!/usr/bin/env python3
"""What of hybridstack's a vCenter (the simulator of a vsphere run) still holds, as one line,
read with VMware's own SDK through crates/driver-vsphere/tests/pyvmomi_view.py: VMs, port
groups marked as ours, image copies in the datastore's image store, and any other file.

Usage: vsphere_leftovers.py SDK_URL USER   (the password in VCENTER_PASSWORD)
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VIEW = os.path.join(HERE, "..", "..", "crates", "driver-vsphere", "tests", "pyvmomi_view.py")


def main():
    url, user = sys.argv[1], sys.argv[2]
    out = subprocess.run([sys.executable, VIEW, url, user, "inventory"], capture_output=True, text=True, check=True)
    inv = json.loads(out.stdout)
    groups = [g["name"] for g in inv["port_groups"] if "hybridstack." in (g["description"] or "")]
    images = {f.split("/images/")[1].split("/")[0] for f in inv["files"] if "/images/" in f}
    other = [f for f in inv["files"] if "/images/" not in f]
    print(f"{len(inv['vms'])} VMs, {len(groups)} port groups, {len(other)} other files, "
          f"{len(images)} images in the image store")


if __name__ == "__main__":
    main()
