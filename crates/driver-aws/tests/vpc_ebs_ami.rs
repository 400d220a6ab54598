//! The VPC, EBS and AMI mappings against the moto server (a real AWS API endpoint emulator,
//! PyPI `moto[server]`), through the official SDK, each checked by reading EC2 directly:
//! - a network of two subnets is one VPC with two CIDR blocks; subnets AWS cannot host are
//!   refused with the reason;
//! - a security group's rules (TCP range, ICMP type/code, ICMPv6, an IPv6 prefix, a remote
//!   group) become exactly those AWS permissions, AWS's default egress rule gone;
//! - a port is an ENI at its fixed address, and the server's instance takes it;
//! - a router with a gateway over two networks makes an internet gateway and a default
//!   route per network; a floating IP is an Elastic IP on the port's address;
//! - volumes: blank, attach on a device slot (a second instance's attach refused, as AWS
//!   would), grow, snapshot, from the snapshot, from an AMI; size 0 refused;
//! - an image written with the EBS direct APIs becomes an AMI a server boots from; a server's
//!   CreateImage; a volume upload as an AMI;
//! - after the deletes, nothing carrying our cloud tag is left.
//!
//! Needs the test venv with moto (scripts/install-test-deps).

use std::collections::BTreeSet;

use aws_sdk_ec2::types::Filter;
use hybridstack_driver::{
    DriverError, FloatingIpSpec, GuestConfig, ImageSource, NetworkSpec, NicSpec, PortSpec, RouterGateway,
    RouterInterface, RouterSpec, RuleSpec, SecurityGroupSpec, ServerSpec, SubnetSpec, VolumeSource, VolumeSpec,
};
use hybridstack_driver_act::{BlockStorage, Compute, ImageStore, Network};
use hybridstack_driver_aws::test_support::{moto_config, start_moto};
use hybridstack_driver_aws::{AwsCloud, AwsConfig};

const AMI: &str = "ami-760aaa0f";
const INSTALLATION: &str = "3c9e5d2a-1f0b-4e6c-9a7d-0000000a3e51";
const CLOUD: &str = "aws-vpc";

fn config(url: &str) -> AwsConfig {
    moto_config(url, "AKIAHYBRIDSTACKTEST2", 16)
}

fn id(n: u32) -> String {
    format!("00000000-0000-4000-9000-{n:012}")
}

fn subnet(n: u32, cidr: &str) -> SubnetSpec {
    hybridstack_driver_aws::test_support::subnet_spec(&id(n), cidr)
}

fn network(n: u32, subnets: Vec<SubnetSpec>) -> NetworkSpec {
    NetworkSpec { id: id(n), name: format!("net{n}"), mtu: 1500, external: false, subnets }
}

fn rule(direction: &str, ethertype: &str, protocol: Option<&str>, range: (Option<i64>, Option<i64>)) -> RuleSpec {
    RuleSpec {
        direction: direction.into(),
        ethertype: ethertype.into(),
        protocol: protocol.map(str::to_string),
        port_range_min: range.0,
        port_range_max: range.1,
        remote_ip_prefix: None,
        remote_group_id: None,
        remote_addresses: vec![],
    }
}

fn server(n: u32, nics: Vec<NicSpec>, ami: &str) -> ServerSpec {
    ServerSpec {
        id: id(n),
        name: format!("vm{n}"),
        flavor_name: "t3.micro".into(),
        vcpus: 2,
        ram_mb: 1024,
        disk_gb: 8,
        cloud_image: Some(ami.into()),
        nics,
        guest: GuestConfig { hostname: format!("vm{n}"), ..Default::default() },
        start: true,
        ..Default::default()
    }
}

async fn ec2(url: &str) -> aws_sdk_ec2::Client {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(aws_credential_types::Credentials::new("AKIAHYBRIDSTACKTEST2", "x", None, None, "t"))
        .load()
        .await;
    aws_sdk_ec2::Client::new(&shared)
}

fn ours() -> Filter {
    Filter::builder().name("tag:hybridstack:cloud").values(CLOUD).build()
}

