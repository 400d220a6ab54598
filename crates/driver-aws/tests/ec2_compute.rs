//! The EC2 compute driver against the moto server (a real AWS API endpoint emulator, PyPI
//! `moto[server]`, run with its instance-type, AMI and key-pair validation on), over HTTP
//! through the official SDK: launch (idempotent under a retry), the key pair imported once,
//! power actions waiting on state, resize by stop/ModifyInstanceAttribute/start with revert,
//! rebuild as a new instance from the new AMI under the same id,
//! instance types chosen for flavors, listing past moto's 100-reservation pages, another
//! cloud's instances left alone, and terminate waiting until the instance is gone.
//!
//! Needs the test venv with moto (scripts/install-test-deps).

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use hybridstack_driver::{ComputeQuery as _, DriverError, GuestConfig, NicSpec, PowerAction, PowerState, ServerSpec};
use hybridstack_driver_act::Compute;
use hybridstack_driver_aws::test_support::{moto_config, start_moto};
use hybridstack_driver_aws::{AwsCloud, AwsConfig};

/// An AMI moto has in every region (Amazon Linux 2017.09), stable across its releases.
const AMI: &str = "ami-760aaa0f";
const INSTALLATION: &str = "3c9e5d2a-1f0b-4e6c-9a7d-0000000a3e51";
const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHd6oBEIpamKyF9h7X+d1QhQKxHrzDnSIc8mvAYUpEro test";

fn config(url: &str) -> AwsConfig {
    moto_config(url, "AKIAHYBRIDSTACKTEST1", 32)
}

fn spec(id: &str, flavor: &str) -> ServerSpec {
    ServerSpec {
        id: id.into(),
        name: format!("vm-{id}"),
        flavor_name: flavor.into(),
        vcpus: 1,
        ram_mb: 512,
        disk_gb: 8,
        cloud_image: Some(AMI.into()),
        guest: GuestConfig {
            hostname: "vm".into(),
            public_key: Some(KEY.into()),
            user_data: Some("IyEvYmluL3NoCmVjaG8gaGk=".into()),
            ..Default::default()
        },
        start: true,
        ..Default::default()
    }
}

fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// The instances carrying server `id`'s tag, in any state, straight from EC2.
async fn tagged(ec2: &aws_sdk_ec2::Client, id: &str) -> Vec<aws_sdk_ec2::types::Instance> {
    let out = ec2
        .describe_instances()
        .filters(Filter::builder().name("tag:hybridstack:id").values(id).build())
        .send()
        .await
        .expect("describe");
    out.reservations().iter().flat_map(|r| r.instances().iter().cloned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_instances_follow_the_compute_driver() {
    let m = start_moto();
    let cloud = AwsCloud::open("aws-test", INSTALLATION, config(&m.url), Some("secret-key")).await.expect("open");
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&m.url)
        .credentials_provider(aws_credential_types::Credentials::new("AKIAHYBRIDSTACKTEST1", "x", None, None, "t"))
        .load()
        .await;
    let ec2 = aws_sdk_ec2::Client::new(&shared);

    // Launch, then the same again (a retried step): one instance, running, with our tags,
    // the key imported once under a name of its own, and the user data as given.
    let s = spec(&id(1), "t3.micro");
    cloud.ensure_server(&s).await.expect("launch");
    cloud.ensure_server(&s).await.expect("launch again");
    let found = tagged(&ec2, &s.id).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let i = &found[0];
    assert_eq!(i.instance_type().map(|t| t.as_str()), Some("t3.micro"));
    assert_eq!(i.image_id(), Some(AMI));
    assert!(i.tags().iter().any(|t| t.key() == Some("hybridstack:cloud") && t.value() == Some("aws-test")));
    let key = i.key_name().expect("a key pair").to_string();
    assert!(key.starts_with("hybridstack-"), "{key}");
    let keys = ec2.describe_key_pairs().send().await.expect("keys");
    assert_eq!(keys.key_pairs().iter().filter(|k| k.key_name() == Some(key.as_str())).count(), 1);
    let iid = i.instance_id().expect("id").to_string();
    let ud = ec2
        .describe_instance_attribute()
        .instance_id(&iid)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
        .send()
        .await
        .expect("user data");
    assert_eq!(ud.user_data().and_then(|u| u.value()), s.guest.user_data.as_deref());
    assert_eq!(cloud.power_state(&s.id).await.expect("state"), PowerState::Running);

    // Power actions reach the state they ask for.
    cloud.power(&s.id, PowerAction::Stop).await.expect("stop");
    assert_eq!(cloud.power_state(&s.id).await.expect("state"), PowerState::Shutdown);
    cloud.power(&s.id, PowerAction::Start).await.expect("start");
    cloud.power(&s.id, PowerAction::SoftReboot).await.expect("reboot");
    cloud.power(&s.id, PowerAction::HardReboot).await.expect("hard reboot");
    assert_eq!(cloud.power_state(&s.id).await.expect("state"), PowerState::Running);
    let paused = cloud.power(&s.id, PowerAction::Pause).await.expect_err("EC2 has no pause");
    assert!(matches!(paused, DriverError::NotSupported(_)), "{paused:?}");

    // Resize and revert: the type changes, the instance runs again on the same id.
    cloud.resize(&spec(&id(1), "t3.small")).await.expect("resize");
    let now = &tagged(&ec2, &s.id).await[0];
    assert_eq!((now.instance_type().map(|t| t.as_str()), now.instance_id()), (Some("t3.small"), Some(iid.as_str())));
    assert_eq!(cloud.power_state(&s.id).await.expect("state"), PowerState::Running);
    cloud.revert_resize(&s).await.expect("revert");
    assert_eq!(tagged(&ec2, &s.id).await[0].instance_type().map(|t| t.as_str()), Some("t3.micro"));

    // Rebuild: a new instance from the new AMI under the same server id; the old one is gone.
    let ubuntu = ServerSpec { cloud_image: Some("ami-1e749f67".into()), ..spec(&id(1), "t3.micro") };
    cloud.rebuild(&ubuntu).await.expect("rebuild");
    let after: Vec<_> = tagged(&ec2, &s.id).await;
    let live: Vec<_> = after
        .iter()
        .filter(|i| i.state().and_then(|st| st.name()) != Some(&aws_sdk_ec2::types::InstanceStateName::Terminated))
        .collect();
    assert_eq!(live.len(), 1, "{after:?}");
    assert_eq!(live[0].image_id(), Some("ami-1e749f67"));
    assert_ne!(live[0].instance_id(), Some(iid.as_str()), "a new instance");
    assert_eq!(cloud.power_state(&s.id).await.expect("state"), PowerState::Running);

    // A flavor that is not a type gets the smallest current type that holds it.
    let custom = ServerSpec { vcpus: 2, ram_mb: 4096, ..spec(&id(2), "m1.custom") };
    cloud.ensure_server(&custom).await.expect("launch a custom flavor");
    let t = tagged(&ec2, &custom.id).await[0].instance_type().cloned().expect("type");
    let info = ec2.describe_instance_types().instance_types(t.clone()).send().await.expect("type info");
    let info = &info.instance_types()[0];
    assert!(info.v_cpu_info().and_then(|v| v.default_v_cpus()).unwrap_or(0) >= 2, "{t:?}");
    assert!(info.memory_info().and_then(|m| m.size_in_mib()).unwrap_or(0) >= 4096, "{t:?}");

    // Refusals with the reason, and nothing launched for them.
    let no_ami = ServerSpec { cloud_image: None, ..spec(&id(3), "t3.micro") };
    assert!(matches!(cloud.ensure_server(&no_ami).await, Err(DriverError::Rejected(_))));
    let bad_ami = ServerSpec { cloud_image: Some("ami-00000000deadbeef0".into()), ..spec(&id(3), "t3.micro") };
    assert!(matches!(cloud.ensure_server(&bad_ami).await, Err(DriverError::NotFound(_) | DriverError::Rejected(_))));
    let nic = NicSpec {
        port_id: "p".into(),
        network_id: "n".into(),
        mac_address: "fa:16:3e:00:00:01".into(),
        addresses: vec![],
    };
    let with_nic = ServerSpec { nics: vec![nic], ..spec(&id(3), "t3.micro") };
    // A port that was never realised on this cloud.
    assert!(matches!(cloud.ensure_server(&with_nic).await, Err(DriverError::NotFound(_))));
    assert!(tagged(&ec2, &id(3)).await.is_empty());

    // More reservations than moto puts on a page, one of them another cloud's, one another
    // installation's cloud of the same name, and one from before installation ids.
    for n in 10..113u32 {
        let (owner, installation) = match n {
            10 => ("another-cloud", Some(INSTALLATION)),
            11 => ("aws-test", Some("7e0a1f3c-0000-4000-8000-0000000000bb")),
            12 => ("aws-test", None),
            _ => ("aws-test", Some(INSTALLATION)),
        };
        let mut tags = TagSpecification::builder()
            .resource_type(ResourceType::Instance)
            .tags(Tag::builder().key("hybridstack:id").value(id(n)).build())
            .tags(Tag::builder().key("hybridstack:cloud").value(owner).build());
        if let Some(i) = installation {
            tags = tags.tags(Tag::builder().key("hybridstack:installation").value(i).build());
        }
        let tags = tags.build();
        ec2.run_instances()
            .image_id(AMI)
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Nano)
            .min_count(1)
            .max_count(1)
            .tag_specifications(tags)
            .send()
            .await
            .expect("run");
    }
    let owned = cloud.list_owned().await.expect("list");
    assert_eq!(owned.len(), 2 + 100, "ours across pages, not another cloud's or installation's");
    assert!(!owned.iter().any(|o| [id(10), id(11), id(12)].contains(&o.id)));
    assert!(owned.iter().any(|o| o.id == id(112)), "the last page is read");
    // The other installation's and the legacy one are foreign; only the legacy one of this
    // cloud's name may be adopted. Another cloud of this installation is not foreign.
    let foreign = hybridstack_driver::OwnershipQuery::list_foreign(&cloud).await.expect("foreign");
    let servers: Vec<_> = foreign.iter().filter(|f| f.kind == "server").collect();
    assert_eq!(servers.len(), 2, "{servers:?}");
    let legacy = servers.iter().find(|f| f.id == id(12)).expect("the legacy instance");
    assert!(legacy.adoptable, "{legacy:?}");
    let other = servers.iter().find(|f| f.id == id(11)).expect("the other installation's");
    assert!(!other.adoptable, "{other:?}");
    assert!(hybridstack_driver_act::Ownership::adopt(&cloud, other).await.is_err(), "never another installation's");
    hybridstack_driver_act::Ownership::adopt(&cloud, legacy).await.expect("adopt");
    assert!(cloud.list_owned().await.expect("list").iter().any(|o| o.id == id(12)), "adopted");

    // Delete terminates and waits; the server is then gone for the driver.
    cloud.delete_server(&s.id).await.expect("delete");
    cloud.delete_server(&s.id).await.expect("delete again");
    assert!(matches!(cloud.power_state(&s.id).await, Err(DriverError::NotFound(_))));
    let states: Vec<_> = tagged(&ec2, &s.id).await.iter().filter_map(|i| i.state()?.name().cloned()).collect();
    assert_eq!(states, vec![aws_sdk_ec2::types::InstanceStateName::Terminated; 2], "the first and the rebuilt");
    assert!(!cloud.list_owned().await.expect("list").iter().any(|o| o.id == s.id));
    assert_eq!(cloud.capacity().await.expect("capacity").vcpus, 32, "the account's quota as registered");
}
