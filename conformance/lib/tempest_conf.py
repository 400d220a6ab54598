#!/usr/bin/env python3
"""Write the tempest.conf that conformance/run-tempest runs Tempest with.

The file is assembled per service: each OpenStack service hybridstack serves has an entry in
SERVICES below that names its [service_available] flag and the sections it adds. A service
listed in --services is switched on and its sections are written; every other flag in
[service_available] is written as False, so Tempest skips (rather than fails) what is not
served yet. To bring a new service under test: fill in its entry, then add it to the
--services that run-tempest passes.
"""

import argparse
import json
import configparser
import sys

# Every flag of Tempest's [service_available] group (tempest 47).
ALL_FLAGS = ["nova", "neutron", "cinder", "glance", "swift", "horizon"]


def identity(ctx):
    return {
        "identity": {
            "uri_v3": ctx.uri_v3,
            "auth_version": "v3",
            "region": ctx.region,
            "v3_endpoint_type": "public",
            "catalog_type": "identity",
            "admin_role": "admin",
            "default_domain_id": "default",
            # Security compliance: these must equal what hybridstack enforces
            # (keystone.conf [security_compliance]).
            "user_unique_last_password_count": "2",
            "user_minimum_password_age": "0",
            "user_lockout_failure_attempts": "2",
            "user_lockout_duration": "5",
        },
        "identity-feature-enabled": {
            "security_compliance": "True",
            "trust": "False",
            "domain_specific_drivers": "False",
            "immutable_user_source": "False",
            # Tempest 47 dropped the application_credentials and project_tags flags (always
            # on); api_v2 / api_v3 are deprecated no-ops, written to say what we serve.
            "api_v2": "False",
            "api_v3": "True",
            "api_extensions": "all",
        },
    }


def compute(ctx):  # Nova v2.1, on the cloud run-tempest registered
    r = json.loads(ctx.compute_json or "{}")
    kvm = ctx.cloud_kind == "kvm"
    # EC2 cannot pause or suspend and has no config drive; a vSphere VM suspends but has no
    # paused state, and gets a config drive on a CD-ROM.
    suspend = ctx.cloud_kind in ("kvm", "vsphere")
    config_drive = ctx.cloud_kind in ("kvm", "vsphere")
    device = {"kvm": "vdc", "aws": "sdf", "vsphere": "sdb"}[ctx.cloud_kind]
    if not r:
        sys.exit("tempest_conf: the compute service needs --compute-json (compute_resources.py's output)")
    return {
        "compute": {"region": ctx.region, "endpoint_type": "publicURL", "catalog_type": "compute",
                    "image_ref": r["image_ref"], "image_ref_alt": r["image_ref_alt"],
                    "flavor_ref": r["flavor_ref"], "flavor_ref_alt": r["flavor_ref_alt"],
                    "fixed_network_name": r["fixed_network_name"],
                    # The newest microversion hybridstack serves (api::compute::MAX_VERSION).
                    "max_microversion": "2.38",
                    # libvirt: vda is the root disk and vdb the config drive, so a guest's
                    # first volume is vdc; EC2: data volumes take the slots from /dev/sdf;
                    # vSphere: SCSI disks after the root (sda), from sdb.
                    "volume_device_name": device,
                    "build_timeout": "300", "build_interval": "1"},
        # What the libvirt cloud does (resize, snapshot, pause, suspend, console output) is on;
        # what no cloud does yet is off, so Tempest skips it rather than fails.
        "compute-feature-enabled": {
            "resize": "True", "snapshot": "True", "console_output": "True", "pause": str(kvm),
            "suspend": str(suspend), "disk_config": "True",
            # adminPass is not returned: no cloud can set a guest password yet.
            "enable_instance_password": "False",
            "change_password": "False", "shelve": "False", "shelve_migrate": "False",
            "rescue": "False", "stable_rescue": "False", "live_migration": "False",
            "cold_migration": "False", "interface_attach": "False", "vnc_console": "False",
            "spice_console": "False", "serial_console": "False", "personality": "False",
            # Every libvirt guest gets a config drive (host name, key pair); no metadata service.
            # (EC2 instances get theirs from EC2's own metadata service, not Nova's.)
            "config_drive": str(config_drive), "metadata_service": "False",
            "attach_encrypted_volume": "False", "swap_volume": "False", "volume_multiattach": "False",
        },
        "enforce_scope": {"nova": "False"},
        # The guests are on the shared fixed network, whose gateway is this host, so Tempest
        # logs in to them over SSH with the key pair it imports (the test guest runs dropbear
        # and reads the key from its config drive).
        "validation": {"run_validation": ctx.validation, "connect_method": "fixed", "auth_method": "keypair",
                       "network_for_ssh": r["fixed_network_name"], "ip_version_for_ssh": "4",
                       "image_ssh_user": "root", "image_alt_ssh_user": "root",
                       "security_group": "True", "security_group_rules": "True",
                       "ssh_timeout": "300", "connect_timeout": "60"},
    }


# Exactly the aliases hybridstack advertises at GET /network/v2.0/extensions.
NETWORK_EXTENSIONS = ("router,ext-gw-mode,external-net,security-group,subnet_allocation,net-mtu,binding,"
                      "port-security,allowed-address-pairs,project-id,standard-attr-description,"
                      "standard-attr-timestamp,standard-attr-revisions,pagination,sorting,fip-port-details,"
                      "quotas,quota_details,standard-attr-tag")