/// Every live resource carrying our cloud's tag, by kind, straight from EC2.
async fn left(ec2: &aws_sdk_ec2::Client) -> Vec<String> {
    let mut out = Vec::new();
    let v = ec2.describe_vpcs().filters(ours()).send().await.expect("vpcs");
    out.extend(v.vpcs().iter().map(|x| format!("vpc {:?}", x.vpc_id())));
    let s = ec2.describe_subnets().filters(ours()).send().await.expect("subnets");
    out.extend(s.subnets().iter().map(|x| format!("subnet {:?}", x.subnet_id())));
    let g = ec2.describe_security_groups().filters(ours()).send().await.expect("groups");
    out.extend(g.security_groups().iter().map(|x| format!("group {:?}", x.group_id())));
    let e = ec2.describe_network_interfaces().filters(ours()).send().await.expect("enis");
    out.extend(e.network_interfaces().iter().map(|x| format!("eni {:?}", x.network_interface_id())));
    let i = ec2.describe_internet_gateways().filters(ours()).send().await.expect("igws");
    out.extend(i.internet_gateways().iter().map(|x| format!("igw {:?}", x.internet_gateway_id())));
    let r = ec2.describe_route_tables().filters(ours()).send().await.expect("tables");
    out.extend(r.route_tables().iter().map(|x| format!("table {:?}", x.route_table_id())));
    let a = ec2.describe_addresses().filters(ours()).send().await.expect("eips");
    out.extend(a.addresses().iter().map(|x| format!("eip {:?}", x.allocation_id())));
    let vol = ec2.describe_volumes().filters(ours()).send().await.expect("volumes");
    out.extend(
        vol.volumes()
            .iter()
            .filter(|x| x.state().is_none_or(|s| s.as_str() != "deleted"))
            .map(|x| format!("volume {:?}", x.volume_id())),
    );
    let snaps = ec2.describe_snapshots().owner_ids("self").filters(ours()).send().await.expect("snapshots");
    out.extend(snaps.snapshots().iter().map(|x| format!("snapshot {:?}", x.snapshot_id())));
    let amis = ec2.describe_images().owners("self").filters(ours()).send().await.expect("amis");
    out.extend(
        amis.images()
            .iter()
            .filter(|x| x.state().is_none_or(|s| s.as_str() != "deregistered"))
            .map(|x| format!("ami {:?}", x.image_id())),
    );
    let inst = ec2.describe_instances().filters(ours()).send().await.expect("instances");
    for r in inst.reservations() {
        for x in r.instances() {
            if x.state().and_then(|s| s.name()).is_none_or(|n| n.as_str() != "terminated") {
                out.push(format!("instance {:?}", x.instance_id()));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vpc_ebs_and_amis_follow_the_drivers() {
    let m = start_moto();
    let cloud = AwsCloud::open(CLOUD, INSTALLATION, config(&m.url), Some("secret")).await.expect("open");
    let ec2 = ec2(&m.url).await;

    // Subnets AWS cannot host are refused with the reason, before anything is made.
    for bad in ["10.9.0.0/29", "10.0.0.0/8"] {
        let e = cloud.ensure_network(&network(90, vec![subnet(91, bad)])).await.expect_err(bad);
        assert!(matches!(&e, DriverError::Rejected(m) if m.contains("/16 to /28")), "{e:?}");
    }
    let v6 = subnet(92, "2001:db8::/64");
    let e = cloud.ensure_network(&network(90, vec![subnet(93, "10.9.0.0/24"), v6])).await.expect_err("v6");
    assert!(matches!(&e, DriverError::Rejected(m) if m.contains("IPv6")), "{e:?}");
    assert!(left(&ec2).await.is_empty(), "a refused network left something");

    // A network with two non-contiguous subnets: one VPC, two blocks, two subnets.
    let net1 = network(1, vec![subnet(11, "10.20.0.0/24"), subnet(12, "10.77.5.0/28")]);
    let vpc = cloud.ensure_network(&net1).await.expect("network");
    assert_eq!(cloud.ensure_network(&net1).await.expect("again"), vpc, "a second ensure made another VPC");
    let v = ec2.describe_vpcs().vpc_ids(&vpc).send().await.expect("vpc");
    let blocks: BTreeSet<String> =
        v.vpcs()[0].cidr_block_association_set().iter().filter_map(|a| a.cidr_block().map(str::to_string)).collect();
    assert_eq!(blocks, BTreeSet::from(["10.20.0.0/24".to_string(), "10.77.5.0/28".to_string()]));
    let subnets = ec2
        .describe_subnets()
        .filters(Filter::builder().name("vpc-id").values(&vpc).build())
        .send()
        .await
        .expect("subnets");
    assert_eq!(subnets.subnets().len(), 2);

    // A group with every kind of rule, and a remote group.
    let web = id(20);
    let mut rules = vec![
        rule("ingress", "IPv4", Some("tcp"), (Some(80), Some(443))),
        rule("ingress", "IPv4", Some("icmp"), (Some(8), Some(0))),
        rule("ingress", "IPv6", Some("ipv6-icmp"), (Some(128), None)),
        rule("egress", "IPv4", None, (None, None)),
    ];
    let mut v6_ssh = rule("ingress", "IPv6", Some("tcp"), (Some(22), Some(22)));
    v6_ssh.remote_ip_prefix = Some("2001:db8:1::/48".into());
    rules.push(v6_ssh);
    let mut from_group = rule("ingress", "IPv4", Some("udp"), (Some(53), Some(53)));
    from_group.remote_group_id = Some(id(21));
    rules.push(from_group);
    let group = SecurityGroupSpec { id: web.clone(), name: "web".into(), rules };
    let port = PortSpec {
        id: id(30),
        network_id: id(1),
        mac_address: "fa:16:3e:00:00:01".into(),
        fixed_ips: vec![(id(11), "10.20.0.10".into())],
        port_security_enabled: true,
        security_groups: vec![group.clone()],
        allowed_address_pairs: vec![],
        dhcp: true,
    };
    let eni = cloud.ensure_port(&port).await.expect("port");
    assert_eq!(cloud.ensure_port(&port).await.expect("again"), eni);
    let e = ec2.describe_network_interfaces().network_interface_ids(&eni).send().await.expect("eni");
    let e = &e.network_interfaces()[0];
    assert_eq!(e.private_ip_address(), Some("10.20.0.10"));
    let sg = e.groups()[0].group_id().expect("group").to_string();
    let g = ec2.describe_security_groups().group_ids(&sg).send().await.expect("sg");
    let g = &g.security_groups()[0];
    let remote = ec2
        .describe_security_groups()
        .filters(Filter::builder().name("tag:hybridstack:id").values(id(21)).build())
        .send()
        .await
        .expect("remote");
    let remote_sg = remote.security_groups()[0].group_id().expect("remote id").to_string();
    let mut ingress: Vec<String> = Vec::new();
    for p in g.ip_permissions() {
        let peers: Vec<String> = p
            .ip_ranges()
            .iter()
            .filter_map(|r| r.cidr_ip().map(str::to_string))
            .chain(p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6().map(str::to_string)))
            .chain(p.user_id_group_pairs().iter().filter_map(|r| r.group_id().map(str::to_string)))
            .collect();
        for peer in peers {
            ingress.push(format!("{} {:?} {:?} {peer}", p.ip_protocol().unwrap_or(""), p.from_port(), p.to_port()));
        }
    }
    ingress.sort();
    let mut want = vec![
        "tcp Some(80) Some(443) 0.0.0.0/0".to_string(),
        "icmp Some(8) Some(0) 0.0.0.0/0".to_string(),
        "58 Some(128) Some(-1) ::/0".to_string(),
        "tcp Some(22) Some(22) 2001:db8:1::/48".to_string(),
        format!("udp Some(53) Some(53) {remote_sg}"),
    ];
    want.sort();
    assert_eq!(ingress, want);
    let egress: Vec<String> = g
        .ip_permissions_egress()
        .iter()
        .map(|p| format!("{} {:?}", p.ip_protocol().unwrap_or(""), p.ip_ranges().first().and_then(|r| r.cidr_ip())))
        .collect();
    assert_eq!(egress, vec!["-1 Some(\"0.0.0.0/0\")".to_string()]);

    // A rule removed in Neutron goes on AWS at the next refresh; AWS's default egress is
    // gone once the group has none.
    let mut fewer = group.clone();
    fewer.rules.retain(|r| r.direction == "ingress" && r.protocol.as_deref() == Some("tcp"));
    let mut p2 = port.clone();
    p2.security_groups = vec![fewer];
    cloud.refresh_port(&p2).await.expect("refresh");
    let g = ec2.describe_security_groups().group_ids(&sg).send().await.expect("sg");
    assert_eq!(g.security_groups()[0].ip_permissions().len(), 2, "{:?}", g.security_groups()[0].ip_permissions());
    assert!(g.security_groups()[0].ip_permissions_egress().is_empty());

    // A server on the port: its instance has the ENI and its address.
    let s1 = server(
        40,
        vec![NicSpec { port_id: id(30), network_id: id(1), mac_address: String::new(), addresses: vec![] }],
        AMI,
    );
    cloud.ensure_server(&s1).await.expect("server");
    let inst = ec2
        .describe_instances()
        .filters(Filter::builder().name("tag:hybridstack:id").values(id(40)).build())
        .send()
        .await
        .expect("instance");
    let inst = inst.reservations()[0].instances()[0].clone();
    assert_eq!(inst.private_ip_address(), Some("10.20.0.10"));

    // A router over two networks: an internet gateway and default route for each.
    let net2 = network(2, vec![subnet(13, "10.30.0.0/24")]);
    cloud.ensure_network(&net2).await.expect("network 2");
    let external = NetworkSpec { id: id(3), name: "public".into(), mtu: 1500, external: true, subnets: vec![] };
    cloud.ensure_network(&external).await.expect("external");
    let router = RouterSpec {
        id: id(50),
        gateway: Some(RouterGateway { network: external, address: "203.0.113.2".into(), snat: true }),
        interfaces: vec![
            RouterInterface {
                network_id: id(1),
                subnet_id: id(11),
                cidr: "10.20.0.0/24".into(),
                address: "10.20.0.1".into(),
            },
            RouterInterface {
                network_id: id(2),
                subnet_id: id(13),
                cidr: "10.30.0.0/24".into(),
                address: "10.30.0.1".into(),
            },
        ],
    };
    cloud.ensure_router(&router).await.expect("router");
    cloud.ensure_router(&router).await.expect("router again");
    let igws = ec2
        .describe_internet_gateways()
        .filters(Filter::builder().name("tag:hybridstack:id").values(id(50)).build())
        .send()
        .await
        .expect("igws");
    assert_eq!(igws.internet_gateways().len(), 2, "one gateway per network");
    let tables = ec2
        .describe_route_tables()
        .filters(Filter::builder().name("tag:hybridstack:id").values(id(50)).build())
        .send()
        .await
        .expect("tables");
    assert_eq!(tables.route_tables().len(), 2);
    for t in tables.route_tables() {
        assert!(t.routes().iter().any(|r| r.destination_cidr_block() == Some("0.0.0.0/0") && r.gateway_id().is_some()));
        assert_eq!(t.associations().iter().filter(|a| a.subnet_id().is_some()).count(), 1);
    }

    // A floating IP: an Elastic IP on the port's address.
    let fip = FloatingIpSpec {
        id: id(60),
        floating_network_id: id(3),
        floating_ip_address: "203.0.113.9".into(),
        port_id: id(30),
        fixed_ip_address: "10.20.0.10".into(),
        fixed_network_id: id(1),
        router_id: id(50),
    };
    let public = cloud.ensure_floating_ip(&fip).await.expect("fip");
    assert_eq!(cloud.ensure_floating_ip(&fip).await.expect("again"), public);
    let a = ec2.describe_addresses().public_ips(&public).send().await.expect("eip");
    assert_eq!(a.addresses()[0].private_ip_address(), Some("10.20.0.10"));
    assert_eq!(a.addresses()[0].network_interface_id(), Some(eni.as_str()));
    let kinds: BTreeSet<&str> = Network::list_owned(&cloud).await.expect("owned").iter().map(|o| o.kind).collect();
    assert_eq!(kinds, BTreeSet::from(["floatingip", "network", "port", "router", "security_group"]));

    // Volumes.
    let e = cloud
        .ensure_volume(&VolumeSpec { id: id(70), size_gb: 0, source: VolumeSource::Blank })
        .await
        .expect_err("size 0");
    assert!(matches!(e, DriverError::Rejected(_)));
    cloud.ensure_volume(&VolumeSpec { id: id(70), size_gb: 1, source: VolumeSource::Blank }).await.expect("blank");
    let dev = cloud.attach_volume(&id(40), &id(70), Some("/dev/vdg")).await.expect("attach");
    assert_eq!(dev, "/dev/sdg");
    assert_eq!(cloud.attach_volume(&id(40), &id(70), None).await.expect("again"), "/dev/sdg");
    let s2 = server(41, vec![], AMI);
    cloud.ensure_server(&s2).await.expect("server 2");
    let e = cloud.attach_volume(&id(41), &id(70), None).await.expect_err("attached elsewhere");
    assert!(matches!(&e, DriverError::Rejected(m) if m.contains("another instance")), "{e:?}");
    cloud.extend_volume(&id(70), 3).await.expect("extend");
    cloud.ensure_snapshot(&id(71), &id(70)).await.expect("snapshot");
    cloud
        .ensure_volume(&VolumeSpec { id: id(72), size_gb: 3, source: VolumeSource::Snapshot(id(71)) })
        .await
        .expect("from snapshot");
    cloud
        .ensure_volume(&VolumeSpec { id: id(73), size_gb: 4, source: VolumeSource::Volume(id(72)) })
        .await
        .expect("clone");
    let e = cloud
        .ensure_volume(&VolumeSpec { id: id(74), size_gb: 1, source: VolumeSource::CloudImage(AMI.into()) })
        .await
        .expect_err("smaller than the AMI");
    assert!(matches!(e, DriverError::Rejected(_)), "{e:?}");
    let vols = ec2
        .describe_volumes()
        .filters(Filter::builder().name("tag:hybridstack:id").values(id(70)).build())
        .send()
        .await
        .expect("vol");
    assert_eq!(vols.volumes()[0].size(), Some(3));
    cloud.detach_volume(&id(40), &id(70)).await.expect("detach");
    cloud.detach_volume(&id(40), &id(70)).await.expect("detach again");

    // An image written block by block, registered as an AMI, booted; a volume made from it.
    let dir = tempfile::tempdir().expect("tmp");
    let raw = dir.path().join("disk.raw");
    let mut data = vec![0u8; 3 << 20];
    data[..6].copy_from_slice(b"hybrid");
    data[(2 << 20) + 7] = 1;
    std::fs::write(&raw, &data).expect("write");
    let stored = cloud
        .put(&ImageSource {
            image_id: id(80),
            path: raw.clone(),
            format: hybridstack_driver::DiskFormat::Raw,
            size: data.len() as u64,
        })
        .await
        .expect("upload");
    let again = cloud
        .put(&ImageSource { image_id: id(80), path: raw, format: hybridstack_driver::DiskFormat::Raw, size: 0 })
        .await
        .expect("upload again");
    assert_eq!(stored.reference, again.reference, "a retried upload made a second AMI");
    let s3 = server(42, vec![], &stored.reference);
    cloud.ensure_server(&s3).await.expect("boot from the uploaded AMI");
    cloud
        .ensure_volume(&VolumeSpec {
            id: id(75),
            size_gb: 1,
            source: VolumeSource::CloudImage(stored.reference.clone()),
        })
        .await
        .expect("volume from the AMI");

    // createImage and a volume upload, each an AMI.
    let snap_ami = cloud.snapshot_to_cloud_image(&id(40), &id(81), "snap of vm40").await.expect("createImage");
    let vol_ami = cloud.volume_to_cloud_image(&id(72), &id(82), "upload of 72").await.expect("upload");
    let amis = ec2.describe_images().image_ids(&snap_ami).image_ids(&vol_ami).send().await.expect("amis");
    assert_eq!(amis.images().len(), 2);

    // Everything goes.
    for (image, ami) in [(id(80), stored.reference.clone()), (id(81), snap_ami), (id(82), vol_ami)] {
        cloud.delete(&image, &ami).await.expect("delete AMI");
    }
    cloud.delete(&id(83), AMI).await.expect("a public AMI is not ours to deregister");
    assert!(!ec2.describe_images().image_ids(AMI).send().await.expect("public").images().is_empty());
    for s in [40, 41, 42] {
        cloud.delete_server(&id(s)).await.expect("delete server");
    }
    for v in [70, 72, 73, 75] {
        cloud.delete_volume(&id(v)).await.expect("delete volume");
    }
    cloud.delete_snapshot(&id(71)).await.expect("delete snapshot");
    cloud.delete_floating_ip(&id(60)).await.expect("delete fip");
    cloud.delete_router(&id(50)).await.expect("delete router");
    cloud.delete_port(&id(30)).await.expect("delete port");
    cloud.delete_security_group(&web).await.expect("delete group");
    cloud.delete_security_group(&id(21)).await.expect("delete remote group");
    for n in [1, 2, 3] {
        cloud.delete_network(&id(n)).await.expect("delete network");
    }
    let left = left(&ec2).await;
    assert!(left.is_empty(), "left behind: {left:?}");
}
