//! Security groups as VPC security groups. AWS groups belong to one VPC, so a Neutron group
//! becomes one AWS group in each VPC that has a port in it, all tagged with the group's id.
//! Every rule is translated, nothing dropped: the protocol (by name or number), the port
//! range, ICMP and ICMPv6 type and code, IPv4 and IPv6 prefixes, and a remote group as a
//! source group (that group's AWS group in the same VPC). A group converges by difference
//! against what AWS holds, so AWS's own default egress rule goes when Neutron has none.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, Ipv6Range, ResourceType, SecurityGroup, UserIdGroupPair};
use hybridstack_driver::{DriverError, RuleSpec, SecurityGroupSpec};
use ipnet::IpNet;

use crate::errors::aws;
use crate::{tag_value, AwsCloud, TAG_ID, TAG_KIND};

pub(crate) const GROUP: &str = "security_group";
/// The groups a VPC needs for ports Neutron leaves without groups (no rule: nothing in or
/// out) or without port security (everything): AWS puts every ENI in at least one group.
const VPC_GROUP: &str = "vpc_group";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Peer {
    V4(String),
    V6(String),
    Group(String),
}

/// One AWS permission entry: a direction, protocol, port range (or ICMP type and code) and
/// one peer. AWS groups entries; these are compared one by one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Perm {
    pub egress: bool,
    pub protocol: String,
    pub from: i32,
    pub to: i32,
    pub peer: Peer,
}

/// IANA numbers of the protocol names Neutron accepts.
fn protocol_number(name: &str) -> Option<&'static str> {
    Some(match name {
        "ah" => "51",
        "dccp" => "33",
        "egp" => "8",
        "esp" => "50",
        "gre" => "47",
        "hopopt" => "0",
        "igmp" => "2",
        "ipip" => "4",
        "ipv6-encap" => "41",
        "ipv6-frag" => "44",
        "ipv6-nonxt" => "59",
        "ipv6-opts" => "60",
        "ipv6-route" => "43",
        "ospf" => "89",
        "pgm" => "113",
        "rsvp" => "46",
        "sctp" => "132",
        "udplite" => "136",
        "vrrp" => "112",
        _ => return None,
    })
}

/// The protocol as AWS names it, with its ports: TCP and UDP carry a range (all when
/// unset), ICMP and ICMPv6 a type and code (-1 for any), others none (AWS ignores them).
fn protocol_and_ports(r: &RuleSpec) -> Result<(String, i32, i32), DriverError> {
    let v6 = r.ethertype.eq_ignore_ascii_case("IPv6");
    let p = r.protocol.as_deref().map(str::to_ascii_lowercase);
    let port = |v: Option<i64>, dflt: i32| -> Result<i32, DriverError> {
        v.map_or(Ok(dflt), |x| i32::try_from(x).map_err(|_| DriverError::Rejected(format!("port {x} out of range"))))
    };
    let name = match p.as_deref() {
        None | Some("any") | Some("-1") => return Ok(("-1".into(), -1, -1)),
        Some("tcp" | "6") => "tcp",
        Some("udp" | "17") => "udp",
        Some("icmp" | "1") if !v6 => "icmp",
        Some("icmp" | "1" | "ipv6-icmp" | "icmpv6" | "58") => "58",
        Some(other) => {
            let n =
                protocol_number(other).map(str::to_string).or_else(|| other.parse::<u8>().ok().map(|n| n.to_string()));
            let n = n.ok_or_else(|| DriverError::Rejected(format!("protocol {other} has no IANA number")))?;
            return Ok((n, -1, -1));
        }
    };
    match name {
        "tcp" | "udp" => {
            let from = port(r.port_range_min, 0)?;
            let to = port(r.port_range_max, if r.port_range_min.is_some() { from } else { 65535 })?;
            Ok((name.into(), from, to))
        }
        _ => Ok((name.into(), port(r.port_range_min, -1)?, port(r.port_range_max, -1)?)),
    }
}