def network(ctx):  # Neutron v2.0
    return {"network": {"region": ctx.region, "endpoint_type": "publicURL", "catalog_type": "network",
                        "public_network_id": ctx.public_network_id or "",
                        "floating_network_name": "public",
                        "project_network_cidr": "10.100.0.0/16", "project_network_mask_bits": "28",
                        "project_network_v6_cidr": "2001:db8::/48", "project_network_v6_mask_bits": "64",
                        "shared_physical_network": "False"},
            "network-feature-enabled": {"ipv6": "True", "ipv6_subnet_attributes": "True",
                                        "floating_ips": "True", "api_extensions": NETWORK_EXTENSIONS},
            "enforce_scope": {"neutron": "False"}}


# The Cinder extensions hybridstack serves (crates/api/src/volume/extensions.rs).
VOLUME_EXTENSIONS = ("os-admin-actions,os-availability-zone,os-extended-snapshot-attributes,os-quota-sets,"
                     "os-types-extra-specs,os-types-manage,os-used-limits,os-vol-tenant-attr,os-volume-actions,"
                     "os-volume-type-access")


def volume(ctx):  # Cinder v3, microversions 3.0 to 3.27
    return {"volume": {"region": ctx.region, "endpoint_type": "publicURL", "catalog_type": "block-storage",
                       "volume_size": "1", "disk_format": "raw", "min_microversion": "3.0",
                       "max_microversion": "3.27", "build_interval": "1", "build_timeout": "300"},
            "volume-feature-enabled": {"api_extensions": VOLUME_EXTENSIONS, "snapshot": "True",
                                       "clone": "True", "backup": "False", "manage_snapshot": "False",
                                       "manage_volume": "False", "extend_attached_volume": "False",
                                       "volume_revert": "False", "multi_backend": "False",
                                       "cluster_active_active": "False"}}


def image(ctx):  # Glance v2
    # image_format_enforcement=False: Tempest's list tests upload random bytes labelled qcow2,
    # ami, vhd...; with enforcement on they skip. run-tempest therefore serves with
    # HYBRIDSTACK_IMAGE_REQUIRE_FORMAT_MATCH=false (hostile images are still refused).
    return {"image": {"region": ctx.region, "endpoint_type": "publicURL", "catalog_type": "image",
                      "container_formats": "bare,ami,ari,aki,ovf,ova",
                      "disk_formats": "qcow2,raw,ami,ari,aki,vhd,vmdk,vdi,iso,vhdx"},
            "image-feature-enabled": {"api_v2": "True", "image_format_enforcement": "False",
                                      "os_glance_reserved": "True", "import_image": "True",
                                      "manage_locations": "False"}}


# service name -> ([service_available] flag or None, function giving its sections)
SERVICES = {
    "identity": (None, identity),
    "compute": ("nova", compute),
    "network": ("neutron", network),
    "volume": ("cinder", volume),
    "image": ("glance", image),
}


def build(ctx):
    services = [s for s in ctx.services.split(",") if s]
    unknown = [s for s in services if s not in SERVICES]
    if unknown:
        sys.exit(f"tempest_conf: unknown service(s): {', '.join(unknown)}; "
                 f"known: {', '.join(SERVICES)}")
    if "identity" not in services:
        services.insert(0, "identity")

    conf = {
        "DEFAULT": {
            "log_dir": ctx.log_dir,
            "log_file": "tempest.log",
            "debug": "True",
            "use_stderr": "False",
        },
        "oslo_concurrency": {"lock_path": ctx.lock_path},
        "auth": {
            "use_dynamic_credentials": "True",
            "create_isolated_networks": "False",
            "admin_username": "admin",
            "admin_password": ctx.admin_password,
            "admin_project_name": "admin",
            "admin_domain_name": "Default",
            "admin_user_domain_name": "Default",
            "admin_project_domain_name": "Default",
            "default_credentials_domain_name": "Default",
        },
        "service-clients": {"http_timeout": "60"},
        # Guests are reached over SSH only where a service says so (compute on libvirt).
        "validation": {"run_validation": "False"},
    }
    available = {flag: "False" for flag in ALL_FLAGS}
    for name in services:
        flag, sections = SERVICES[name]
        if flag:
            available[flag] = "True"
        for section, opts in sections(ctx).items():
            conf.setdefault(section, {}).update(opts)
    conf["service_available"] = available
    return conf


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--uri-v3", required=True, help="e.g. http://127.0.0.1:PORT/identity/v3")
    p.add_argument("--admin-password", required=True)
    p.add_argument("--compute-json", default="", help="compute_resources.py's output")
    p.add_argument("--cloud-kind", default="kvm", choices=["kvm", "aws", "vsphere"])
    p.add_argument("--validation", default="True", choices=["True", "False"],
                   help="log in to guests over SSH (compute; needs guests reachable from this host)")
    p.add_argument("--region", default="RegionOne")
    p.add_argument("--services", default="identity",
                   help="comma-separated: " + ", ".join(SERVICES))
    p.add_argument("--public-network-id", default="", help="external network for floating IPs")
    p.add_argument("--log-dir", required=True)
    p.add_argument("--lock-path", required=True)
    p.add_argument("--out", required=True)
    ctx = p.parse_args()

    cp = configparser.ConfigParser(interpolation=None)
    for section, opts in build(ctx).items():
        if section != "DEFAULT":
            cp.add_section(section)
        for k, v in opts.items():
            cp.set(section, k, v)
    with open(ctx.out, "w", encoding="utf-8") as f:
        cp.write(f)


if __name__ == "__main__":
    main()
