//! Network service tests against a real store (SQLite, and PostgreSQL when configured).

use std::collections::HashSet;
use std::sync::Arc;

use hybridstack_store::testing;

use super::*;
use crate::policy::testing::{admin, member};
use crate::policy::RequestContext;
use InterfaceChange::{Add, Remove};

async fn network_with_subnet(n: &Networking, c: &RequestContext, cidr: &str) -> (String, String) {
    let net =
        n.network_create(c, NetworkRequest { name: Some("n".into()), ..Default::default() }).await.expect("network");
    let s = n
        .subnet_create(
            c,
            SubnetRequest { network_id: Some(net.id.clone()), cidr: Some(cidr.into()), ..Default::default() },
        )
        .await
        .expect("subnet");
    (net.id, s.id)
}

#[tokio::test]
async fn two_hundred_parallel_ports_on_a_24_get_distinct_addresses() {
    for (backend, t) in testing::all().await {
        let n = Networking::new(t.store.clone(), no_clouds(&t.store));
        let c = member("p1");
        let (net, subnet) = network_with_subnet(&n, &c, "10.0.0.0/24").await;
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let (n, c, net) = (Arc::clone(&n), c.clone(), net.clone());
                tokio::spawn(async move {
                    n.port_create(&c, PortRequest { network_id: Some(net), ..Default::default() }).await
                })
            })
            .collect();
        let mut seen = HashSet::new();
        for t in tasks {
            let p = t.await.expect("task").unwrap_or_else(|e| panic!("{backend}: port create failed: {e}"));
            assert_eq!(p.fixed_ips.len(), 1);
            let ip = &p.fixed_ips[0];
            assert_eq!(ip.subnet_id, subnet);
            let addr: std::net::Ipv4Addr = ip.ip_address.parse().expect("ipv4");
            assert!(addr.octets()[3] >= 2 && addr.octets()[3] <= 254, "{backend}: {addr} is outside the pool");
            assert!(seen.insert(ip.ip_address.clone()), "{backend}: {} handed out twice", ip.ip_address);
        }
        assert_eq!(seen.len(), 200);
        assert_eq!(t.store.ip_allocations_of_subnet(&subnet).await.expect("allocations").len(), 200, "{backend}");
    }
}

#[tokio::test]
async fn explicit_addresses_are_checked_and_never_shared() {
    let t = testing::sqlite().await;
    let n = Networking::new(t.store.clone(), no_clouds(&t.store));
    let c = member("p1");
    let (net, subnet) = network_with_subnet(&n, &c, "10.1.0.0/28").await;
    let want = |ip: &str| PortRequest {
        network_id: Some(net.clone()),
        fixed_ips: Some(vec![IpRequest { subnet_id: Some(subnet.clone()), ip_address: Some(ip.into()) }]),
        ..Default::default()
    };
    let p = n.port_create(&c, want("10.1.0.5")).await.expect("first");
    assert_eq!(p.fixed_ips[0].ip_address, "10.1.0.5");
    let dup = n.port_create(&c, want("10.1.0.5")).await.expect_err("duplicate");
    assert!(matches!(dup, CoreError::Conflict(ref m) if m.starts_with("IpAddressAlreadyAllocated")), "{dup}");
    let outside = n.port_create(&c, want("10.1.0.20")).await.expect_err("outside");
    assert!(matches!(outside, CoreError::BadRequest(ref m) if m.starts_with("InvalidIpForSubnet")), "{outside}");
    let busy = n.network_delete(&c, &net).await.expect_err("in use");
    assert!(matches!(busy, CoreError::Conflict(ref m) if m.starts_with("NetworkInUse")), "{busy}");
    n.port_delete(&c, &p.id).await.expect("delete port");
    n.port_create(&c, want("10.1.0.5")).await.expect("the freed address can be taken again");
}