fn canonical(prefix: &str, v6: bool) -> Result<String, DriverError> {
    let with_len = if prefix.contains('/') {
        prefix.to_string()
    } else if v6 {
        format!("{prefix}/128")
    } else {
        format!("{prefix}/32")
    };
    let net: IpNet = with_len.parse().map_err(|_| DriverError::Rejected(format!("{prefix} is not a prefix")))?;
    Ok(net.trunc().to_string())
}

/// A Neutron rule as an AWS entry; `group_of` gives a remote group's AWS group id.
pub(crate) fn translate(r: &RuleSpec, group_of: &dyn Fn(&str) -> Option<String>) -> Result<Perm, DriverError> {
    let v6 = r.ethertype.eq_ignore_ascii_case("IPv6");
    let (protocol, from, to) = protocol_and_ports(r)?;
    let peer = match (&r.remote_group_id, &r.remote_ip_prefix) {
        (Some(g), _) => Peer::Group(
            group_of(g).ok_or_else(|| DriverError::NotFound(format!("remote group {g} is not realised here")))?,
        ),
        (None, Some(p)) if v6 => Peer::V6(canonical(p, true)?),
        (None, Some(p)) => Peer::V4(canonical(p, false)?),
        (None, None) if v6 => Peer::V6("::/0".into()),
        (None, None) => Peer::V4("0.0.0.0/0".into()),
    };
    Ok(Perm { egress: r.direction == "egress", protocol, from, to, peer })
}

/// AWS's entries, one per peer, in the same terms as `translate`'s.
pub(crate) fn flatten(g: &SecurityGroup) -> BTreeSet<Perm> {
    let mut out = BTreeSet::new();
    for (egress, perms) in [(false, g.ip_permissions()), (true, g.ip_permissions_egress())] {
        for p in perms {
            let protocol = match p.ip_protocol().unwrap_or("-1") {
                "6" => "tcp".to_string(),
                "17" => "udp".to_string(),
                "1" => "icmp".to_string(),
                "icmpv6" => "58".to_string(),
                other => other.to_string(),
            };
            let ported = matches!(protocol.as_str(), "tcp" | "udp" | "icmp" | "58");
            let (from, to) = if ported { (p.from_port().unwrap_or(-1), p.to_port().unwrap_or(-1)) } else { (-1, -1) };
            let mut add = |peer: Peer| {
                out.insert(Perm { egress, protocol: protocol.clone(), from, to, peer });
            };
            p.ip_ranges().iter().filter_map(|r| r.cidr_ip()).for_each(|c| add(Peer::V4(c.to_string())));
            p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()).for_each(|c| add(Peer::V6(c.to_string())));
            p.user_id_group_pairs().iter().filter_map(|r| r.group_id()).for_each(|c| add(Peer::Group(c.to_string())));
        }
    }
    out
}

fn permission(p: &Perm) -> IpPermission {
    let mut b = IpPermission::builder().ip_protocol(&p.protocol);
    if p.protocol != "-1" {
        b = b.from_port(p.from).to_port(p.to);
    }
    match &p.peer {
        Peer::V4(c) => b = b.ip_ranges(IpRange::builder().cidr_ip(c).build()),
        Peer::V6(c) => b = b.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).build()),
        Peer::Group(g) => b = b.user_id_group_pairs(UserIdGroupPair::builder().group_id(g).build()),
    }
    b.build()
}

/// AWS limits a group's description to printable ASCII.
fn description(name: &str) -> String {
    let d: String = name.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(200).collect();
    if d.is_empty() {
        "hybridstack security group".into()
    } else {
        d
    }
}

impl AwsCloud {
    async fn groups(&self, filters: Vec<Filter>) -> Result<Vec<SecurityGroup>, DriverError> {
        let out = self
            .ec2
            .describe_security_groups()
            .set_filters(Some(filters))
            .send()
            .await
            .map_err(|e| aws("listing security groups", e))?;
        Ok(out.security_groups().to_vec())
    }

    fn in_vpc(vpc_id: &str) -> Filter {
        Filter::builder().name("vpc-id").values(vpc_id).build()
    }

