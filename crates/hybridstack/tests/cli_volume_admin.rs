//! End-to-end with the `openstack` CLI on a real libvirtd: what block storage offers beyond
//! volumes and snapshots. Volume types with extra specs (one that pins its volumes to a
//! zone), private types and their access list; quotas and limits, enforced; an admin's
//! reset of a volume's state; boot from volume (`--block-device`, delete_on_termination);
//! the attachments API (3.27) reserving a volume and then hot-plugging it into the server;
//! and another project seeing none of it.
//!
//! Needs libvirtd on qemu:///system and the built test guest (scripts/install-test-deps).

mod support;

use serde_json::Value;
use support::cli::{field, Cli};
use support::guest::virsh;
use support::wait_for;

fn wait_status(cli: &Cli, name: &str, want: &str) -> Value {
    wait_for(&format!("volume {name} to be {want}"), 120, || {
        let shown = cli.json(&["volume", "show", name]);
        (field(&shown, "status") == want).then_some(shown)
    })
}

fn refused(cli: &Cli, args: &[&str], why: &str) {
    let out = cli.run(args);
    assert!(!out.status.success(), "openstack {} should have been refused", args.join(" "));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(why), "openstack {}: expected {why:?} in {err}", args.join(" "));
}

#[test]
fn types_quotas_reset_boot_from_volume_and_attachments() {
    let support::guest::KvmPlatform { server, leftovers: _leftovers, cloud, admin } =
        support::guest::kvm_platform("cinder-adm");
    let image = support::guest::upload_test_guest(&admin, "guest");

    // Types: extra specs, the zone pin, the default type's protection, private access.
    let pin = format!("RESKEY:availability_zones={cloud}");
    admin.json(&["volume", "type", "create", "--property", &pin, "--description", "pinned", "gold"]);
    admin.ok(&["volume", "type", "set", "--property", "tier=1", "gold"]);
    let gold = admin.json(&["volume", "type", "show", "gold"]);
    assert!(gold["properties"].to_string().contains("tier"), "{gold}");
    assert!(gold["properties"].to_string().contains(&cloud), "{gold}");
    refused(&admin, &["volume", "type", "create", "gold"], "already exists");
    refused(&admin, &["volume", "type", "delete", "__DEFAULT__"], "Default volume type can not be deleted");
    refused(
        &admin,
        &["volume", "create", "--type", "gold", "--availability-zone", "elsewhere", "--size", "1", "x"],
        "only allows availability zones",
    );
    let g1 = admin.json(&["volume", "create", "--type", "gold", "--size", "1", "g1"]);
    assert_eq!(field(&g1, "type"), "gold", "{g1}");
    wait_status(&admin, "g1", "available");
    refused(&admin, &["volume", "type", "delete", "gold"], "still in use");
    admin.json(&["volume", "type", "create", "--private", "secret"]);
    let admin_project = field(&admin.json(&["project", "show", "admin"]), "id").to_string();
    admin.ok(&["volume", "type", "set", "--project", &admin_project, "secret"]);
    let access = admin.json(&["volume", "type", "show", "secret"]);
    assert!(access["access_project_ids"].to_string().contains(&admin_project), "{access}");

    // Another project: the type is not theirs, nor the volume, nor the quota to change.
    admin.ok(&["project", "create", "other"]);
    admin.ok(&["user", "create", "--password", "pw-other-1", "--project", "other", "bob"]);
    admin.ok(&["role", "add", "--user", "bob", "--project", "other", "member"]);
    let bob = Cli::password(&server.url, "bob", "pw-other-1", "other");
    refused(&bob, &["volume", "show", field(&g1, "id")], "No Volume found");
    let types = bob.ok(&["volume", "type", "list", "-f", "value", "-c", "Name"]);
    assert!(!types.contains("secret") && types.contains("gold"), "{types}");
    refused(&bob, &["volume", "type", "create", "mine"], "not authorized");
    refused(&bob, &["quota", "set", "--volumes", "100", "other"], "not authorized");

    // Quotas: the gigabytes one refuses what would pass it; limits show the use.
    admin.ok(&["quota", "set", "--gigabytes", "3", "admin"]);
    refused(&admin, &["volume", "create", "--size", "5", "big"], "exceeds allowed gigabytes quota");
    let limits = admin.json(&["limits", "show", "--absolute"]);
    let limit =
        |name: &str| limits.as_array().and_then(|l| l.iter().find(|e| e["Name"] == name)).map(|e| e["Value"].clone());
    assert_eq!(limit("max_total_volume_gigabytes"), Some(Value::from(3)), "{limits}");
    assert_eq!(limit("total_gigabytes_used"), Some(Value::from(1)), "{limits}");
    admin.ok(&["quota", "set", "--gigabytes", "1000", "admin"]);

    // An admin resets a volume's state (the record only).
    admin.ok(&["volume", "set", "--state", "error", "g1"]);
    assert_eq!(field(&admin.json(&["volume", "show", "g1"]), "status"), "error");
    admin.ok(&["volume", "set", "--state", "available", "g1"]);
    refused(&bob, &["volume", "set", "--state", "error", field(&g1, "id")], "No Volume found");

    // Boot from volume: a 1 GiB root made from the image, deleted with the server.
    admin.json(&["flavor", "create", "--vcpus", "1", "--ram", "192", "--disk", "1", "g.bfv"]);
    let bdm = format!(
        "uuid={image},source_type=image,destination_type=volume,volume_size=1,boot_index=0,delete_on_termination=true"
    );
    let vm =
        admin.json(&["server", "create", "--flavor", "g.bfv", "--block-device", &bdm, "--no-network", "--wait", "bfv"]);
    assert_eq!(field(&vm, "status"), "ACTIVE", "{vm}");
    let vm_id = field(&vm, "id").to_string();
    let shown = admin.json(&["server", "show", "bfv"]);
    let root_id = shown["volumes_attached"][0]["id"].as_str().expect("a root volume").to_string();
    let root = admin.json(&["volume", "show", &root_id]);
    assert_eq!((field(&root, "status"), root["bootable"].clone()), ("in-use", Value::from(true)), "{root}");
    let blk = virsh(&["domblklist", &format!("hs-{vm_id}")]);
    assert!(blk.lines().any(|l| l.trim_start().starts_with("vda") && l.contains(&format!("vol-{root_id}"))), "{blk}");
    refused(&admin, &["server", "remove", "volume", "bfv", &root_id], "root device");

    // The attachments API: reserved without a connector, hot-plugged once given one.
    let v327 = ["--os-volume-api-version", "3.27"];
    let att = admin.json(&[&v327[..], &["volume", "attachment", "create", "--server", "bfv", "g1"]].concat());
    assert_eq!(field(&att, "Status"), "reserved", "{att}");
    assert_eq!(field(&admin.json(&["volume", "show", "g1"]), "status"), "reserved");
    let att_id = field(&att, "ID").to_string();
    let listed = admin.ok(&[&v327[..], &["volume", "attachment", "list", "-f", "value", "-c", "ID"]].concat());
    assert!(listed.contains(&att_id), "{listed}");
    refused(&admin, &["--os-volume-api-version", "3.0", "volume", "attachment", "list"], "3.27");
    admin.json(&[&v327[..], &["volume", "attachment", "set", "--initiator", "iqn.hs", &att_id]].concat());
    wait_status(&admin, "g1", "in-use");
    let blk = virsh(&["domblklist", &format!("hs-{vm_id}")]);
    assert!(blk.contains(&format!("vol-{}", field(&g1, "id"))), "the volume is in the guest: {blk}");
    let att = admin.json(&[&v327[..], &["volume", "attachment", "show", &att_id]].concat());
    assert_eq!(field(&att, "Status"), "attached", "{att}");
    admin.ok(&[&v327[..], &["volume", "attachment", "delete", &att_id]].concat());
    wait_status(&admin, "g1", "available");

    admin.ok(&["server", "delete", "--wait", "bfv"]);
    wait_for("the root volume to be deleted with its server", 120, || {
        (!admin.run(&["volume", "show", &root_id]).status.success()).then_some(Value::Null)
    });
    admin.ok(&["volume", "delete", "g1"]);
    wait_for("g1 to go", 120, || (!admin.run(&["volume", "show", "g1"]).status.success()).then_some(Value::Null));
    admin.ok(&["volume", "type", "delete", "gold", "secret"]);
    let pool = virsh(&["vol-list", &support::guest::pool_of(&server, &cloud)]);
    assert!(!pool.lines().any(|l| l.trim_start().starts_with("vol-")), "nothing is left in the pool: {pool}");
}
