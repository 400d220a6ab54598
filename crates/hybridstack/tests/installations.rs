//! End-to-end: several installations of hybridstack on one backend, each with a cloud of the
//! same name, reconciling eagerly (1-second orphan grace, 1-second passes), never touch each
//! other's objects (issue: a second installation on the same host destroyed the first one's
//! servers, because ownership was marked by the cloud's name only).
//!
//! - libvirt: two installations on one libvirtd, each with a cloud named `local`, boot a
//!   server with a network, a router, a floating IP and a volume. After several reconcile
//!   passes every server is ACTIVE and untouched; deleting everything in one leaves the
//!   other's objects whole. Then an installation is removed (its serve stopped, its data dir
//!   deleted, a guest and its pool left behind) and a new one registers `local` and boots a
//!   server, leaving the removed one's guest alone and reporting it with `cloud list --foreign`.
//! - AWS: the same with two installations on one moto server, each with a cloud named `aws`
//!   in one region, plus the upgrade path: an instance whose installation tag is taken away
//!   (as a release before installation ids tagged it) is adopted again by the installation
//!   whose store has its row, and left alone by the other.
//!
//! Needs root, libvirtd, nftables, the test guest and the test venv with moto
//! (scripts/install-test-deps).

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use hybridstack_driver_aws::test_support::start_moto;
use serde_json::Value;
use support::cli::{cmd, field, Cli};
use support::guest::{virsh, Leftovers};
use support::Server;

const ENV: [(&str, &str); 4] = [
    ("HYBRIDSTACK_SHUTDOWN_TIMEOUT_SECS", "5"),
    ("HYBRIDSTACK_RECONCILE_INTERVAL_SECS", "1"),
    ("HYBRIDSTACK_ORPHAN_GRACE_SECS", "1"),
    ("RUST_LOG", "info,sqlx=warn,hybridstack_engine::reconciler=debug"),
];

fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out after {secs}s waiting for {what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn passes(server: &Server) -> usize {
    std::fs::read_to_string(server.data.path().join("serve.log"))
        .unwrap_or_default()
        .matches("reconcile pass done")
        .count()
}

/// Waits until each server's reconciler has finished `n` more passes than now.
fn reconcile_passes(servers: &[&Server], n: usize) {
    let start: Vec<usize> = servers.iter().map(|s| passes(s)).collect();
    wait_for(&format!("{n} reconcile passes"), 120, || servers.iter().zip(&start).all(|(s, b)| passes(s) >= b + n));
}

fn status(cli: &Cli, kind: &[&str], name: &str) -> String {
    let mut args = kind.to_vec();
    args.extend(["show", name]);
    field(&cli.json(&args), "status").to_string()
}

fn wait_status(cli: &Cli, kind: &[&str], name: &str, want: &str) {
    wait_for(&format!("{kind:?} {name} to be {want}"), 120, || {
        let s = status(cli, kind, name);
        assert!(!s.eq_ignore_ascii_case("error"), "{kind:?} {name} went to error");
        s == want
    });
}

fn cloud_cmd(server: &Server, args: &[&str]) -> String {
    let out = Command::new(support::binary())
        .args(["cloud", "--data-dir"])
        .arg(server.data.path())
        .args(args)
        .env("AWS_SECRET_ACCESS_KEY", "installations-secret")
        .output()
        .expect("run hybridstack cloud");
    assert!(out.status.success(), "cloud {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What one installation made on the libvirt cloud, to check it is all still there.
struct Made {
    server_id: String,
    network_id: String,
    external_id: String,
    router_id: String,
    fip_id: String,
    volume: String,
}

/// Boots a server on a network behind a router with a floating IP, with a volume attached.
fn make_on_libvirt(cli: &Cli, leftovers: &Leftovers, tenant: &str, outside: &str) -> Made {
    support::guest::upload_test_guest(cli, "guest");
    cli.json(&["flavor", "create", "--id", "t1", "--vcpus", "1", "--ram", "128", "--disk", "1", "tiny"]);
    let ext = cli.json(&["network", "create", "--external", "outside"]);
    let network = cli.json(&["network", "create", "inside"]);
    leftovers.networks.borrow_mut().extend([field(&ext, "id").to_string(), field(&network, "id").to_string()]);
    cli.ok(&cmd!("subnet create --network outside --subnet-range {outside}.0/24 --no-dhcp outside-v4"));
    cli.ok(&["subnet", "create", "--network", "inside", "--subnet-range", &format!("{tenant}.0/24"), "inside-v4"]);
    let router = cli.json(&["router", "create", "edge"]);
    cli.ok(&["router", "set", "--external-gateway", "outside", "edge"]);
    cli.ok(&["router", "add", "subnet", "edge", "inside-v4"]);
    let vm =
        cli.json(&["server", "create", "--image", "guest", "--flavor", "tiny", "--network", "inside", "--wait", "vm"]);
    assert_eq!(field(&vm, "status"), "ACTIVE", "{vm}");
    let server_id = field(&vm, "id").to_string();
    let port = cli.json(&["port", "list", "--server", &server_id]);
    let fip = cli.json(&["floating", "ip", "create", "outside"]);
    cli.ok(&["floating", "ip", "set", "--port", field(&port[0], "ID"), field(&fip, "floating_ip_address")]);
    cli.json(&["volume", "create", "--size", "1", "data"]);
    wait_status(cli, &["volume"], "data", "available");
    cli.ok(&["server", "add", "volume", "vm", "data"]);
    wait_status(cli, &["volume"], "data", "in-use");
    Made {
        server_id,
        network_id: field(&network, "id").to_string(),
        external_id: field(&ext, "id").to_string(),
        router_id: field(&router, "id").to_string(),
        fip_id: field(&fip, "id").to_string(),
        volume: "data".into(),
    }
}

/// Everything `m` stands for is in place, in the API and on the host.
fn intact(cli: &Cli, m: &Made, who: &str) {
    assert_eq!(status(cli, &["server"], "vm"), "ACTIVE", "{who}'s server");
    assert_eq!(status(cli, &["volume"], &m.volume), "in-use", "{who}'s volume");
    let state = virsh(&["domstate", &format!("hs-{}", m.server_id)]);
    assert_eq!(state.trim(), "running", "{who}'s guest");
    let nets = virsh(&["net-list", "--name"]);
    assert!(nets.contains(&m.network_id) && nets.contains(&m.external_id), "{who}'s networks: {nets}");
    let xml = virsh(&["dumpxml", &format!("hs-{}", m.server_id)]);
    let filter = xml.split("filter='").nth(1).and_then(|r| r.split('\'').next()).unwrap_or_default().to_string();
    assert!(!filter.is_empty() && virsh(&["nwfilter-list"]).contains(&filter), "{who}'s port filter");
    let tables =
        String::from_utf8_lossy(&Command::new("nft").args(["list", "tables", "ip"]).output().expect("nft").stdout)
            .into_owned();
    for id in [&m.router_id, &m.fip_id] {
        assert!(tables.contains(&id.replace('-', "")), "{who}'s NAT table of {id}: {tables}");
    }
}

#[test]
fn installations_on_one_libvirtd_never_touch_each_other() {
    let a = support::start_with(&ENV);
    let b = support::start_with(&ENV);
    let (left_a, left_b) = (Leftovers::new(&a, "local"), Leftovers::new(&b, "local"));
    assert_ne!(left_a.installation_tag, left_b.installation_tag);
    support::guest::add_libvirt_cloud(&a, "local");
    support::guest::add_libvirt_cloud(&b, "local");
    assert_ne!(left_a.pool, left_b.pool, "each installation has a pool of its own");
    let cli_a = Cli::password(&a.url, "admin", support::ADMIN_PASSWORD, "admin");
    let cli_b = Cli::password(&b.url, "admin", support::ADMIN_PASSWORD, "admin");
    let made_a = make_on_libvirt(&cli_a, &left_a, "10.81.1", "172.30.81");
    let made_b = make_on_libvirt(&cli_b, &left_b, "10.81.2", "172.30.82");

    // Both reconcile eagerly over each other's objects; nothing of either changes.
    reconcile_passes(&[&a, &b], 5);
    intact(&cli_a, &made_a, "A");
    intact(&cli_b, &made_b, "B");
    // Each reports the other's objects as another installation's, read only.
    let foreign = cloud_cmd(&a, &["list", "--foreign"]);
    let b_id = support::guest::installation(&b);
    assert!(
        foreign.lines().any(|l| l.contains(&made_b.server_id) && l.contains(&b_id) && l.contains("\tserver\t")),
        "{foreign}"
    );

    // A deletes everything it has; B's objects stay whole.
    cli_a.ok(&["server", "remove", "volume", "vm", "data"]);
    wait_status(&cli_a, &["volume"], "data", "available");
    cli_a.ok(&["server", "delete", "--wait", "vm"]);
    cli_a.ok(&["volume", "delete", "data"]);
    cli_a.ok(&["floating", "ip", "delete", &made_a.fip_id]);
    cli_a.ok(&["router", "remove", "subnet", "edge", "inside-v4"]);
    cli_a.ok(&["router", "delete", "edge"]);
    cli_a.ok(&["network", "delete", "inside", "outside"]);
    wait_for("A's network to leave the host", 60, || {
        !virsh(&["net-list", "--all", "--name"]).contains(&made_a.network_id)
    });
    reconcile_passes(&[&a, &b], 3);
    intact(&cli_b, &made_b, "B");

    // A goes (its serve stopped, its data dir deleted) with one guest of it left running; a new
    // installation registers `local` again and boots. It leaves A's guest alone.
    cli_a.json(&["server", "create", "--image", "guest", "--flavor", "tiny", "--no-network", "--wait", "stays"]);
    let stays = field(&cli_a.json(&["server", "show", "stays"]), "id").to_string();
    let a_path = a.data.path().to_path_buf();
    drop(cli_a);
    // Dropping the server kills its serve and deletes its data dir (a temporary directory).
    drop(a);
    assert!(!a_path.exists(), "A's data dir is gone");
    let c = support::start_with(&ENV);
    let left_c = Leftovers::new(&c, "local");
    support::guest::add_libvirt_cloud(&c, "local");
    let cli_c = Cli::password(&c.url, "admin", support::ADMIN_PASSWORD, "admin");
    support::guest::upload_test_guest(&cli_c, "guest");
    cli_c.json(&["flavor", "create", "--id", "t1", "--vcpus", "1", "--ram", "128", "--disk", "1", "tiny"]);
    let vm = cli_c.json(&["server", "create", "--image", "guest", "--flavor", "tiny", "--no-network", "--wait", "vm"]);
    assert_eq!(field(&vm, "status"), "ACTIVE", "{vm}");
    reconcile_passes(&[&b, &c], 3);
    assert_eq!(virsh(&["domstate", &format!("hs-{stays}")]).trim(), "running", "the removed installation's guest");
    intact(&cli_b, &made_b, "B");
    let foreign = cloud_cmd(&c, &["list", "--foreign"]);
    assert!(foreign.lines().any(|l| l.contains(&stays)), "{foreign}");
    assert!(foreign.lines().any(|l| l.contains("\tpool\t") && l.contains(&left_a.pool)), "{foreign}");

    // B and C clean up after themselves; the removed one's guest goes with its leftovers.
    cli_c.ok(&["server", "delete", "--wait", "vm"]);
    cli_b.ok(&["server", "remove", "volume", "vm", "data"]);
    wait_status(&cli_b, &["volume"], "data", "available");
    cli_b.ok(&["server", "delete", "--wait", "vm"]);
    cli_b.ok(&["volume", "delete", "data"]);
    drop((left_c, left_b, left_a));
}

/// The tags moto holds on an instance.
fn instance_tags(moto: &str, instance: &str) -> Value {
    let out = support::aws::boto3(
        moto,
        &format!(
            "r = ec2.describe_instances(InstanceIds=['{instance}'])['Reservations'][0]['Instances'][0]\n\
             print(json.dumps({{'state': r['State']['Name'], 'tags': {{t['Key']: t['Value'] for t in r.get('Tags', [])}}}}))"
        ),
    );
    serde_json::from_str(&out).expect("json")
}

fn instance_of(moto: &str, server_id: &str) -> String {
    let out = support::aws::boto3(
        moto,
        &format!(
            "r = ec2.describe_instances(Filters=[{{'Name': 'tag:hybridstack:id', 'Values': ['{server_id}']}}, \
             {{'Name': 'instance-state-name', 'Values': ['running']}}])['Reservations']\n\
             print(r[0]['Instances'][0]['InstanceId'])"
        ),
    );
    out.trim().to_string()
}

fn make_on_aws(server: &Server, moto: &str, tenant: &str) -> (Cli, String) {
    let image = support::aws::add_cloud(server, "installations-secret", "aws", moto, &[]);
    let cli = Cli::password(&server.url, "admin", support::ADMIN_PASSWORD, "admin");
    cli.ok(&["network", "create", "--external", "public"]);
    cli.ok(&["subnet", "create", "--network", "public", "--subnet-range", "203.0.113.0/24", "--no-dhcp", "public-v4"]);
    cli.ok(&["network", "create", "inside"]);
    cli.ok(&["subnet", "create", "--network", "inside", "--subnet-range", &format!("{tenant}.0/24"), "inside-v4"]);
    cli.ok(&["router", "create", "edge"]);
    cli.ok(&["router", "set", "--external-gateway", "public", "edge"]);
    cli.ok(&["router", "add", "subnet", "edge", "inside-v4"]);
    let vm = cli.json(&cmd!("server create --image {image} --flavor t3.micro --network inside --wait vm"));
    assert_eq!(field(&vm, "status"), "ACTIVE", "{vm}");
    let id = field(&vm, "id").to_string();
    let port = cli.json(&["port", "list", "--server", &id]);
    let fip = cli.json(&["floating", "ip", "create", "public"]);
    cli.ok(&["floating", "ip", "set", "--port", field(&port[0], "ID"), field(&fip, "floating_ip_address")]);
    cli.json(&["volume", "create", "--size", "1", "data"]);
    wait_status(&cli, &["volume"], "data", "available");
    cli.ok(&["server", "add", "volume", "vm", "data"]);
    wait_status(&cli, &["volume"], "data", "in-use");
    (cli, id)
}

fn aws_intact(cli: &Cli, moto: &str, server_id: &str, who: &str) {
    assert_eq!(status(cli, &["server"], "vm"), "ACTIVE", "{who}'s server");
    assert_eq!(status(cli, &["volume"], "data"), "in-use", "{who}'s volume");
    let i = instance_of(moto, server_id);
    assert_eq!(instance_tags(moto, &i)["state"], "running", "{who}'s instance");
}

#[test]
fn installations_on_one_aws_account_never_touch_each_other() {
    let moto = start_moto();
    let mut a = support::start_with(&ENV);
    let b = support::start_with(&ENV);
    let (cli_a, vm_a) = make_on_aws(&a, &moto.url, "10.82.1");
    let (cli_b, vm_b) = make_on_aws(&b, &moto.url, "10.82.2");
    reconcile_passes(&[&a, &b], 5);
    aws_intact(&cli_a, &moto.url, &vm_a, "A");
    aws_intact(&cli_b, &moto.url, &vm_b, "B");
    let a_id = support::guest::installation(&a);
    let instance_a = instance_of(&moto.url, &vm_a);
    assert_eq!(instance_tags(&moto.url, &instance_a)["tags"]["hybridstack:installation"], a_id.as_str());
    let foreign = cloud_cmd(&b, &["list", "--foreign"]);
    assert!(foreign.lines().any(|l| l.contains(&instance_a) && l.contains(&a_id)), "{foreign}");

    // The upgrade path: while A is stopped, its instance loses its installation tag, as a
    // release before installation ids tagged it; then A starts again. B (no row for it) leaves
    // it; A (its row) adopts it.
    a.stop();
    support::aws::boto3(
        &moto.url,
        &format!("ec2.delete_tags(Resources=['{instance_a}'], Tags=[{{'Key': 'hybridstack:installation'}}])"),
    );
    reconcile_passes(&[&b], 2);
    let legacy = cloud_cmd(&b, &["list", "--foreign"]);
    assert!(
        legacy.lines().any(|l| l.contains(&instance_a) && l.contains("no installation (legacy), cloud aws")),
        "B reports the instance as one from before installation ids: {legacy}"
    );
    a.restart();
    wait_for("A to adopt its instance again", 60, || {
        instance_tags(&moto.url, &instance_a)["tags"]["hybridstack:installation"] == a_id.as_str()
    });
    let b_log = std::fs::read_to_string(b.data.path().join("serve.log")).unwrap_or_default();
    let a_log = std::fs::read_to_string(a.data.path().join("serve.log")).unwrap_or_default();
    assert!(a_log.contains("adopted an object made before installation ids"), "A adopted it");
    assert!(!b_log.contains("adopted an object"), "B adopted nothing");
    reconcile_passes(&[&a, &b], 3);
    aws_intact(&cli_a, &moto.url, &vm_a, "A");

    // A deletes everything it has; B's objects stay whole, and nothing of A's is left.
    cli_a.ok(&["server", "remove", "volume", "vm", "data"]);
    wait_status(&cli_a, &["volume"], "data", "available");
    cli_a.ok(&["server", "delete", "--wait", "vm"]);
    cli_a.ok(&["volume", "delete", "data"]);
    for f in cli_a.json(&["floating", "ip", "list"]).as_array().cloned().unwrap_or_default() {
        cli_a.ok(&["floating", "ip", "delete", field(&f, "ID")]);
    }
    cli_a.ok(&["router", "remove", "subnet", "edge", "inside-v4"]);
    cli_a.ok(&["router", "delete", "edge"]);
    cli_a.ok(&["network", "delete", "inside", "public"]);
    let a_left = || {
        support::aws::boto3(
            &moto.url,
            &format!(
                "f = [{{'Name': 'tag:hybridstack:installation', 'Values': ['{a_id}']}}]\n\
                 n = sum(1 for r in ec2.describe_instances(Filters=f)['Reservations'] for i in r['Instances'] \
                 if i['State']['Name'] != 'terminated')\n\
                 n += len(ec2.describe_vpcs(Filters=f)['Vpcs']) + len(ec2.describe_addresses(Filters=f)['Addresses'])\n\
                 n += len([v for v in ec2.describe_volumes(Filters=f)['Volumes'] if v['State'] != 'deleted'])\n\
                 print(n)"
            ),
        )
        .trim()
        .to_string()
    };
    wait_for("A's objects to leave moto", 120, || a_left() == "0");
    reconcile_passes(&[&a, &b], 3);
    aws_intact(&cli_b, &moto.url, &vm_b, "B");
    cli_b.ok(&["server", "remove", "volume", "vm", "data"]);
    wait_status(&cli_b, &["volume"], "data", "available");
    cli_b.ok(&["server", "delete", "--wait", "vm"]);
}
