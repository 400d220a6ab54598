//! End-to-end: an AWS region (the moto server, a real AWS API endpoint emulator) as a cloud
//! beside a KVM cloud (real libvirtd), driven by the unmodified `openstack` CLI. The AWS
//! cloud is registered with an access key whose secret is sealed in the store; flavors are
//! made from its instance types and an AMI is imported as a Glance image; a server boots, stops, starts, resizes (stop,
//! ModifyInstanceAttribute, start) and is confirmed, is rebuilt, shows its console, refuses a pause with
//! the reason; the reconciler sees it stopped out of band and terminates a tagged orphan;
//! a server on the KVM cloud runs beside it in the same project, and
//! `openstack server list` shows both with their zones; after the deletes, moto holds no
//! live instance carrying our tag.
//!
//! The servers here have no network (VPC networking, volumes and images on AWS are in
//! cli_aws_scenario.rs). Needs libvirtd, the test guest and the test venv with moto (scripts/install-test-deps).

mod support;

use std::time::{Duration, Instant};

use hybridstack_driver_aws::test_support::start_moto;
use serde_json::Value;
use support::aws::{boto3, cloud_cmd, ec2_instances};
use support::cli::{cmd, field, Cli};

const AMI: &str = "ami-760aaa0f";
const SECRET: &str = "e2e-aws-secret-never-stored-in-clear";

