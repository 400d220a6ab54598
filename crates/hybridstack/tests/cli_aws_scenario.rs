//! End-to-end on an AWS cloud alone (the moto server, a real AWS API endpoint emulator),
//! driven by the unmodified `openstack` CLI, each step checked in EC2 with boto3:
//! - a network pinned to the cloud (`--availability-zone-hint`) refuses subnets AWS cannot
//!   host with a 400;
//! - networks and subnets become VPCs, a router with an external gateway and two networks
//!   becomes an internet gateway and default route for each, a security group with TCP,
//!   ICMP, IPv6 and remote-group rules becomes an AWS group with those permissions;
//! - a key pair, servers on both networks (each instance at its port's address), a floating
//!   IP as an Elastic IP on the port, resize plus confirm, a snapshot that is an AMI, a
//!   volume attached on a device slot;
//! - a local image copied to the cloud with Glance's copy-image (EBS direct APIs, then
//!   RegisterImage) boots a server there, and a local image never copied is copied at boot;
//! - an image deleted while its copy is being made leaves no AMI;
//! - after deleting everything, moto holds nothing carrying the cloud's tag.
//!
//! Needs the test venv with moto (scripts/install-test-deps).

mod support;

use hybridstack_driver_aws::test_support::start_moto;
use serde_json::Value;
use support::aws::{add_cloud, boto3, wait_nothing_left};
use support::cli::{cmd, field, Cli};
use support::wait_for;

const CLOUD: &str = "aws-only";
const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHd6oBEIpamKyF9h7X+d1QhQKxHrzDnSIc8mvAYUpEro e2e";

fn status_is(cli: &Cli, kind: &str, name: &str, want: &str) -> Value {
    wait_for(&format!("{kind} {name} to be {want}"), 120, || {
        let shown = cli.json(&[kind, "show", name]);
        let status = field(&shown, "status").to_string();
        assert!(!status.eq_ignore_ascii_case("error"), "{kind} {name} went to error: {shown}");
        (status == want).then_some(shown)
    })
}

/// One EC2 object as boto3 describes it, as JSON.
fn describe(moto: &str, call: &str, key: &str, filter: &str, value: &str) -> Vec<Value> {
    let out = boto3(
        moto,
        &format!(
            "r = ec2.{call}(Filters=[{{'Name': '{filter}', 'Values': ['{value}']}}])\nprint(json.dumps(r['{key}'], default=str))"
        ),
    );
    serde_json::from_str::<Vec<Value>>(&out).expect("json")
}