    /// The AWS group of a Neutron group in a VPC, made (with no rules yet) when missing.
    async fn group_shell(&self, vpc_id: &str, id: &str, name: &str, kind: &str) -> Result<String, DriverError> {
        let _held = self.lock(format!("sg:{vpc_id}:{id}")).await;
        let mut filters = self.ours(kind, Some(id));
        filters.push(Self::in_vpc(vpc_id));
        if let Some(g) = self.groups(filters).await?.first() {
            return Ok(g.group_id().unwrap_or_default().to_string());
        }
        let out = self
            .ec2
            .create_security_group()
            .group_name(format!("hs-{id}"))
            .description(description(name))
            .vpc_id(vpc_id)
            .tag_specifications(self.tag_spec(ResourceType::SecurityGroup, id, kind, name, &[]))
            .send()
            .await
            .map_err(|e| aws(&format!("creating security group {id}"), e))?;
        out.group_id().map(str::to_string).ok_or_else(|| DriverError::Failed("CreateSecurityGroup gave no id".into()))
    }

    /// Brings an AWS group's rules to exactly `want`.
    /// A group removed meanwhile (its VPC going) has nothing left to converge.
    async fn converge_rules(&self, group_id: &str, want: &BTreeSet<Perm>) -> Result<(), DriverError> {
        let _held = self.lock(format!("rules:{group_id}")).await;
        let out = match self.ec2.describe_security_groups().group_ids(group_id).send().await {
            Ok(o) => o,
            Err(e) => {
                return match aws("reading a security group", e) {
                    DriverError::NotFound(_) => Ok(()),
                    other => Err(other),
                }
            }
        };
        let have = out.security_groups().first().map(flatten).unwrap_or_default();
        let (add_in, add_out): (Vec<&Perm>, Vec<&Perm>) = want.difference(&have).partition(|p| !p.egress);
        let (del_in, del_out): (Vec<&Perm>, Vec<&Perm>) = have.difference(want).partition(|p| !p.egress);
        let changed = async {
            let perms = |v: &[&Perm]| Some(v.iter().map(|p| permission(p)).collect::<Vec<_>>());
            if !add_in.is_empty() {
                self.ec2
                    .authorize_security_group_ingress()
                    .group_id(group_id)
                    .set_ip_permissions(perms(&add_in))
                    .send()
                    .await
                    .map_err(|e| aws("adding ingress rules", e))?;
            }
            if !add_out.is_empty() {
                self.ec2
                    .authorize_security_group_egress()
                    .group_id(group_id)
                    .set_ip_permissions(perms(&add_out))
                    .send()
                    .await
                    .map_err(|e| aws("adding egress rules", e))?;
            }
            if !del_in.is_empty() {
                self.ec2
                    .revoke_security_group_ingress()
                    .group_id(group_id)
                    .set_ip_permissions(perms(&del_in))
                    .send()
                    .await
                    .map_err(|e| aws("removing ingress rules", e))?;
            }
            if !del_out.is_empty() {
                self.ec2
                    .revoke_security_group_egress()
                    .group_id(group_id)
                    .set_ip_permissions(perms(&del_out))
                    .send()
                    .await
                    .map_err(|e| aws("removing egress rules", e))?;
            }
            Ok::<(), DriverError>(())
        }
        .await;
        match changed {
            // Another writer got there first: a rule already revoked, or already added.
            Err(DriverError::NotFound(m)) if m.contains("InvalidPermission.NotFound") => Ok(()),
            Err(DriverError::Rejected(m)) if m.contains("InvalidPermission.Duplicate") => Ok(()),
            // The group itself went meanwhile (its VPC or the group being removed by another
            // operation): nothing is left to converge. A source group that went is retried.
            Err(DriverError::NotFound(m)) => {
                let again = self
                    .ec2
                    .describe_security_groups()
                    .group_ids(group_id)
                    .send()
                    .await
                    .map_err(|e| aws("reading a security group", e));
                match again {
                    Err(DriverError::NotFound(_)) => Ok(()),
                    _ => Err(DriverError::Transient(m)),
                }
            }
            other => other,
        }
    }