#[test]
fn an_aws_cloud_beside_a_kvm_cloud_through_the_openstack_cli() {
    let moto = start_moto();
    let server = support::start_reconciling();
    let kvm = format!("kvm-{}", std::process::id());
    let _leftovers = support::guest::Leftovers::new(&server, &kvm);
    support::guest::add_libvirt_cloud(&server, &kvm);
    let cloud_cmd = |args: &[&str]| cloud_cmd(&server, SECRET, args);
    cloud_cmd(&[
        "add",
        "aws",
        "--name",
        "aws-e2e",
        "--region",
        "us-east-1",
        "--endpoint-url",
        &moto.url,
        "--access-key-id",
        "AKIAHYBRIDSTACKE2E01",
        "--vcpu-limit",
        "32",
    ]);
    // The secret is sealed: it is in no file of the data dir (database, WAL, logs).
    for entry in std::fs::read_dir(server.data.path()).expect("data dir").flatten() {
        if entry.path().is_file() {
            let bytes = std::fs::read(entry.path()).expect("read");
            assert!(
                !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                "the secret access key is in clear in {}",
                entry.path().display()
            );
        }
    }
    let imported = cloud_cmd(&["import-images", "--cloud", "aws-e2e", AMI]);
    let image = imported.split('\t').next().expect("an image id").to_string();

    let admin = Cli::password(&server.url, "admin", support::ADMIN_PASSWORD, "admin");
    let shown = admin.json(&["image", "show", &image]);
    assert_eq!(field(&shown, "status"), "active", "{shown}");
    assert!(shown["properties"].to_string().contains(AMI), "{shown}");
    // Flavors from the region's instance types, with their real sizes; a second sync keeps them.
    let synced = cloud_cmd(&["sync-flavors", "--cloud", "aws-e2e", "--family", "t3"]);
    assert!(synced.starts_with("7 flavor(s) created"), "{synced}");
    assert!(cloud_cmd(&["sync-flavors", "--cloud", "aws-e2e", "--family", "t3"]).starts_with("0 flavor(s) created"));
    let micro = admin.json(&["flavor", "show", "t3.micro"]);
    assert_eq!((micro["vcpus"].clone(), micro["ram"].clone()), (Value::from(2), Value::from(1024)), "{micro}");

    let vm = admin.json(&cmd!("server create --image {image} --flavor t3.micro --no-network --wait on-aws"));
    assert_eq!(field(&vm, "status"), "ACTIVE", "{vm}");
    assert_eq!(field(&vm, "OS-EXT-AZ:availability_zone"), "aws-e2e", "{vm}");
    let id = field(&vm, "id").to_string();
    let mine = |state: &str, ty: &str| ec2_instances(&moto.url).contains(&(id.clone(), state.into(), ty.into()));
    assert!(mine("running", "t3.micro"), "{:?}", ec2_instances(&moto.url));

    admin.ok(&["server", "stop", "on-aws"]);
    admin.wait_status("server", "on-aws", &["SHUTOFF"]);
    assert!(mine("stopped", "t3.micro"));
    admin.ok(&["server", "start", "on-aws"]);
    admin.wait_status("server", "on-aws", &["ACTIVE"]);

    admin.ok(&["server", "resize", "--flavor", "t3.small", "--wait", "on-aws"]);
    admin.wait_status("server", "on-aws", &["VERIFY_RESIZE"]);
    assert!(mine("running", "t3.small"), "{:?}", ec2_instances(&moto.url));
    admin.ok(&["server", "resize", "confirm", "on-aws"]);
    let resized = admin.wait_status("server", "on-aws", &["ACTIVE"]);
    assert!(resized["flavor"].to_string().contains("t3.small"), "{resized}");
    admin.ok(&["console", "log", "show", "on-aws"]);

    // The reconciler pages through EC2: an instance stopped behind our back shows SHUTOFF,
    // and a tagged instance of this cloud with no server behind it is terminated.
    let stop = format!(
        "r = ec2.describe_instances(Filters=[{{'Name': 'tag:hybridstack:id', 'Values': ['{id}']}}])\n\
         ec2.stop_instances(InstanceIds=[r['Reservations'][0]['Instances'][0]['InstanceId']])"
    );
    boto3(&moto.url, &stop);
    admin.wait_status("server", "on-aws", &["SHUTOFF"]);
    admin.ok(&["server", "start", "on-aws"]);
    admin.wait_status("server", "on-aws", &["ACTIVE"]);
    // An instance carrying this installation's and this cloud's tags that no row owns.
    let orphan = "00000000-0000-4000-8000-0000000000aa";
    let installation = support::guest::installation(&server);
    boto3(
        &moto.url,
        &format!(
            "ec2.run_instances(ImageId='{AMI}', InstanceType='t3.nano', MinCount=1, MaxCount=1, \
             TagSpecifications=[{{'ResourceType': 'instance', 'Tags': [{{'Key': 'hybridstack:id', 'Value': '{orphan}'}}, \
             {{'Key': 'hybridstack:cloud', 'Value': 'aws-e2e'}}, \
             {{'Key': 'hybridstack:installation', 'Value': '{installation}'}}]}}])"
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ec2_instances(&moto.url).contains(&(orphan.into(), "terminated".into(), "t3.nano".into())) {
        assert!(Instant::now() < deadline, "the orphan was not terminated: {:?}", ec2_instances(&moto.url));
        std::thread::sleep(Duration::from_millis(500));
    }
    // Rebuild: a new instance under the same server id; the old one is terminated.
    admin.ok(&["server", "rebuild", "--image", &image, "--wait", "on-aws"]);
    admin.wait_status("server", "on-aws", &["ACTIVE"]);
    let states: Vec<String> =
        ec2_instances(&moto.url).into_iter().filter(|(sid, ..)| *sid == id).map(|(_, st, _)| st).collect();
    let mut sorted = states.clone();
    sorted.sort();
    assert_eq!(sorted, vec!["running".to_string(), "terminated".to_string()], "{states:?}");
    let paused = admin.run(&["server", "pause", "on-aws"]);
    assert!(!paused.status.success(), "EC2 cannot pause");
    assert!(String::from_utf8_lossy(&paused.stderr).contains("not supported by cloud aws-e2e"), "{paused:?}");

    // The hybrid: one server on each cloud, in one project, one list.
    let guest = support::guest::upload_test_guest(&admin, "guest");
    admin.json(&["flavor", "create", "--vcpus", "1", "--ram", "192", "--disk", "1", "g.kvm"]);
    let local =
        admin.json(&["server", "create", "--image", &guest, "--flavor", "g.kvm", "--no-network", "--wait", "on-kvm"]);
    assert_eq!(field(&local, "OS-EXT-AZ:availability_zone"), kvm, "the guest image has no AMI, so KVM: {local}");
    let listed = admin.json(&["server", "list", "--long"]);
    let zone_of = |name: &str| {
        listed.as_array().and_then(|l| l.iter().find(|s| s["Name"] == name)).map(|s| s["Availability Zone"].clone())
    };
    assert_eq!(zone_of("on-aws"), Some(Value::from("aws-e2e")), "{listed}");
    assert_eq!(zone_of("on-kvm"), Some(Value::from(kvm.as_str())), "{listed}");

    admin.ok(&["server", "delete", "--wait", "on-aws", "on-kvm"]);
    let live: Vec<_> = ec2_instances(&moto.url).into_iter().filter(|(_, state, _)| state != "terminated").collect();
    assert!(live.is_empty(), "moto still runs instances of ours: {live:?}");
}
