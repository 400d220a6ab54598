#!/usr/bin/env python3
"""The moto server of an aws Tempest run.

  aws_leftovers.py --wait URL      waits (30 s at most) until moto answers, resetting it
  aws_leftovers.py URL CLOUD       prints how many live resources carry CLOUD's tag, by kind
"""

import sys
import time
import urllib.request


def wait(url):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=2):
                return
        except Exception:  # not listening yet
            time.sleep(0.2)
    sys.exit(f"moto did not answer on {url}")


def leftovers(url, cloud):
    import boto3

    ec2 = boto3.client("ec2", endpoint_url=url, region_name="us-east-1",
                       aws_access_key_id="AKIAHYBRIDSTACKTEMPEST", aws_secret_access_key="x")
    f = [{"Name": "tag:hybridstack:cloud", "Values": [cloud]}]
    counts = {
        "instances": sum(1 for r in ec2.describe_instances(Filters=f)["Reservations"] for i in r["Instances"]
                         if i["State"]["Name"] != "terminated"),
        "vpcs": len(ec2.describe_vpcs(Filters=f)["Vpcs"]),
        "enis": len(ec2.describe_network_interfaces(Filters=f)["NetworkInterfaces"]),
        "volumes": len([v for v in ec2.describe_volumes(Filters=f)["Volumes"] if v["State"] != "deleted"]),
        "elastic_ips": len(ec2.describe_addresses(Filters=f)["Addresses"]),
        "amis": len(ec2.describe_images(Owners=["self"], Filters=f)["Images"]),
    }
    print(sum(counts.values()), " ".join(f"{k}={v}" for k, v in counts.items()))


if __name__ == "__main__":
    if sys.argv[1] == "--wait":
        wait(sys.argv[2])
    else:
        leftovers(sys.argv[1], sys.argv[2])