#[tokio::test]
async fn slaac_ports_get_their_eui64_address() {
    let t = testing::sqlite().await;
    let n = Networking::new(t.store.clone(), no_clouds(&t.store));
    let c = member("p1");
    let net = n.network_create(&c, NetworkRequest::default()).await.expect("network");
    n.subnet_create(
        &c,
        SubnetRequest {
            network_id: Some(net.id.clone()),
            cidr: Some("2001:db8::/64".into()),
            ip_version: Some(6),
            ipv6_ra_mode: Some("slaac".into()),
            ipv6_address_mode: Some("slaac".into()),
            ..Default::default()
        },
    )
    .await
    .expect("subnet");
    let p = n
        .port_create(
            &c,
            PortRequest {
                network_id: Some(net.id),
                mac_address: Some("fa:16:3e:72:49:c9".into()),
                ..Default::default()
            },
        )
        .await
        .expect("port");
    assert_eq!(p.fixed_ips[0].ip_address, "2001:db8::f816:3eff:fe72:49c9");
    let bad = SubnetRequest {
        network_id: Some(p.network_id.clone()),
        cidr: Some("2001:db8:1::/64".into()),
        ip_version: Some(6),
        ipv6_ra_mode: Some("slaac".into()),
        ipv6_address_mode: Some("dhcpv6-stateful".into()),
        ..Default::default()
    };
    assert!(matches!(n.subnet_create(&c, bad).await, Err(CoreError::BadRequest(_))));
}

#[tokio::test]
async fn default_security_groups_and_rule_validation() {
    let t = testing::sqlite().await;
    let n = Networking::new(t.store.clone(), no_clouds(&t.store));
    let c = member("p1");
    let groups = n.sg_list(&c).await.expect("list");
    assert_eq!(groups.len(), 1);
    let default = &groups[0];
    assert_eq!(default.name, "default");
    assert_eq!(default.security_group_rules.len(), 4);
    assert!(matches!(n.sg_create(&c, "default".into(), String::new(), None).await, Err(CoreError::Conflict(_))));
    assert!(matches!(n.sg_delete(&c, &default.id).await, Err(CoreError::Conflict(_))));
    let web = n.sg_create(&c, "web".into(), String::new(), None).await.expect("create");
    assert_eq!(web.security_group_rules.len(), 2, "a new group gets the two egress rules");
    let rule = |proto: &str, min: Option<i64>, max: Option<i64>| RuleRequest {
        security_group_id: Some(web.id.clone()),
        direction: Some("ingress".into()),
        protocol: Some(proto.into()),
        port_range_min: min,
        port_range_max: max,
        ..Default::default()
    };
    n.rule_create(&c, rule("tcp", Some(80), Some(80))).await.expect("tcp/80");
    assert!(matches!(n.rule_create(&c, rule("6", Some(80), Some(80))).await, Err(CoreError::Conflict(_))), "6 is tcp");
    for (p, a, b, text) in [
        ("tcp", Some(-16), Some(80), "Invalid value for port -16"),
        ("tcp", Some(80), Some(79), "port_range_min must be <= port_range_max"),
        ("icmp", Some(1), Some(256), "Invalid value for ICMP code"),
        ("icmp", None, Some(6), "ICMP type (port-range-min) is missing"),
        ("bad_protocol_name", None, None, "not supported"),
    ] {
        let e = n.rule_create(&c, rule(p, a, b)).await.expect_err("refused");
        assert!(matches!(e, CoreError::BadRequest(ref m) if m.contains(text)), "{p} {a:?} {b:?}: {e}");
    }
    let other = member("p2");
    assert!(matches!(n.sg_get(&other, &web.id).await, Err(CoreError::NotFound(_))), "another project's group is a 404");
}

