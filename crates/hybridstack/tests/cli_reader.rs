//! End-to-end: what a reader may not do, through the unmodified `openstack` CLI. A project
//! `m-proj` has a user with only the `reader` role and one with `member`. The reader's four
//! block-storage writes that were once accepted (volume create, snapshot create, volume
//! rename, volume from a snapshot) are each refused with a 403 and make nothing; a member's
//! provider network is a 403 instead of a network with the attributes dropped, and a
//! project member's `user list` is a 403, as Keystone answers it.
//!
//! Needs root, libvirtd and the test venv (scripts/install-test-deps).

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::cli::{cmd, field, Cli};

fn wait_status(cli: &Cli, kind: &[&str], name: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut args = kind.to_vec();
        args.extend(["show", name]);
        let shown = cli.json(&args);
        if field(&shown, "status") == want {
            return;
        }
        assert!(Instant::now() < deadline, "{kind:?} {name} never became {want}: {shown}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Runs a command that must be refused with a 403.
fn forbidden(cli: &Cli, args: &[&str]) {
    let out = cli.run(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "openstack {} was allowed", args.join(" "));
    assert!(err.contains("403") || err.contains("Forbidden") || err.contains("not authorized"), "{args:?}: {err}");
}

fn names(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(|x| x["Name"].as_str().map(str::to_string)).collect()
}

#[test]
fn a_reader_is_refused_every_write_and_nothing_is_made() {
    let server = support::start();
    let cloud = format!("reader-{}", std::process::id());
    let _leftovers = support::guest::Leftovers::new(&server, &cloud);
    support::guest::add_libvirt_cloud(&server, &cloud);
    let admin = Cli::password(&server.url, "admin", support::ADMIN_PASSWORD, "admin");
    admin.json(&["project", "create", "m-proj"]);
    for (user, role) in [("m-reader", "reader"), ("m-member", "member")] {
        admin.json(&["user", "create", "--password", "pw-of-the-test", "--project", "m-proj", user]);
        admin.ok(&["role", "add", "--project", "m-proj", "--user", user, role]);
    }
    let reader = Cli::password(&server.url, "m-reader", "pw-of-the-test", "m-proj");
    let member = Cli::password(&server.url, "m-member", "pw-of-the-test", "m-proj");

    member.json(&["volume", "create", "--size", "1", "membervol"]);
    wait_status(&member, &["volume"], "membervol", "available");
    member.json(&["volume", "snapshot", "create", "--volume", "membervol", "msnap"]);
    wait_status(&member, &["volume", "snapshot"], "msnap", "available");

    // The reader sees them, and writes none of them.
    assert_eq!(names(&reader.json(&["volume", "list"])), vec!["membervol".to_string()]);
    forbidden(&reader, &["volume", "create", "--size", "1", "readervol"]);
    forbidden(&reader, &["volume", "snapshot", "create", "--volume", "membervol", "rsnap"]);
    forbidden(&reader, &["volume", "set", "--name", "renamed", "membervol"]);
    forbidden(&reader, &["volume", "create", "--size", "1", "--snapshot", "msnap", "rvol2"]);
    assert_eq!(names(&member.json(&["volume", "list"])), vec!["membervol".to_string()], "nothing was made or renamed");
    assert_eq!(names(&member.json(&["volume", "snapshot", "list"])), vec!["msnap".to_string()]);
    // The rest of a reader's writes stay refused too.
    forbidden(&reader, &["volume", "delete", "membervol"]);
    forbidden(&reader, &["network", "create", "rnet"]);
    let disk = server.data.path().join("tiny.raw");
    std::fs::write(&disk, vec![0u8; 1 << 16]).expect("image file");
    let disk = disk.display().to_string();
    admin.json(&cmd!("image create --public --disk-format raw --container-format bare --file {disk} ri"));
    admin.json(&["flavor", "create", "--vcpus", "1", "--ram", "64", "--disk", "1", "rf"]);
    forbidden(&reader, &["server", "create", "--flavor", "rf", "--image", "ri", "--no-network", "rvm"]);
    assert!(reader.json(&["server", "list"]).as_array().is_some_and(Vec::is_empty));

    // Provider attributes are an administrator's: a member is refused, not ignored.
    forbidden(
        &member,
        &["network", "create", "--provider-network-type", "flat", "--provider-physical-network", "x", "flatnet"],
    );
    assert!(!names(&member.json(&["network", "list"])).contains(&"flatnet".to_string()));
    // Listing users is not a project member's (Keystone's identity:list_users).
    forbidden(&member, &["user", "list"]);
    assert!(names(&admin.json(&["user", "list"])).contains(&"m-member".to_string()));

    member.ok(&["volume", "snapshot", "delete", "msnap"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !member.json(&["volume", "snapshot", "list"]).as_array().is_some_and(Vec::is_empty) {
        assert!(Instant::now() < deadline, "the snapshot was not deleted");
        std::thread::sleep(Duration::from_millis(300));
    }
    member.ok(&["volume", "delete", "membervol"]);
}
