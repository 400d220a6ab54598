//! A project mapped to its own AWS account: besides a shared AWS cloud, a cloud dedicated to
//! project `team` reaches account 111111111111 by assuming a role there (STS on the moto
//! server, which keeps each account's resources apart). Through the `openstack` CLI:
//! - an AMI is registered on the team's cloud with `openstack image set --property` (checked
//!   against the cloud: an unknown AMI or cloud is a 400);
//! - the team's server goes to its own cloud, and its instance is in the team's account, not
//!   in the shared one; the admin project's server goes to the shared cloud;
//! - another project does not see the team's zone and cannot ask for it.
//!
//! Needs the test venv with moto (scripts/install-test-deps).

mod support;

use hybridstack_driver_aws::test_support::start_moto;
use support::aws::{add_cloud, boto3, AMI};
use support::cli::{cmd, field, Cli};

const ROLE: &str = "arn:aws:iam::111111111111:role/team";

/// The ids of the instances carrying server `id`'s tag, in the account `role` (None: the
/// shared account) — as moto keeps them, one set per account.
fn instances_in(moto: &str, role: Option<&str>, id: &str) -> Vec<String> {
    let client = match role {
        Some(r) => format!(
            "c = boto3.client('sts', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='AKIAHYBRIDSTACKE2E01', aws_secret_access_key='x').assume_role(RoleArn='{r}', RoleSessionName='check')['Credentials']\n\
             ec2 = boto3.client('ec2', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id=c['AccessKeyId'], aws_secret_access_key=c['SecretAccessKey'], aws_session_token=c['SessionToken'])\n"
        ),
        None => String::new(),
    };
    let out = boto3(
        moto,
        &format!(
            "{client}r = ec2.describe_instances(Filters=[{{'Name': 'tag:hybridstack:id', 'Values': ['{id}']}}])\n\
             print(json.dumps([i['InstanceId'] for x in r['Reservations'] for i in x['Instances']]))"
        ),
    );
    serde_json::from_str(&out).expect("json")
}

#[test]
fn a_project_reaches_its_own_aws_account() {
    let moto = start_moto();
    let server = support::start();
    let admin = Cli::password(&server.url, "admin", support::ADMIN_PASSWORD, "admin");
    let team = field(&admin.json(&["project", "create", "team"]), "id").to_string();
    admin.ok(&["project", "create", "other"]);
    for (user, project) in [("tess", "team"), ("olga", "other")] {
        admin.ok(&["user", "create", "--password", "pw-e2e-1", "--project", project, user]);
        admin.ok(&["role", "add", "--user", user, "--project", project, "member"]);
    }
    let image = add_cloud(&server, "accounts-secret", "aws-shared", &moto.url, &[]);
    add_cloud(&server, "accounts-secret", "aws-team", &moto.url, &["--role-arn", ROLE, "--project-id", &team]);

    // The same AMI id in the team's account, given as a location property; bad ones are 400s.
    let bad = admin.run(&["image", "set", "--property", "hybridstack:location:aws-team=ami-00000000deadbeef0", &image]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("400"), "{bad:?}");
    let bad = admin.run(&["image", "set", "--property", &format!("hybridstack:location:nowhere={AMI}"), &image]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("400"), "{bad:?}");
    admin.ok(&["image", "set", "--property", &format!("hybridstack:location:aws-team={AMI}"), &image]);

    // The team's server lands in its own account.
    let tess = Cli::password(&server.url, "tess", "pw-e2e-1", "team");
    let zones = tess.ok(&["availability", "zone", "list", "--compute"]);
    assert!(zones.contains("aws-team") && zones.contains("aws-shared"), "{zones}");
    let vm =
        tess.json(&["server", "create", "--image", &image, "--flavor", "t3.micro", "--no-network", "--wait", "t1"]);
    assert_eq!(field(&vm, "OS-EXT-AZ:availability_zone"), "aws-team", "{vm}");
    let id = field(&vm, "id").to_string();
    assert_eq!(instances_in(&moto.url, Some(ROLE), &id).len(), 1, "not in the team's account");
    assert!(instances_in(&moto.url, None, &id).is_empty(), "the team's instance is in the shared account");

    // The admin project's server goes to the shared cloud.
    let a =
        admin.json(&["server", "create", "--image", &image, "--flavor", "t3.micro", "--no-network", "--wait", "a1"]);
    assert_eq!(field(&a, "OS-EXT-AZ:availability_zone"), "aws-shared", "{a}");

    // Another project neither sees the team's zone nor can ask for it.
    let olga = Cli::password(&server.url, "olga", "pw-e2e-1", "other");
    let zones = olga.ok(&["availability", "zone", "list", "--compute"]);
    assert!(!zones.contains("aws-team") && zones.contains("aws-shared"), "{zones}");
    let refused =
        olga.run(&cmd!("server create --image {image} --flavor t3.micro --no-network --availability-zone aws-team o1"));
    assert!(!refused.status.success(), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("availability zone"), "{refused:?}");
    let placed =
        olga.json(&["server", "create", "--image", &image, "--flavor", "t3.micro", "--no-network", "--wait", "o2"]);
    assert_eq!(field(&placed, "OS-EXT-AZ:availability_zone"), "aws-shared", "{placed}");

    tess.ok(&["server", "delete", "--wait", "t1"]);
    olga.ok(&["server", "delete", "--wait", "o2"]);
    admin.ok(&["server", "delete", "--wait", "a1"]);
}
