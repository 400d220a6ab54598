//! A look behind the API at an AWS cloud: boto3 on the moto server, from the test venv.

use std::process::Command;
use std::time::{Duration, Instant};

use super::Server;

/// An AMI moto has in every region and account (Amazon Linux 2017.09).
pub const AMI: &str = "ami-760aaa0f";
/// The access key the tests register clouds with (moto takes any).
pub const ACCESS_KEY: &str = "AKIAHYBRIDSTACKE2E01";

/// `hybridstack cloud --data-dir … ARGS` on the server's data dir, with `secret` as the
/// AWS secret access key in the environment; returns its output, panicking with the reason
/// when it fails.
pub fn cloud_cmd(server: &Server, secret: &str, args: &[&str]) -> String {
    let out = Command::new(super::binary())
        .args(["cloud", "--data-dir"])
        .arg(server.data.path())
        .args(args)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .output()
        .expect("run hybridstack cloud");
    assert!(out.status.success(), "cloud {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Registers `endpoint` (moto, or a proxy before it) as AWS cloud `name` in us-east-1 with
/// the test key, `extra` arguments added; then imports the AMI (returning its Glance image)
/// and makes the t3 flavors.
pub fn add_cloud(server: &Server, secret: &str, name: &str, endpoint: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "add",
        "aws",
        "--name",
        name,
        "--region",
        "us-east-1",
        "--endpoint-url",
        endpoint,
        "--access-key-id",
        ACCESS_KEY,
        "--vcpu-limit",
        "64",
    ];
    args.extend(extra);
    cloud_cmd(server, secret, &args);
    let image = cloud_cmd(server, secret, &["import-images", "--cloud", name, AMI]);
    cloud_cmd(server, secret, &["sync-flavors", "--cloud", name, "--family", "t3"]);
    image.split('\t').next().expect("an image id").to_string()
}

/// Waits (two minutes at most) until moto holds nothing carrying cloud `cloud`'s tag.
pub fn wait_nothing_left(moto_url: &str, cloud: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let left = tagged_resources(moto_url, cloud);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "moto still holds resources of {cloud}: {left:?}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Runs a Python snippet with `ec2`, a boto3 EC2 client on moto, from the test venv; returns
/// what it prints.
pub fn boto3(moto_url: &str, code: &str) -> String {
    let venv = std::env::var("HYBRIDSTACK_TEST_VENV").unwrap_or_else(|_| "/var/tmp/hybridstack-venv".into());
    let script = format!(
        "import boto3, json, sys\nec2 = boto3.client('ec2', endpoint_url=sys.argv[1], region_name='us-east-1', \
         aws_access_key_id='AKIAHYBRIDSTACKE2E01', aws_secret_access_key='x')\n{code}"
    );
    let out = Command::new(format!("{venv}/bin/python")).args(["-c", &script, moto_url]).output().expect("python");
    assert!(out.status.success(), "boto3: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// EC2 as moto holds it: (our server id, state, type) of every instance carrying our tag.
pub fn ec2_instances(moto_url: &str) -> Vec<(String, String, String)> {
    let listed = boto3(
        moto_url,
        r#"out = []
for page in ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "tag-key", "Values": ["hybridstack:id"]}]):
    for r in page["Reservations"]:
        for i in r["Instances"]:
            tags = {t["Key"]: t["Value"] for t in i.get("Tags", [])}
            out.append([tags["hybridstack:id"], i["State"]["Name"], i["InstanceType"]])
print(json.dumps(out))"#,
    );
    serde_json::from_str(&listed).expect("json")
}

/// Every live resource carrying cloud `cloud`'s tag, by kind (instances, VPC objects, EBS,
/// AMIs), as moto holds it.
pub fn tagged_resources(moto_url: &str, cloud: &str) -> Vec<String> {
    let listed = boto3(
        moto_url,
        &format!(
            r#"f = [{{"Name": "tag:hybridstack:cloud", "Values": ["{cloud}"]}}]
out = []
for r in ec2.describe_instances(Filters=f)["Reservations"]:
    out += ["instance " + i["InstanceId"] for i in r["Instances"] if i["State"]["Name"] != "terminated"]
out += ["vpc " + x["VpcId"] for x in ec2.describe_vpcs(Filters=f)["Vpcs"]]
out += ["subnet " + x["SubnetId"] for x in ec2.describe_subnets(Filters=f)["Subnets"]]
out += ["group " + x["GroupId"] for x in ec2.describe_security_groups(Filters=f)["SecurityGroups"]]
out += ["eni " + x["NetworkInterfaceId"] for x in ec2.describe_network_interfaces(Filters=f)["NetworkInterfaces"]]
out += ["igw " + x["InternetGatewayId"] for x in ec2.describe_internet_gateways(Filters=f)["InternetGateways"]]
out += ["table " + x["RouteTableId"] for x in ec2.describe_route_tables(Filters=f)["RouteTables"]]
out += ["eip " + x["AllocationId"] for x in ec2.describe_addresses(Filters=f)["Addresses"]]
out += ["volume " + x["VolumeId"] for x in ec2.describe_volumes(Filters=f)["Volumes"] if x["State"] != "deleted"]
out += ["snapshot " + x["SnapshotId"] for x in ec2.describe_snapshots(OwnerIds=["self"], Filters=f)["Snapshots"]]
out += ["ami " + x["ImageId"] for x in ec2.describe_images(Owners=["self"], Filters=f)["Images"]]
print(json.dumps(out))"#
        ),
    );
    serde_json::from_str(&listed).expect("json")
}
