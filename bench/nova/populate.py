#!/usr/bin/env python3
"""Fill real nova's cell1 DB with N ACTIVE servers for the admin project.

Run with the nova venv's python (bench/nova/setup creates it):

  $BENCH_ROOT/nova-venv/bin/python bench/nova/populate.py \
      --config-file $BENCH_ROOT/nova/nova.conf --keystone-url http://127.0.0.1:PORT [--count 1000]

Uses nova's own versioned objects (the same code paths nova-conductor uses to
write a booted instance), so the rows are exactly what nova-api expects:

  API DB   flavor m1.tiny (flavorid "1", 1 vCPU / 512 MB / 1 GB), one
           InstanceMapping per server -> cell1
  cell1    Instance: name bench-<i>, vm_state active, power_state RUNNING,
           host/node/launched_on bench-compute, AZ nova, image ref, key-less,
           metadata {role: web}, embedded flavor (instance_extra), and an
           info_cache whose network_info holds one OVS VIF on network
           "private" with a fixed IPv4 (10.x.y.z) + MAC, so `addresses` renders.

The shape mirrors `hybridstack bench-seed-servers` (same names, flavor,
metadata, one fixed address on "private", security group "default" -- the
latter comes from the Neutron stub, as nova asks Neutron for it).

Idempotent: if exactly N bench servers exist it does nothing; otherwise it
deletes the previous bench rows (reservation_id r-bench) and writes N anew.
The admin project/user ids come from Keystone (--keystone-url, admin
password from --admin-password / $BENCH_ADMIN_PASSWORD) unless --project-id
and --user-id are given.
"""

# nova-manage does the same: decide threading vs eventlet before anything else.
from nova import monkey_patch  # noqa: E402,I100

monkey_patch.patch(backend="threading")

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
import uuid  # noqa: E402

RESERVATION = "r-bench"
HOST = "bench-compute"
IMAGE_ID = "00000000-0000-4000-8000-000000000001"
NET_ID = "00000000-0000-4000-8000-00000000beef"
SUBNET_ID = "00000000-0000-4000-8000-00000000cafe"


def server_uuid(i):
    # same scheme as hybridstack bench-seed-servers
    return f"{i >> 16:08x}-0000-4000-8000-{i:012x}"


def port_uuid(i):
    return f"{i >> 16:08x}-0000-4000-9000-{i:012x}"