    /// The group's AWS group in the VPC, made when missing, with its rules converged; the
    /// groups its rules name as remote groups are made there too.
    pub(crate) async fn ensure_group_in(&self, vpc_id: &str, g: &SecurityGroupSpec) -> Result<String, DriverError> {
        let own = self.group_shell(vpc_id, &g.id, &g.name, GROUP).await?;
        let mut remote = std::collections::BTreeMap::new();
        for r in &g.rules {
            if let Some(rg) = &r.remote_group_id {
                if !remote.contains_key(rg) {
                    let id = if *rg == g.id { own.clone() } else { self.group_shell(vpc_id, rg, rg, GROUP).await? };
                    remote.insert(rg.clone(), id);
                }
            }
        }
        let lookup = |id: &str| remote.get(id).cloned();
        let want = g.rules.iter().map(|r| translate(r, &lookup)).collect::<Result<BTreeSet<_>, _>>()?;
        self.converge_rules(&own, &want).await?;
        Ok(own)
    }

    /// A VPC's group for ports with no groups (`open` false: nothing allowed) or with port
    /// security off (`open` true: everything allowed).
    pub(crate) async fn vpc_group(&self, vpc_id: &str, open: bool) -> Result<String, DriverError> {
        let name = if open { "allow-all" } else { "deny-all" };
        let id = format!("{name}-{vpc_id}");
        let g = self.group_shell(vpc_id, &id, name, VPC_GROUP).await?;
        let mut want = BTreeSet::new();
        if open {
            for egress in [false, true] {
                for peer in [Peer::V4("0.0.0.0/0".into()), Peer::V6("::/0".into())] {
                    want.insert(Perm { egress, protocol: "-1".into(), from: -1, to: -1, peer });
                }
            }
        }
        self.converge_rules(&g, &want).await?;
        Ok(g)
    }

    /// Deletes a group in every VPC. Rules of other groups that name it go first (AWS
    /// refuses to delete a group still referenced).
    pub(crate) async fn delete_group(&self, id: &str) -> Result<(), DriverError> {
        let mine = self.groups(self.ours(GROUP, Some(id))).await?;
        if mine.is_empty() {
            return Ok(());
        }
        let my_ids: BTreeSet<String> = mine.iter().filter_map(|g| g.group_id().map(str::to_string)).collect();
        for other in self.groups(self.mine()).await? {
            let Some(oid) = other.group_id() else { continue };
            if my_ids.contains(oid) {
                continue;
            }
            let keep: BTreeSet<Perm> = flatten(&other)
                .into_iter()
                .filter(|p| !matches!(&p.peer, Peer::Group(g) if my_ids.contains(g)))
                .collect();
            if keep.len() != flatten(&other).len() {
                self.converge_rules(oid, &keep).await?;
            }
        }
        for g in &mine {
            // Its own rules may name itself.
            let gid = g.group_id().unwrap_or_default();
            self.converge_rules(gid, &BTreeSet::new()).await?;
            self.delete_group_id(gid).await?;
        }
        Ok(())
    }

    async fn delete_group_id(&self, gid: &str) -> Result<(), DriverError> {
        match self.ec2.delete_security_group().group_id(gid).send().await {
            Ok(_) => Ok(()),
            Err(e) => match aws("deleting a security group", e) {
                DriverError::NotFound(_) => Ok(()),
                // Still on an ENI being taken away: the sync is retried.
                DriverError::Rejected(m) if m.contains("DependencyViolation") || m.contains("InUse") => {
                    Err(DriverError::Transient(m))
                }
                other => Err(other),
            },
        }
    }

    /// Every group of ours in a VPC (before the VPC goes).
    pub(crate) async fn remove_groups_in(&self, vpc_id: &str) -> Result<(), DriverError> {
        let all = self.groups([self.mine(), vec![Self::in_vpc(vpc_id)]].concat()).await?;
        for g in &all {
            self.converge_rules(g.group_id().unwrap_or_default(), &BTreeSet::new()).await?;
        }
        for g in &all {
            self.delete_group_id(g.group_id().unwrap_or_default()).await?;
        }
        Ok(())
    }

