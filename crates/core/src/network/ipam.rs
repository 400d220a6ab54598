//! Address arithmetic for subnets: CIDRs, allocation pools, picking free addresses and
//! EUI-64 addresses for SLAAC. The store's primary key on (subnet, address) is what makes
//! allocation safe under concurrency; this module only proposes candidates.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::model::Pool;
use super::{fault, Fault};
use crate::CoreError;

pub fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

pub fn from_u128(v: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(v))
    } else {
        IpAddr::V4(Ipv4Addr::from(u32::try_from(v).unwrap_or(u32::MAX)))
    }
}

/// A CIDR whose address is its network address (`10.0.0.5/24` is refused).
pub fn parse_cidr(s: &str) -> Result<IpNet, CoreError> {
    let net: IpNet = s.parse().map_err(|_| {
        fault(Fault::InvalidInput, format!("Invalid input for cidr. Reason: '{s}' is not a valid IP subnet."))
    })?;
    if net.trunc() != net {
        return Err(fault(
            Fault::InvalidInput,
            format!(
                "Invalid input for cidr. Reason: '{s}' isn't a recognized IP subnet cidr, '{}' is recommended.",
                net.trunc()
            ),
        ));
    }
    Ok(net)
}

pub fn parse_ip(s: &str) -> Result<IpAddr, CoreError> {
    s.parse().map_err(|_| {
        fault(Fault::InvalidInput, format!("Invalid input for operation: '{s}' is not a valid IP address."))
    })
}

/// First and last usable addresses: IPv4 leaves out the network and broadcast addresses
/// (for prefixes up to /30), IPv6 only the subnet-router anycast address.
pub fn usable_range(net: &IpNet) -> (u128, u128) {
    let first = to_u128(net.network());
    let last = to_u128(net.broadcast());
    match net {
        IpNet::V4(n) if n.prefix_len() <= 30 => (first + 1, last - 1),
        IpNet::V4(_) => (first, last),
        IpNet::V6(_) => (first + 1, last),
    }
}

/// The default pools: the usable range without the gateway.
pub fn default_pools(net: &IpNet, gateway: Option<IpAddr>) -> Vec<Pool> {
    let (first, last) = usable_range(net);
    let v6 = matches!(net, IpNet::V6(_));
    let p = |a: u128, b: u128| Pool { start: from_u128(a, v6).to_string(), end: from_u128(b, v6).to_string() };
    match gateway.map(to_u128) {
        Some(g) if g >= first && g <= last => {
            let mut pools = Vec::new();
            if g > first {
                pools.push(p(first, g - 1));
            }
            if g < last {
                pools.push(p(g + 1, last));
            }
            pools
        }
        _ => vec![p(first, last)],
    }
}

pub fn pool_bounds(pools: &[Pool]) -> Result<Vec<(u128, u128)>, CoreError> {
    pools.iter().map(|p| Ok((to_u128(parse_ip(&p.start)?), to_u128(parse_ip(&p.end)?)))).collect()
}

/// Checks explicit pools: inside the subnet, ordered, not overlapping, gateway outside.
pub fn validate_pools(net: &IpNet, pools: &[Pool], gateway: Option<IpAddr>) -> Result<(), CoreError> {
    let mut bounds = pool_bounds(pools)?;
    let (first, last) = (to_u128(net.network()), to_u128(net.broadcast()));
    for (i, p) in pools.iter().enumerate() {
        let (a, b) = bounds[i];
        let same_family = parse_ip(&p.start)?.is_ipv6() == matches!(net, IpNet::V6(_));
        if !same_family || a > b || a < first || b > last {
            return Err(fault(
                Fault::InvalidAllocationPool,
                format!("The allocation pool {}-{} spans beyond the subnet cidr {net}.", p.start, p.end),
            ));
        }
    }
    bounds.sort();
    for w in bounds.windows(2) {
        if w[1].0 <= w[0].1 {
            return Err(fault(Fault::OverlappingAllocationPools, "Found overlapping allocation pools.".into()));
        }
    }
    if let Some(g) = gateway.map(to_u128) {
        if bounds.iter().any(|(a, b)| g >= *a && g <= *b) {
            return Err(fault(
                Fault::GatewayConflictWithAllocationPools,
                format!("Gateway ip {} conflicts with allocation pool.", from_u128(g, matches!(net, IpNet::V6(_)))),
            ));
        }
    }
    Ok(())
}

