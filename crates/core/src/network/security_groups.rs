//! Security groups and their rules, with Neutron's validation and the per-project default group.

use hybridstack_store::write::Write;

use super::ipam::parse_ip;
use super::model::{Port, SecurityGroup, SecurityGroupRule};
use super::{fault, new_id, now, stored_as, Fault, Networking};
use crate::policy::RequestContext;
use crate::CoreError;

stored_as!(SecurityGroup, "security_group");

stored_as!(SecurityGroupRule, "security_group_rule", parent: security_group_id);

#[derive(Debug, Default, Clone)]
pub struct RuleRequest {
    pub security_group_id: Option<String>,
    pub project_id: Option<String>,
    pub direction: Option<String>,
    pub ethertype: Option<String>,
    pub protocol: Option<String>,
    pub port_range_min: Option<i64>,
    pub port_range_max: Option<i64>,
    pub remote_ip_prefix: Option<String>,
    pub remote_group_id: Option<String>,
    pub description: Option<String>,
}

const PROTOCOLS: &[(&str, u8)] = &[
    ("ah", 51),
    ("dccp", 33),
    ("egp", 8),
    ("esp", 50),
    ("gre", 47),
    ("hopopt", 0),
    ("icmp", 1),
    ("igmp", 2),
    ("ip", 0),
    ("ipip", 4),
    ("ipv6-encap", 41),
    ("ipv6-frag", 44),
    ("ipv6-icmp", 58),
    ("icmpv6", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("ipv6-route", 43),
    ("ospf", 89),
    ("pgm", 113),
    ("rsvp", 46),
    ("sctp", 132),
    ("tcp", 6),
    ("udp", 17),
    ("udplite", 136),
    ("vrrp", 112),
];

fn bad(kind: Fault, m: String) -> CoreError {
    fault(kind, m)
}

/// The protocol's number, for comparing a name with a number.
fn protocol_number(p: &Option<String>) -> Option<u8> {
    let p = p.as_deref()?;
    PROTOCOLS.iter().find(|(n, _)| *n == p).map(|(_, v)| *v).or_else(|| p.parse().ok())
}

fn normalize_protocol(p: Option<String>) -> Result<Option<String>, CoreError> {
    let Some(p) = p else { return Ok(None) };
    let lower = p.to_ascii_lowercase();
    if lower == "any" || lower.is_empty() {
        return Ok(None);
    }
    if PROTOCOLS.iter().any(|(n, _)| *n == lower) {
        return Ok(Some(lower));
    }
    match lower.parse::<i64>() {
        Ok(n) if (0..=255).contains(&n) => Ok(Some(n.to_string())),
        _ => Err(bad(
            Fault::SecurityGroupRuleInvalidProtocol,
            format!("Security group rule protocol {p} not supported. Only protocol values [None, ah, dccp, egp, esp, gre, icmp, igmp, ipv6-encap, ipv6-frag, ipv6-icmp, ipv6-nonxt, ipv6-opts, ipv6-route, ospf, pgm, rsvp, sctp, tcp, udp, udplite, vrrp] and integer representations [0 to 255] are supported."),
        )),
    }
}

fn check_ports(protocol: &Option<String>, min: &mut Option<i64>, max: &mut Option<i64>) -> Result<(), CoreError> {
    let num = protocol_number(protocol);
    let port_proto = matches!(num, Some(6 | 17 | 33 | 132 | 136));
    let icmp = matches!(num, Some(1 | 58));
    if port_proto {
        for v in [*min, *max].into_iter().flatten() {
            if !(0..=65535).contains(&v) || v == 0 {
                return Err(bad(Fault::InvalidInput, format!("Invalid value for port {v}.")));
            }
        }
        match (*min, *max) {
            (Some(a), Some(b)) if a > b => {
                return Err(bad(
                    Fault::InvalidInput,
                    "For TCP/UDP protocols, port_range_min must be <= port_range_max".into(),
                ))
            }
            (None, Some(_)) | (Some(_), None) => {
                return Err(bad(
                    Fault::InvalidInput,
                    "For TCP/UDP protocols, port_range_min must be <= port_range_max".into(),
                ))
            }
            (Some(1), Some(65535)) => {
                *min = None;
                *max = None;
            }
            _ => {}
        }
    } else if icmp {
        for (field, attr, v) in [("type", "port_range_min", *min), ("code", "port_range_max", *max)] {
            if let Some(v) = v {
                if !(0..=255).contains(&v) {
                    return Err(bad(
                        Fault::InvalidInput,
                        format!("Invalid value for ICMP {field} ({attr}) {v}. It must be 0 to 255."),
                    ));
                }
            }
        }
        if min.is_none() {
            if let Some(code) = max {
                return Err(bad(
                    Fault::InvalidInput,
                    format!("ICMP code (port-range-max) {code} is provided but ICMP type (port-range-min) is missing."),
                ));
            }
        }
    } else if min.is_some() || max.is_some() {
        return Err(bad(
            Fault::InvalidInput,
            "Port ranges can only be given for protocols with ports or ICMP types.".into(),
        ));
    }
    Ok(())
}

/// `10.0.0.1` becomes `10.0.0.1/32`; an invalid prefix is a 400 naming it.
fn normalize_prefix(p: &str, ethertype: &str) -> Result<(String, String), CoreError> {
    let invalid = || bad(Fault::InvalidCidr, format!("Invalid CIDR {p} given as IP prefix."));
    let with_len = if p.contains('/') {
        p.to_string()
    } else {
        let ip = parse_ip(p).map_err(|_| invalid())?;
        format!("{ip}/{}", if ip.is_ipv6() { 128 } else { 32 })
    };
    let net: ipnet::IpNet = with_len.parse().map_err(|_| invalid())?;
    if (ethertype == "IPv6") != net.addr().is_ipv6() {
        return Err(bad(Fault::InvalidInput, format!("Conflicting value ethertype {ethertype} for CIDR {p}")));
    }
    Ok((with_len, net.trunc().to_string()))
}

fn is_any(prefix: &Option<String>) -> bool {
    matches!(prefix.as_deref(), None | Some("0.0.0.0/0") | Some("::/0"))
}

impl Networking {
    fn rule(
        project: &str,
        sg: &str,
        direction: &str,
        ethertype: &str,
        remote_group: Option<String>,
        default: bool,
    ) -> SecurityGroupRule {
        let t = now();
        SecurityGroupRule {
            id: new_id(),
            project_id: project.into(),
            security_group_id: sg.into(),
            direction: direction.into(),
            ethertype: ethertype.into(),
            protocol: None,
            port_range_min: None,
            port_range_max: None,
            remote_ip_prefix: None,
            normalized_cidr: None,
            remote_group_id: remote_group,
            remote_address_group_id: None,
            belongs_to_default_sg: default,
            description: String::new(),
            created_at: t.clone(),
            updated_at: t,
            revision_number: 0,
        }
    }

    fn new_group(project: &str, name: &str, description: &str) -> SecurityGroup {
        let t = now();
        SecurityGroup {
            id: new_id(),
            name: name.into(),
            project_id: project.into(),
            description: description.into(),
            stateful: true,
            shared: false,
            tags: vec![],
            security_group_rules: vec![],
            created_at: t.clone(),
            updated_at: t,
            revision_number: 1,
        }
    }

    /// The project's `default` group, created on first use with Neutron's four rules: all
    /// egress, and ingress from members of the same group, for IPv4 and IPv6.
    pub(crate) async fn ensure_default_sg(&self, project: &str) -> Result<String, CoreError> {
        if let Some(g) =
            self.all::<SecurityGroup>().await?.into_iter().find(|g| g.project_id == project && g.name == "default")
        {
            return Ok(g.id);
        }
        let g = Self::new_group(project, "default", "Default security group");
        let mut c = Write { put: vec![Self::object(&g)?], ..Default::default() };
        for eth in ["IPv4", "IPv6"] {
            c.put.push(Self::object(&Self::rule(project, &g.id, "egress", eth, None, true))?);
            c.put.push(Self::object(&Self::rule(project, &g.id, "ingress", eth, Some(g.id.clone()), true))?);
        }
        self.apply(c).await?;
        Ok(g.id)
    }

    async fn with_rules(&self, mut g: SecurityGroup) -> Result<SecurityGroup, CoreError> {
        g.security_group_rules = self.children::<SecurityGroupRule>(&g.id).await?;
        Ok(g)
    }

    pub async fn sg_list(&self, ctx: &RequestContext) -> Result<Vec<SecurityGroup>, CoreError> {
        if let Some(p) = ctx.project_id() {
            self.ensure_default_sg(p).await?;
        }
        let mut out = Vec::new();
        for g in self.all::<SecurityGroup>().await? {
            if Self::owns(ctx, &g.project_id) {
                out.push(self.with_rules(g).await?);
            }
        }
        Ok(out)
    }

    pub async fn sg_get(&self, ctx: &RequestContext, id: &str) -> Result<SecurityGroup, CoreError> {
        match self.load::<SecurityGroup>(id).await? {
            Some(g) if Self::owns(ctx, &g.project_id) => self.with_rules(g).await,
            _ => Err(fault(Fault::SecurityGroupNotFound, format!("Security group {id} does not exist"))),
        }
    }

    pub async fn sg_create(
        &self,
        ctx: &RequestContext,
        name: String,
        description: String,
        project: Option<String>,
    ) -> Result<SecurityGroup, CoreError> {
        ctx.require_member()?;
        let project = Self::target_project(ctx, project)?;
        self.ensure_default_sg(&project).await?;
        if name.eq_ignore_ascii_case("default") {
            return Err(fault(
                Fault::SecurityGroupDefaultAlreadyExists,
                "Default security group already exists.".into(),
            ));
        }
        self.check_quota(&project, "security_group").await?;
        let g = Self::new_group(&project, &name, &description);
        let mut c = Write { put: vec![Self::object(&g)?], ..Default::default() };
        for eth in ["IPv4", "IPv6"] {
            c.put.push(Self::object(&Self::rule(&project, &g.id, "egress", eth, None, false))?);
        }
        self.apply(c).await?;
        self.with_rules(g).await
    }

    pub async fn sg_update(
        &self,
        ctx: &RequestContext,
        id: &str,
        name: Option<String>,
        description: Option<String>,
    ) -> Result<SecurityGroup, CoreError> {
        ctx.require_member()?;
        let mut g = self.sg_get(ctx, id).await?;
        if g.name == "default" && name.as_deref().is_some_and(|n| n != "default") {
            return Err(fault(
                Fault::SecurityGroupCannotUpdateDefault,
                "Updating default security group not allowed.".into(),
            ));
        }
        if let Some(n) = name {
            if n.eq_ignore_ascii_case("default") && g.name != "default" {
                return Err(fault(
                    Fault::SecurityGroupDefaultAlreadyExists,
                    "Default security group already exists.".into(),
                ));
            }
            g.name = n;
        }
        if let Some(d) = description {
            g.description = d;
        }
        g.updated_at = now();
        g.revision_number += 1;
        g.security_group_rules.clear();
        self.apply(Write { put: vec![Self::object(&g)?], ..Default::default() }).await?;
        self.with_rules(g).await
    }

    pub async fn sg_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_member()?;
        let g = self.sg_get(ctx, id).await?;
        if g.name == "default" && !ctx.is_admin() {
            return Err(fault(
                Fault::SecurityGroupCannotRemoveDefault,
                "Removing default security group not allowed.".into(),
            ));
        }
        if self.all::<Port>().await?.iter().any(|p| p.security_groups.contains(&g.id)) {
            return Err(fault(Fault::SecurityGroupInUse, format!("Security Group {id} in use.")));
        }
        let mut c = Write::default();
        for r in &g.security_group_rules {
            c.delete.push(("security_group_rule".into(), r.id.clone()));
        }
        c.delete.push(("security_group".into(), g.id));
        self.apply(c).await
    }

    pub async fn rule_list(&self, ctx: &RequestContext) -> Result<Vec<SecurityGroupRule>, CoreError> {
        if let Some(p) = ctx.project_id() {
            self.ensure_default_sg(p).await?;
        }
        Ok(self.all::<SecurityGroupRule>().await?.into_iter().filter(|r| Self::owns(ctx, &r.project_id)).collect())
    }

    pub async fn rule_get(&self, ctx: &RequestContext, id: &str) -> Result<SecurityGroupRule, CoreError> {
        match self.load::<SecurityGroupRule>(id).await? {
            Some(r) if Self::owns(ctx, &r.project_id) => Ok(r),
            _ => Err(fault(Fault::SecurityGroupRuleNotFound, format!("Security group rule {id} does not exist"))),
        }
    }

    pub async fn rule_create(&self, ctx: &RequestContext, r: RuleRequest) -> Result<SecurityGroupRule, CoreError> {
        ctx.require_member()?;
        let sg_id = r.security_group_id.clone().ok_or_else(|| {
            bad(Fault::BadRequest, "Bad security_group_rule request: security_group_id is required.".into())
        })?;
        let direction = r.direction.clone().unwrap_or_default();
        if direction != "ingress" && direction != "egress" {
            return Err(bad(
                Fault::InvalidInput,
                format!("Invalid input for direction. Reason: '{direction}' is not in ['ingress', 'egress']."),
            ));
        }
        let ethertype = r.ethertype.clone().unwrap_or_else(|| "IPv4".into());
        if ethertype != "IPv4" && ethertype != "IPv6" {
            return Err(bad(
                Fault::SecurityGroupRuleInvalidEtherType,
                format!("Security group rule for ethertype '{ethertype}' not supported. Allowed values are ['IPv4', 'IPv6']."),
            ));
        }
        let protocol = normalize_protocol(r.protocol.clone())?;
        let (mut min, mut max) = (r.port_range_min, r.port_range_max);
        check_ports(&protocol, &mut min, &mut max)?;
        let (prefix, normalized) = match &r.remote_ip_prefix {
            Some(p) => {
                let (a, b) = normalize_prefix(p, &ethertype)?;
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        if prefix.is_some() && r.remote_group_id.is_some() {
            return Err(bad(Fault::InvalidInput, "Only remote_ip_prefix or remote_group_id may be provided.".into()));
        }
        let group = self.sg_get(ctx, &sg_id).await?;
        self.check_quota(&group.project_id, "security_group_rule").await?;
        if let Some(remote) = &r.remote_group_id {
            self.sg_get(ctx, remote).await?;
        }
        let mut rule = Self::rule(
            &group.project_id,
            &group.id,
            &direction,
            &ethertype,
            r.remote_group_id.clone(),
            group.name == "default",
        );
        rule.protocol = protocol;
        rule.port_range_min = min;
        rule.port_range_max = max;
        rule.remote_ip_prefix = prefix;
        rule.normalized_cidr = normalized;
        rule.description = r.description.unwrap_or_default();
        for other in &group.security_group_rules {
            let same = other.direction == rule.direction
                && other.ethertype == rule.ethertype
                && protocol_number(&other.protocol) == protocol_number(&rule.protocol)
                && other.port_range_min == rule.port_range_min
                && other.port_range_max == rule.port_range_max
                && other.remote_group_id == rule.remote_group_id
                && (other.normalized_cidr == rule.normalized_cidr
                    || is_any(&other.normalized_cidr) && is_any(&rule.normalized_cidr));
            if same {
                return Err(fault(
                    Fault::SecurityGroupRuleExists,
                    format!("Security group rule already exists. Rule id is {}.", other.id),
                ));
            }
        }
        self.apply(Write { put: vec![Self::object(&rule)?], ..Default::default() }).await?;
        Ok(rule)
    }

    pub async fn rule_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_member()?;
        let r = self.rule_get(ctx, id).await?;
        self.apply(Write { delete: vec![("security_group_rule".into(), r.id)], ..Default::default() }).await
    }
}