    /// Our Neutron groups realised here, by id (each once, whatever the VPCs).
    pub(crate) async fn owned_groups(&self) -> Result<Vec<(String, String)>, DriverError> {
        let mut out: Vec<(String, String)> = Vec::new();
        for g in self.groups(self.mine()).await? {
            if tag_value(g.tags(), TAG_KIND).as_deref() != Some(GROUP) {
                continue;
            }
            if let Some(id) = tag_value(g.tags(), TAG_ID) {
                if !out.iter().any(|(i, _)| *i == id) {
                    out.push((id, g.group_id().unwrap_or_default().to_string()));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(direction: &str, ethertype: &str, protocol: Option<&str>, min: Option<i64>, max: Option<i64>) -> RuleSpec {
        RuleSpec {
            direction: direction.into(),
            ethertype: ethertype.into(),
            protocol: protocol.map(str::to_string),
            port_range_min: min,
            port_range_max: max,
            remote_ip_prefix: None,
            remote_group_id: None,
            remote_addresses: vec![],
        }
    }

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn protocols_ports_and_icmp_translate() {
        let p = translate(&rule("ingress", "IPv4", Some("tcp"), Some(22), Some(22)), &none).expect("tcp");
        assert_eq!((p.protocol.as_str(), p.from, p.to, p.egress), ("tcp", 22, 22, false));
        assert_eq!(p.peer, Peer::V4("0.0.0.0/0".into()));
        let p = translate(&rule("ingress", "IPv4", Some("udp"), None, None), &none).expect("udp");
        assert_eq!((p.from, p.to), (0, 65535));
        let p = translate(&rule("ingress", "IPv4", Some("icmp"), Some(8), Some(0)), &none).expect("icmp");
        assert_eq!((p.protocol.as_str(), p.from, p.to), ("icmp", 8, 0));
        let p = translate(&rule("ingress", "IPv6", Some("ipv6-icmp"), Some(128), None), &none).expect("icmpv6");
        assert_eq!((p.protocol.as_str(), p.from, p.to), ("58", 128, -1));
        assert_eq!(p.peer, Peer::V6("::/0".into()));
        let p = translate(&rule("egress", "IPv4", None, None, None), &none).expect("any");
        assert_eq!((p.protocol.as_str(), p.egress), ("-1", true));
        let p = translate(&rule("ingress", "IPv4", Some("sctp"), Some(5), Some(6)), &none).expect("sctp");
        assert_eq!((p.protocol.as_str(), p.from, p.to), ("132", -1, -1));
        let p = translate(&rule("ingress", "IPv4", Some("47"), None, None), &none).expect("number");
        assert_eq!(p.protocol, "47");
        assert!(translate(&rule("ingress", "IPv4", Some("nonsense"), None, None), &none).is_err());
    }

    #[test]
    fn prefixes_and_remote_groups_translate() {
        let mut r = rule("ingress", "IPv6", Some("tcp"), Some(80), Some(81));
        r.remote_ip_prefix = Some("2001:db8::1/64".into());
        assert_eq!(translate(&r, &none).expect("v6").peer, Peer::V6("2001:db8::/64".into()));
        let mut r = rule("ingress", "IPv4", Some("tcp"), Some(80), Some(81));
        r.remote_ip_prefix = Some("10.1.2.3".into());
        assert_eq!(translate(&r, &none).expect("v4").peer, Peer::V4("10.1.2.3/32".into()));
        r.remote_group_id = Some("g2".into());
        let found = |id: &str| (id == "g2").then(|| "sg-2".to_string());
        assert_eq!(translate(&r, &found).expect("group").peer, Peer::Group("sg-2".into()));
        assert!(matches!(translate(&r, &none), Err(DriverError::NotFound(_))));
    }
}
