//! Undo and retry on an AWS cloud, with faults injected at the wire: the cloud is registered
//! through a small fault-injecting HTTP proxy in front of the moto server (moto itself has no
//! fault injection), which answers chosen EC2 actions with the errors a region gives.
//! - RunInstances refused (InsufficientInstanceCapacity): the server ends in ERROR with the
//!   reason, and its ENI and VPC are taken back: moto holds nothing of ours;
//! - CreateNetworkInterface throttled once (RequestLimitExceeded): retried, the server is
//!   ACTIVE;
//! - AttachVolume refused: the volume is available again and attached to nothing.
//!
//! Needs the test venv with moto (scripts/install-test-deps).

mod support;

use std::time::{Duration, Instant};

use hybridstack_driver_aws::test_support::{start_moto, FaultProxy};
use support::aws::{add_cloud, boto3, wait_nothing_left};
use support::cli::{cmd, field, Cli};

const CLOUD: &str = "aws-faults";

#[test]
fn aws_faults_are_undone_or_retried() {
    let moto = start_moto();
    let proxy = FaultProxy::start(&moto.url);
    let server = support::start_with(&[("HYBRIDSTACK_RECONCILE_INTERVAL_SECS", "3600")]);
    let image = add_cloud(&server, "faults-secret", CLOUD, &proxy.url, &[]);
    let admin = Cli::password(&server.url, "admin", support::ADMIN_PASSWORD, "admin");
    admin.ok(&["network", "create", "net"]);
    admin.ok(&["subnet", "create", "--network", "net", "--subnet-range", "10.60.0.0/24", "net-v4"]);

    // The launch refused: everything made for the server before it is taken back.
    proxy.fail("RunInstances", 1, 400, "InsufficientInstanceCapacity");
    admin.ok(&["server", "create", "--image", &image, "--flavor", "t3.micro", "--network", "net", "refused"]);
    let failed = admin.wait_status("server", "refused", &["ERROR"]);
    assert!(failed["fault"].to_string().contains("InsufficientInstanceCapacity"), "{failed}");
    assert_eq!(proxy.injected(), 1);
    wait_nothing_left(&moto.url, CLOUD);
    admin.ok(&["server", "delete", "--wait", "refused"]);

    // A throttled call is retried, and the create goes through.
    proxy.fail("CreateNetworkInterface", 1, 400, "RequestLimitExceeded");
    let vm = admin.json(&cmd!("server create --image {image} --flavor t3.micro --network net --wait vm"));
    assert_eq!(field(&vm, "status"), "ACTIVE", "{vm}");
    assert_eq!(proxy.injected(), 2);

    // An attach refused: the volume is free again, on AWS and in the API.
    admin.ok(&["volume", "create", "--size", "1", "--availability-zone", CLOUD, "data"]);
    let vol = admin.wait_status("volume", "data", &["available"]);
    proxy.fail("AttachVolume", 1, 400, "IncorrectState");
    let _ = admin.run(&["server", "add", "volume", "vm", "data"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let shown = admin.json(&["volume", "show", "data"]);
        if proxy.injected() == 3 && field(&shown, "status") == "available" {
            break;
        }
        assert!(Instant::now() < deadline, "the volume did not come back: {shown}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let attachments = boto3(
        &moto.url,
        &format!(
            "v = ec2.describe_volumes(Filters=[{{'Name': 'tag:hybridstack:id', 'Values': ['{}']}}])['Volumes'][0]\n\
             print(len(v['Attachments']))",
            field(&vol, "id")
        ),
    );
    assert_eq!(attachments.trim(), "0");

    admin.ok(&["volume", "delete", "data"]);
    admin.ok(&["server", "delete", "--wait", "vm"]);
    admin.ok(&["network", "delete", "net"]);
    wait_nothing_left(&moto.url, CLOUD);
}