def keystone_ids(url, password):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    req = urllib.request.Request(url.rstrip("/") + "/v3/auth/tokens", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        tok = json.load(r)["token"]
    return tok["project"]["id"], tok["user"]["id"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config-file", required=True, help="nova.conf written by bench/nova/setup")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--keystone-url", help="to look up the admin project/user ids")
    ap.add_argument("--admin-password", default=os.environ.get("BENCH_ADMIN_PASSWORD", "admin"))
    ap.add_argument("--project-id")
    ap.add_argument("--user-id")
    ap.add_argument("--force", action="store_true", help="rewrite even if N bench servers exist")
    args = ap.parse_args()

    if not (args.project_id and args.user_id):
        if not args.keystone_url:
            ap.error("give --keystone-url, or both --project-id and --user-id")
        args.project_id, args.user_id = keystone_ids(args.keystone_url, args.admin_password)

    from oslo_config import cfg
    from oslo_utils import timeutils
    import sqlalchemy
    from sqlalchemy import text

    from nova import config
    from nova import context as nova_context
    from nova.db.api import api as api_db
    from nova.db.main import api as main_db
    from nova import objects
    from nova.network import model as net
    from nova.objects import fields

    config.parse_args([sys.argv[0], "--config-file", args.config_file])
    objects.register_all()
    conf = cfg.CONF

    ctxt = nova_context.get_admin_context()
    cells = {c.name: c for c in objects.CellMappingList.get_all(ctxt)}
    if "cell1" not in cells:
        sys.exit("no cell1 mapping: run bench/nova/setup first")
    cell = cells["cell1"]

    # --- flavor in the API DB ---------------------------------------------------
    try:
        flavor = objects.Flavor.get_by_flavor_id(ctxt, "1")
    except Exception:  # FlavorNotFound
        flavor = objects.Flavor(context=ctxt, name="m1.tiny", flavorid="1", memory_mb=512, vcpus=1,
                                root_gb=1, ephemeral_gb=0, swap=0, rxtx_factor=1.0,
                                vcpu_weight=0, disabled=False, is_public=True, extra_specs={},
                                description=None)
        flavor.create()

    with nova_context.target_cell(ctxt, cell) as cctxt:
        engine = main_db.get_engine(context=cctxt)
        with engine.connect() as c:
            have = c.execute(text("select count(*) from instances where reservation_id = :r and deleted = 0"),
                             {"r": RESERVATION}).scalar()
            same_project = c.execute(text("select count(*) from instances where reservation_id = :r "
                                          "and deleted = 0 and project_id = :p"),
                                     {"r": RESERVATION, "p": args.project_id}).scalar()
        if have == args.count and same_project == args.count and not args.force:
            print(f"populate: {have} bench servers already present in cell1 for project {args.project_id}; nothing to do")
            return
        if have:
            print(f"populate: removing {have} previous bench servers")
            tables = ["instance_info_caches", "instance_extra", "instance_metadata",
                      "instance_system_metadata", "instance_faults", "block_device_mapping",
                      "instance_actions_events", "instance_actions", "instance_id_mappings",
                      "tags", "virtual_interfaces", "migrations", "security_group_instance_association"]
            insp = sqlalchemy.inspect(engine)
            sel = "(select uuid from instances where reservation_id = :r)"
            with engine.begin() as c:
                uuids = [r[0] for r in c.execute(text("select uuid from instances where reservation_id = :r"),
                                                 {"r": RESERVATION})]
                c.execute(text("delete from instance_actions_events where action_id in (select id from "
                               f"instance_actions where instance_uuid in {sel})"), {"r": RESERVATION})
                for t in insp.get_table_names():
                    if t != "instances" and "instance_uuid" in {col["name"] for col in insp.get_columns(t)}:
                        c.execute(text(f"delete from {t} where instance_uuid in {sel}"), {"r": RESERVATION})
                c.execute(text("delete from instances where reservation_id = :r"), {"r": RESERVATION})
            with api_db.get_engine().begin() as c:
                for i in range(0, len(uuids), 500):
                    chunk = uuids[i:i + 500]
                    c.execute(text("delete from instance_mappings where instance_uuid in (%s)"
                                   % ",".join(f":u{j}" for j in range(len(chunk)))),
                              {f"u{j}": u for j, u in enumerate(chunk)})

        print(f"populate: writing {args.count} servers for project {args.project_id} into cell1")
        t0 = time.monotonic()
        base = timeutils.utcnow().replace(microsecond=0) - datetime.timedelta(days=1)
        for i in range(args.count):
            uid = server_uuid(i)
            ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
            mac = f"fa:16:3e:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}"
            subnet = net.Subnet(id=SUBNET_ID, cidr="10.0.0.0/8", version=4,
                                gateway=net.IP(address="10.0.0.1", type="gateway"),
                                dns=[], routes=[],
                                ips=[net.FixedIP(address=ip, floating_ips=[])])
            network = net.Network(id=NET_ID, bridge="br-int", label="private", subnets=[subnet],
                                  meta={"injected": False, "tenant_id": args.project_id, "mtu": 1450})
            vif = net.VIF(id=port_uuid(i), address=mac, network=network, type="ovs",
                          details={"port_filter": True, "connectivity": "l2", "bridge_name": "br-int",
                                   "datapath_type": "system", "ovs_hybrid_plug": False},
                          devname=f"tap{port_uuid(i)[:11]}", ovs_interfaceid=port_uuid(i),
                          qbh_params=None, qbg_params=None, active=True, vnic_type="normal",
                          profile={}, preserve_on_delete=False, meta={})
            created = base + datetime.timedelta(seconds=i)
            inst = objects.Instance(
                context=cctxt,
                uuid=uid,
                project_id=args.project_id,
                user_id=args.user_id,
                display_name=f"bench-{i}",
                display_description=None,
                hostname=f"bench-{i}",
                reservation_id=RESERVATION,
                launch_index=0,
                image_ref=IMAGE_ID,
                kernel_id="",
                ramdisk_id="",
                key_name=None,
                key_data=None,
                vm_state="active",
                power_state=fields.InstancePowerState.index(fields.InstancePowerState.RUNNING),
                task_state=None,
                host=HOST,
                node=HOST,
                compute_id=None,
                launched_on=HOST,
                availability_zone="nova",
                instance_type_id=flavor.id,
                memory_mb=flavor.memory_mb,
                vcpus=flavor.vcpus,
                root_gb=flavor.root_gb,
                ephemeral_gb=flavor.ephemeral_gb,
                flavor=flavor,
                old_flavor=None,
                new_flavor=None,
                metadata={"role": "web"},
                system_metadata={"image_base_image_ref": IMAGE_ID, "image_disk_format": "qcow2",
                                 "image_container_format": "bare", "image_min_ram": "0",
                                 "image_min_disk": "1", "owner_project_name": "admin",
                                 "owner_user_name": "admin", "boot_roles": "admin,member,reader"},
                info_cache=objects.InstanceInfoCache(network_info=net.NetworkInfo([vif])),
                config_drive="",
                locked=False,
                root_device_name="/dev/vda",
                default_ephemeral_device=None,
                default_swap_device=None,
                os_type=None,
                architecture=None,
                vm_mode=None,
                access_ip_v4=None,
                access_ip_v6=None,
                progress=0,
                launched_at=created + datetime.timedelta(seconds=30),
                created_at=created,
                updated_at=created + datetime.timedelta(seconds=30),
                cleaned=False,
                hidden=False,
            )
            inst.create()
            objects.InstanceMapping(context=ctxt, instance_uuid=uid, cell_mapping=cell,
                                    project_id=args.project_id, user_id=args.user_id,
                                    queued_for_delete=False).create()
            if (i + 1) % 250 == 0:
                print(f"populate: {i + 1}/{args.count} ({time.monotonic() - t0:.1f}s)", flush=True)
    print(f"populate: wrote {args.count} servers in {time.monotonic() - t0:.1f}s "
          f"(cell1 {conf.database.connection})")


if __name__ == "__main__":
    main()