/// A free address of the pools, skipping `taken`: the first one, or with `spread` one of the
/// first 64 free ones at random, so that requests racing for addresses stop colliding.
pub fn pick_free(pools: &[Pool], v6: bool, taken: &HashSet<u128>, spread: bool) -> Result<Option<IpAddr>, CoreError> {
    let want = if spread { 64 } else { 1 };
    let mut found = Vec::with_capacity(want);
    for (a, b) in pool_bounds(pools)? {
        let mut x = a;
        while x <= b && found.len() < want {
            if !taken.contains(&x) {
                found.push(x);
            }
            x += 1;
        }
    }
    if found.is_empty() {
        return Ok(None);
    }
    use rand::Rng;
    let i = if spread { rand::thread_rng().gen_range(0..found.len()) } else { 0 };
    Ok(Some(from_u128(found[i], v6)))
}

/// The SLAAC address of `mac` in a /64 (RFC 4291 appendix A: EUI-64 with the U/L bit flipped).
pub fn eui64(net: &IpNet, mac: &str) -> Result<IpAddr, CoreError> {
    let bytes: Vec<u8> = mac.split(':').filter_map(|h| u8::from_str_radix(h, 16).ok()).collect();
    if bytes.len() != 6 {
        return Err(fault(
            Fault::InvalidInput,
            format!("Invalid input for mac_address: '{mac}' is not a valid MAC address."),
        ));
    }
    let iid = [bytes[0] ^ 0x02, bytes[1], bytes[2], 0xff, 0xfe, bytes[3], bytes[4], bytes[5]];
    let prefix = to_u128(net.network()) & !((1u128 << 64) - 1);
    Ok(IpAddr::V6(Ipv6Addr::from(prefix | u128::from(u64::from_be_bytes(iid)))))
}

pub fn random_mac() -> String {
    use rand::Rng;
    let mut r = rand::thread_rng();
    format!("fa:16:3e:{:02x}:{:02x}:{:02x}", r.gen::<u8>(), r.gen::<u8>(), r.gen::<u8>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pools_leave_out_network_broadcast_and_gateway() {
        let net = parse_cidr("10.100.0.0/28").expect("cidr");
        let gw = Some("10.100.0.1".parse().expect("ip"));
        assert_eq!(default_pools(&net, gw), vec![Pool { start: "10.100.0.2".into(), end: "10.100.0.14".into() }]);
        let mid = Some("10.100.0.5".parse().expect("ip"));
        assert_eq!(default_pools(&net, mid).len(), 2);
        let v6 = parse_cidr("2001:db8::/64").expect("cidr");
        let pools = default_pools(&v6, Some("2001:db8::1".parse().expect("ip")));
        assert_eq!(pools[0].start, "2001:db8::2");
        assert_eq!(pools[0].end, "2001:db8::ffff:ffff:ffff:ffff");
        assert!(parse_cidr("10.0.0.5/24").is_err());
    }

    #[test]
    fn eui64_matches_the_rfc_example_shape() {
        let net = parse_cidr("2001:db8::/64").expect("cidr");
        assert_eq!(eui64(&net, "fa:16:3e:72:49:c9").expect("eui").to_string(), "2001:db8::f816:3eff:fe72:49c9");
    }

    #[test]
    fn pools_must_fit_and_not_hold_the_gateway() {
        let net = parse_cidr("10.0.0.0/28").expect("cidr");
        let gw = Some("10.0.0.1".parse().expect("ip"));
        let ok = vec![Pool { start: "10.0.0.3".into(), end: "10.0.0.7".into() }];
        assert!(validate_pools(&net, &ok, gw).is_ok());
        let outside = vec![Pool { start: "10.0.0.3".into(), end: "10.0.0.20".into() }];
        assert!(validate_pools(&net, &outside, gw).is_err());
        let with_gw = vec![Pool { start: "10.0.0.1".into(), end: "10.0.0.7".into() }];
        assert!(validate_pools(&net, &with_gw, gw).is_err());
        let taken: HashSet<u128> = [to_u128("10.0.0.3".parse().expect("ip"))].into_iter().collect();
        assert_eq!(pick_free(&ok, false, &taken, false).expect("free"), Some("10.0.0.4".parse().expect("ip")));
    }
}