#[tokio::test]
async fn floating_ips_need_a_router_path_to_the_external_network() {
    let t = testing::sqlite().await;
    let n = Networking::new(t.store.clone(), no_clouds(&t.store));
    let (a, c) = (admin(), member("p1"));
    let public =
        n.network_create(&a, NetworkRequest { external: Some(true), ..Default::default() }).await.expect("public");
    n.subnet_create(
        &a,
        SubnetRequest { network_id: Some(public.id.clone()), cidr: Some("172.24.4.0/24".into()), ..Default::default() },
    )
    .await
    .expect("public subnet");
    let (net, subnet) = network_with_subnet(&n, &c, "10.2.0.0/28").await;
    let port =
        n.port_create(&c, PortRequest { network_id: Some(net.clone()), ..Default::default() }).await.expect("port");
    let unreachable = n.fip_create(&c, public.id.clone(), Some(port.id.clone()), None, None, String::new(), None).await;
    assert!(
        matches!(unreachable, Err(CoreError::NotFound(ref m)) if m.starts_with("ExternalGatewayForFloatingIPNotFound"))
    );
    assert!(n.store.ip_allocations_of_subnet(&port.fixed_ips[0].subnet_id).await.expect("allocs").len() == 1);
    let router = n
        .router_create(&c, "r".into(), true, String::new(), Some((public.id.clone(), None)), None)
        .await
        .expect("router");
    assert!(router.external_gateway_info.as_ref().is_some_and(|g| g.external_fixed_ips.len() == 1));
    let iface = n
        .router_interface(&c, &router.id, Add(InterfaceRef { subnet_id: Some(subnet.clone()), port_id: None }))
        .await
        .expect("interface");
    let fip =
        n.fip_create(&c, public.id.clone(), Some(port.id.clone()), None, None, String::new(), None).await.expect("fip");
    assert_eq!(fip.router_id.as_deref(), Some(router.id.as_str()));
    assert!(matches!(n.router_delete(&c, &router.id).await, Err(CoreError::Conflict(_))), "interfaces keep it in use");
    n.port_delete(&c, &port.id).await.expect("delete port");
    let after = n.fip_get(&c, &fip.id).await.expect("fip");
    assert!(after.port_id.is_none() && after.router_id.is_none(), "deleting the port disassociates");
    n.fip_delete(&c, &fip.id).await.expect("delete fip");
    n.router_interface(&c, &router.id, Remove(InterfaceRef { subnet_id: Some(subnet), port_id: None }))
        .await
        .expect("remove interface");
    assert!(n.port_get(&c, &iface.port_id).await.is_err());
    n.router_delete(&c, &router.id).await.expect("delete router");
    let public_ips = n
        .store
        .ip_allocations_of_subnet(&n.children::<model::Subnet>(&public.id).await.expect("subnets")[0].id)
        .await
        .expect("allocs");
    assert!(public_ips.is_empty(), "gateway and floating addresses are returned: {public_ips:?}");
}

#[tokio::test]
async fn quotas_cap_creation_and_only_admins_change_them() {
    let t = testing::sqlite().await;
    let n = Networking::new(t.store.clone(), no_clouds(&t.store));
    let (a, c) = (admin(), member("p1"));
    assert_eq!(n.quota_get(&c, "p1").await.expect("own quota").get("port"), Some(&500));
    assert!(matches!(n.quota_get(&member("p2"), "p1").await, Err(CoreError::Forbidden(_))));
    let limits = [("port".to_string(), 1)].into_iter().collect();
    assert!(
        matches!(n.quota_set(&c, "p1", &limits).await, Err(CoreError::Forbidden(_))),
        "members cannot raise their quota"
    );
    n.quota_set(&a, "p1", &limits).await.expect("admin sets it");
    let net = n.network_create(&c, NetworkRequest::default()).await.expect("network");
    let port = || PortRequest { network_id: Some(net.id.clone()), ..Default::default() };
    n.port_create(&c, port()).await.expect("within quota");
    let over = n.port_create(&c, port()).await.expect_err("over quota");
    assert!(matches!(over, CoreError::Conflict(ref m) if m.starts_with("OverQuota")), "{over}");
    let details = n.quota_details(&c, "p1").await.expect("details");
    assert_eq!(details.get("port"), Some(&(1, 1)));
    n.quota_reset(&a, "p1").await.expect("reset");
    n.port_create(&c, port()).await.expect("back to the default");
    let bad = [("nonsense".to_string(), 1)].into_iter().collect();
    assert!(matches!(n.quota_set(&a, "p1", &bad).await, Err(CoreError::BadRequest(_))));
}

fn no_clouds(store: &hybridstack_store::Store) -> std::sync::Arc<crate::clouds::Clouds> {
    crate::clouds::Clouds::new(store.clone(), std::sync::Arc::new(crate::clouds::NoDrivers))
}

#[tokio::test]
async fn a_change_the_clouds_must_follow_rings_the_engines_doorbell() {
    let t = testing::sqlite().await;
    let clouds = no_clouds(&t.store);
    let n = Networking::new(t.store.clone(), clouds.clone());
    let c = member("p1");
    let (net, _) = network_with_subnet(&n, &c, "10.2.0.0/24").await;
    // The subnet's DHCP port rang it already; that ring is answered here.
    clouds.rung();
    assert!(!clouds.rung(), "nothing queued since");
    n.port_create(&c, PortRequest { network_id: Some(net), ..Default::default() }).await.expect("port");
    assert!(clouds.rung(), "a port queues a network sync, and an idle worker is woken for it");
    assert!(!clouds.rung(), "one ring per change");
}