#[test]
fn an_aws_cloud_alone_through_the_openstack_cli() {
    let moto = start_moto();
    let server = support::start_with(&[("HYBRIDSTACK_RECONCILE_INTERVAL_SECS", "2")]);
    let image = add_cloud(&server, "scenario-secret", CLOUD, &moto.url, &[]);
    let admin = Cli::password(&server.url, "admin", support::ADMIN_PASSWORD, "admin");

    // A network meant for the AWS cloud takes only subnets a VPC can host: the others are
    // 400s with the reason, at subnet create.
    admin.ok(&["network", "create", "--availability-zone-hint", CLOUD, "pinned"]);
    for (version, range, why) in [("4", "10.9.0.0/29", "/16 to /28"), ("6", "2001:db8:5::/64", "IPv6")] {
        let refused =
            admin.run(&cmd!("subnet create --network pinned --ip-version {version} --subnet-range {range} bad"));
        let err = String::from_utf8_lossy(&refused.stderr).to_string();
        assert!(!refused.status.success() && err.contains("400") && err.contains(why), "{range}: {err}");
    }
    admin.ok(&["subnet", "create", "--network", "pinned", "--subnet-range", "10.9.0.0/24", "pinned-v4"]);
    let unknown = admin.run(&["network", "create", "--availability-zone-hint", "nowhere", "lost"]);
    assert!(!unknown.status.success() && String::from_utf8_lossy(&unknown.stderr).contains("404"), "{unknown:?}");
    admin.ok(&["network", "delete", "pinned"]);

    // The external network, and two tenant networks on one router.
    admin.ok(&["network", "create", "--external", "public"]);
    admin.ok(&cmd!("subnet create --network public --subnet-range 203.0.113.0/24 --no-dhcp public-v4"));
    admin.ok(&["network", "create", "blue"]);
    admin.ok(&["subnet", "create", "--network", "blue", "--subnet-range", "10.40.0.0/24", "blue-v4"]);
    admin.ok(&["network", "create", "green"]);
    admin.ok(&["subnet", "create", "--network", "green", "--subnet-range", "10.50.0.0/28", "green-v4"]);
    admin.ok(&["router", "create", "edge"]);
    admin.ok(&["router", "set", "--external-gateway", "public", "edge"]);
    admin.ok(&["router", "add", "subnet", "edge", "blue-v4"]);
    admin.ok(&["router", "add", "subnet", "edge", "green-v4"]);

    // A security group with every kind of rule.
    let web = admin.json(&["security", "group", "create", "web"]);
    let web_id = field(&web, "id").to_string();
    let default_id = field(&admin.json(&["security", "group", "show", "default"]), "id").to_string();
    admin.ok(&["security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", "web"]);
    admin.ok(&cmd!("security group rule create --protocol icmp --icmp-type 8 --icmp-code 0 web"));
    admin.ok(&cmd!(
        "security group rule create --ethertype IPv6 --protocol tcp --dst-port 443 --remote-ip 2001:db8::/32 web"
    ));
    admin.ok(&cmd!("security group rule create --protocol udp --dst-port 53 --remote-group default web"));

    let dir = tempfile::tempdir().expect("tmp");
    let key_file = dir.path().join("k1.pub");
    std::fs::write(&key_file, KEY).expect("key");
    admin.ok(&["keypair", "create", "--public-key", key_file.to_str().expect("path"), "k1"]);
    let blue = admin.json(&cmd!("server create --image {image} --flavor t3.micro --network blue --security-group web --key-name k1 --wait vm-blue"));
    assert_eq!(field(&blue, "status"), "ACTIVE", "{blue}");
    let green = admin.json(&cmd!("server create --image {image} --flavor t3.micro --network green --wait vm-green"));
    assert_eq!(field(&green, "OS-EXT-AZ:availability_zone"), CLOUD, "{green}");
    let blue_id = field(&blue, "id").to_string();
    let port = &admin.json(&["port", "list", "--server", &blue_id])[0];
    let fixed = port["Fixed IP Addresses"][0]["ip_address"].as_str().expect("fixed ip").to_string();
    let bound = admin.json(&["port", "show", port["ID"].as_str().expect("an id")]);
    assert_eq!(bound["binding_vif_type"], "other", "{bound}");
    assert_eq!(bound["binding_vif_details"]["port_filter"], true, "{bound}");
    let instance =
        &describe(&moto.url, "describe_instances", "Reservations", "tag:hybridstack:id", &blue_id)[0]["Instances"][0];
    assert_eq!(instance["PrivateIpAddress"], Value::from(fixed.as_str()), "{instance}");
    assert_eq!(instance["KeyName"].as_str().map(|k| k.starts_with("hybridstack-")), Some(true), "{instance}");

    // The group on AWS: each rule, IPv6 and the remote group included.
    let groups = describe(&moto.url, "describe_security_groups", "SecurityGroups", "tag:hybridstack:id", &web_id);
    let perms = groups[0]["IpPermissions"].to_string();
    for want in ["\"FromPort\":22", "\"FromPort\":8", "2001:db8::/32", "\"FromPort\":53"] {
        assert!(perms.contains(want), "{want} missing from {perms}");
    }
    let default_sg =
        describe(&moto.url, "describe_security_groups", "SecurityGroups", "tag:hybridstack:id", &default_id);
    let default_aws = default_sg[0]["GroupId"].as_str().expect("default group").to_string();
    assert!(perms.contains(&default_aws), "the remote group is not a source group: {perms}");

    // The router: one internet gateway per network, each attached to its VPC.
    let router_id = field(&admin.json(&["router", "show", "edge"]), "id").to_string();
    let igws = wait_for("the router's gateways", 120, || {
        let g = describe(&moto.url, "describe_internet_gateways", "InternetGateways", "tag:hybridstack:id", &router_id);
        (g.len() == 2 && g.iter().all(|x| x["Attachments"].as_array().is_some_and(|a| !a.is_empty())))
            .then(|| Value::from(g))
    });
    assert_eq!(igws.as_array().map(Vec::len), Some(2));

    // A floating IP: an Elastic IP on the port's address.
    let fip = admin.json(&["floating", "ip", "create", "public"]);
    let fip_id = field(&fip, "id").to_string();
    admin.ok(&["server", "add", "floating", "ip", "vm-blue", field(&fip, "floating_ip_address")]);
    wait_for("the Elastic IP", 120, || {
        let a = describe(&moto.url, "describe_addresses", "Addresses", "tag:hybridstack:id", &fip_id);
        a.first().filter(|a| a["PrivateIpAddress"] == fixed.as_str()).cloned()
    });

    // Resize plus confirm.
    admin.ok(&["server", "resize", "--flavor", "t3.small", "--wait", "vm-blue"]);
    status_is(&admin, "server", "vm-blue", "VERIFY_RESIZE");
    admin.ok(&["server", "resize", "confirm", "vm-blue"]);
    status_is(&admin, "server", "vm-blue", "ACTIVE");
    let instance =
        &describe(&moto.url, "describe_instances", "Reservations", "tag:hybridstack:id", &blue_id)[0]["Instances"][0];
    assert_eq!(instance["InstanceType"], Value::from("t3.small"));

    // A snapshot: an AMI in moto, a Glance image with its location.
    admin.ok(&["server", "image", "create", "--name", "blue-snap", "--wait", "vm-blue"]);
    let snap = status_is(&admin, "image", "blue-snap", "active");
    let snap_id = field(&snap, "id").to_string();
    let amis = boto3(
        &moto.url,
        &format!("print(json.dumps([i['ImageId'] for i in ec2.describe_images(Owners=['self'], Filters=[{{'Name': 'tag:hybridstack:id', 'Values': ['{snap_id}']}}])['Images']]))"),
    );
    let ami: Vec<String> = serde_json::from_str(&amis).expect("json");
    assert_eq!(ami.len(), 1, "{amis}");
    assert!(snap["properties"].to_string().contains(&ami[0]), "{snap}");

    // A volume attached on a device slot.
    admin.ok(&["volume", "create", "--size", "1", "--availability-zone", CLOUD, "data"]);
    let vol = status_is(&admin, "volume", "data", "available");
    admin.ok(&["server", "add", "volume", "vm-blue", "data"]);
    status_is(&admin, "volume", "data", "in-use");
    let ebs = describe(&moto.url, "describe_volumes", "Volumes", "tag:hybridstack:id", field(&vol, "id"));
    assert_eq!(ebs[0]["Attachments"][0]["InstanceId"], instance["InstanceId"], "{ebs:?}");
    // Swap volume: refused at once, as Nova refuses a swap block storage did not ask for;
    // the volume stays attached (Omni detached, slept 60 s and attached).
    let spare = admin.json(&["volume", "create", "--size", "1", "--availability-zone", CLOUD, "spare"]);
    status_is(&admin, "volume", "spare", "available");
    let (code, body) = admin.api(
        "PUT",
        "compute",
        &format!("/servers/{blue_id}/os-volume_attachments/{}", field(&vol, "id")),
        Some(&serde_json::json!({"volumeAttachment": {"volumeId": field(&spare, "id")}})),
    );
    assert_eq!(code, 409, "{body}");
    assert_eq!(field(&admin.json(&["volume", "show", "data"]), "status"), "in-use");
    assert_eq!(field(&admin.json(&["volume", "show", "spare"]), "status"), "available");
    admin.ok(&["volume", "delete", "spare"]);

    // A local image copied into the cloud boots there.
    let raw = dir.path().join("tiny.raw");
    let mut data = vec![0u8; 1 << 20];
    data[..4].copy_from_slice(b"tiny");
    std::fs::write(&raw, &data).expect("write");
    let path = raw.to_str().expect("path");
    let upload = |name: &str| {
        let args = ["--disk-format", "raw", "--container-format", "bare", "--file", path, name];
        admin.json(&[&["image", "create"][..], &args].concat())
    };
    let local = upload("tiny");
    // The image first: `--store` takes every word after it.
    admin.ok(&["image", "import", "tiny", "--method", "copy-image", "--store", CLOUD]);
    wait_for("the copy to the AWS store", 120, || {
        let shown = admin.json(&["image", "show", "tiny"]);
        shown["properties"].to_string().contains(&format!("hybridstack:location:{CLOUD}")).then_some(shown)
    });
    let boot_on_green = |image: &serde_json::Value, name: &str| {
        let args = ["server", "create", "--image", field(image, "id"), "--flavor", "t3.micro"];
        admin.json(&[&args[..], &["--network", "green", "--wait", name]].concat())
    };
    let from_copy = boot_on_green(&local, "vm-copied");
    assert_eq!(field(&from_copy, "OS-EXT-AZ:availability_zone"), CLOUD, "{from_copy}");
    // A local image never copied: the boot copies it in first.
    let second = upload("tiny2");
    let booted = boot_on_green(&second, "vm-booted");
    assert_eq!(field(&booted, "status"), "ACTIVE", "{booted}");
    let copied = admin.json(&["image", "show", "tiny2"]);
    assert!(copied["properties"].to_string().contains(&format!("hybridstack:location:{CLOUD}")), "{copied}");

    // An image deleted while its copy into the cloud is being made: whichever gets there
    // first, the copy (which then finds its image gone and removes what it made) or the
    // delete's purge (which finds the copy by the image's tag), no AMI of it is left; the
    // check is the final one below, long after the copy has run.
    upload("tiny3");
    admin.ok(&["image", "import", "tiny3", "--method", "copy-image", "--store", CLOUD]);
    admin.ok(&["image", "delete", "tiny3"]);

    // Everything goes, and nothing of ours is left in moto.
    admin.ok(&["server", "remove", "volume", "vm-blue", "data"]);
    status_is(&admin, "volume", "data", "available");
    admin.ok(&["volume", "delete", "data"]);
    admin.ok(&["floating", "ip", "delete", &fip_id]);
    let deleted = admin.run(&["server", "delete", "--wait", "vm-blue", "vm-green", "vm-copied", "vm-booted"]);
    if !deleted.status.success() {
        let log = std::fs::read_to_string(server.data.path().join("serve.log")).unwrap_or_default();
        let warnings: Vec<&str> = log.lines().filter(|l| l.contains("WARN") || l.contains("ERROR")).collect();
        panic!(
            "server delete failed: {}\n{}\nserver log warnings:\n{}",
            String::from_utf8_lossy(&deleted.stderr),
            admin.ok(&["server", "list", "--long"]),
            warnings[warnings.len().saturating_sub(30)..].join("\n")
        );
    }
    admin.ok(&["image", "delete", "blue-snap", "tiny", "tiny2"]);
    admin.ok(&["router", "remove", "subnet", "edge", "blue-v4"]);
    admin.ok(&["router", "remove", "subnet", "edge", "green-v4"]);
    admin.ok(&["router", "delete", "edge"]);
    admin.ok(&["security", "group", "delete", "web"]);
    admin.ok(&["network", "delete", "blue", "green"]);
    wait_nothing_left(&moto.url, CLOUD);
}
