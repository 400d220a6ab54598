//! Routers and floating IPs on a local libvirt host, as Neutron's L3 agent does them but in
//! the host's own namespace: the host already holds each tenant subnet's gateway address on
//! the network's bridge, so it routes; what a router adds is permission to forward between
//! its networks, SNAT to its gateway address on the external network, and for a floating IP
//! 1:1 NAT (DNAT in, SNAT out) with the address held on the external bridge.
//!
//! Each router and floating IP is one nftables table (`hs_r_<installation tag>_<cloud tag>_<id>`,
//! `hs_f_…`, see `marks`), replaced atomically by one `nft -f` transaction, so ensure is
//! idempotent and delete is dropping the table. libvirt's isolated networks reject forwarded
//! traffic in its `LIBVIRT_FWX/FWI/FWO` chains; a router's table marks the packets it allows
//! and one rule in `LIBVIRT_FWX` accepts marked packets, after the nwfilter chains, so
//! security groups still apply. The `nft` and `ip` tools are driven as commands: there is no
//! maintained Rust crate for nftables scripts, and these are what Neutron's agents run too.

use std::io::Write;
use std::process::{Command, Stdio};

use hybridstack_driver::{DriverError, FloatingIpSpec, Owned, RouterSpec};
use virt::connect::Connect;

use crate::errors::is_missing;
use crate::marks::Marks;
use crate::net::bridge_name;
use crate::Inner;

/// The mark bit a router's table sets on the packets it lets through.
const MARK: &str = "0x00480000";

/// The id back from a table name (32 hex digits, re-hyphenated as a UUID).
fn id_of(hex: &str) -> Option<String> {
    (hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]))
}

fn run(program: &str, args: &[&str], input: Option<&str>) -> Result<String, DriverError> {
    let mut cmd = Command::new(program);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child =
        cmd.spawn().map_err(|e| DriverError::Failed(format!("cannot run {program} (is it installed?): {e}")))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(text.as_bytes()).map_err(|e| DriverError::Failed(format!("{program}: {e}")))?;
    }
    let out = child.wait_with_output().map_err(|e| DriverError::Failed(format!("{program}: {e}")))?;
    if !out.status.success() {
        return Err(DriverError::Failed(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Replaces a table with `body` in one transaction (creating it first makes the delete safe).
fn replace_table(name: &str, body: &str) -> Result<(), DriverError> {
    let script = format!("table ip {name} {{}}\ndelete table ip {name}\ntable ip {name} {{\n{body}}}\n");
    run("nft", &["-f", "-"], Some(&script)).map(|_| ())
}

/// What a table says about the address it put on a bridge (kept in its `info` chain).
fn table_address(name: &str) -> Result<Option<(String, String)>, DriverError> {
    let text = match run("nft", &["list", "table", "ip", name], None) {
        Ok(t) => t,
        Err(DriverError::Failed(m)) if m.contains("No such file") => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(rest) = text.split("comment \"hs-addr ").nth(1) else { return Ok(None) };
    let note = rest.split('"').next().unwrap_or_default();
    Ok(note.split_once(' ').map(|(a, d)| (a.to_string(), d.to_string())))
}

fn drop_table(name: &str) -> Result<(), DriverError> {
    if let Some((addr, dev)) = table_address(name)? {
        // The address may be gone already (its bridge went with its network).
        let _ = run("ip", &["addr", "del", &format!("{addr}/32"), "dev", &dev], None);
    }
    match run("nft", &["delete", "table", "ip", name], None) {
        Ok(_) => Ok(()),
        Err(DriverError::Failed(m)) if m.contains("No such file") => Ok(()),
        Err(e) => Err(e),
    }
}

/// The forwarding the host needs: IPv4 forwarding on, and libvirt's isolation letting our
/// marked packets through.
fn ensure_host_forwarding() -> Result<(), DriverError> {
    if std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").map(|v| v.trim() != "1").unwrap_or(true) {
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "1")
            .map_err(|e| DriverError::Failed(format!("cannot turn on IPv4 forwarding: {e}")))?;
    }
    let rule = ["LIBVIRT_FWX", "-m", "mark", "--mark", &format!("{MARK}/{MARK}"), "-j", "ACCEPT"];
    if run("iptables", &[&["-C"], &rule[..]].concat(), None).is_err() {
        // Without libvirt's chains there is no isolation to let through.
        if run("iptables", &["-S", "LIBVIRT_FWX"], None).is_ok() {
            run("iptables", &[&["-A"], &rule[..]].concat(), None)?;
        }
    }
    Ok(())
}

fn require_network(conn: &Connect, id: &str) -> Result<String, DriverError> {
    match conn.lookup_network_by_uuid_string(id) {
        Ok(_) => Ok(bridge_name(id)),
        Err(e) if is_missing(&e) => Err(DriverError::NotFound(format!("network {id} is not realised on this cloud"))),
        Err(e) => Err(crate::errors::lv("looking up the network", e)),
    }
}

fn set_list(items: &[String]) -> String {
    format!("{{ {} }}", items.iter().map(|i| format!("\"{i}\"")).collect::<Vec<_>>().join(", "))
}

pub(crate) fn ensure_router(inner: &Inner, conn: &Connect, r: &RouterSpec) -> Result<String, DriverError> {
    let name = inner.marks.table('r', &r.id);
    let mut inside: Vec<String> = Vec::new();
    for i in &r.interfaces {
        let b = require_network(conn, &i.network_id)?;
        if !inside.contains(&b) {
            inside.push(b);
        }
    }
    if inside.is_empty() {
        drop_table(&name)?;
        return Ok(name);
    }
    let ins = set_list(&inside);
    let mut forward = format!(
        "type filter hook forward priority -10; policy accept;\n\
         iifname {ins} oifname {ins} meta mark set meta mark | {MARK}\n"
    );
    let mut nat = String::new();
    let mut info = String::new();
    if let Some(g) = &r.gateway {
        let ext = require_network(conn, &g.network.id)?;
        run("ip", &["addr", "replace", &format!("{}/32", g.address), "dev", &ext], None)?;
        info = format!("chain info {{\ncounter comment \"hs-addr {} {ext}\"\n}}\n", g.address);
        forward += &format!(
            "iifname {ins} oifname \"{ext}\" meta mark set meta mark | {MARK}\n\
             iifname \"{ext}\" oifname {ins} ct state established,related meta mark set meta mark | {MARK}\n"
        );
        if g.snat {
            let cidrs: Vec<&str> = r.interfaces.iter().map(|i| i.cidr.as_str()).collect();
            nat = format!(
                "chain postrouting {{\ntype nat hook postrouting priority 100; policy accept;\n\
                 ip saddr {{ {} }} oifname \"{ext}\" snat to {}\n}}\n",
                cidrs.join(", "),
                g.address
            );
        } else {
            forward += &format!("iifname \"{ext}\" oifname {ins} meta mark set meta mark | {MARK}\n");
        }
    }
    ensure_host_forwarding()?;
    replace_table(&name, &format!("{info}chain forward {{\n{forward}}}\n{nat}"))?;
    Ok(name)
}

pub(crate) fn delete_router(inner: &Inner, id: &str) -> Result<(), DriverError> {
    drop_table(&inner.marks.table('r', id))
}

pub(crate) fn ensure_floating_ip(inner: &Inner, conn: &Connect, f: &FloatingIpSpec) -> Result<String, DriverError> {
    let name = inner.marks.table('f', &f.id);
    let ext = require_network(conn, &f.floating_network_id)?;
    let int = require_network(conn, &f.fixed_network_id)?;
    let (fip, fixed) = (&f.floating_ip_address, &f.fixed_ip_address);
    // A floating IP moved to another port leaves its old translation behind otherwise.
    if let Some((old, dev)) = table_address(&name)? {
        if &old != fip || dev != ext {
            let _ = run("ip", &["addr", "del", &format!("{old}/32"), "dev", &dev], None);
        }
    }
    run("ip", &["addr", "replace", &format!("{fip}/32"), "dev", &ext], None)?;
    ensure_host_forwarding()?;
    // Before the router's SNAT (priority 100), so the port's own traffic leaves as its
    // floating IP.
    let body = format!(
        "chain info {{\ncounter comment \"hs-addr {fip} {ext}\"\n}}\n\
         chain prerouting {{\ntype nat hook prerouting priority -110; policy accept;\n\
         ip daddr {fip} dnat to {fixed}\n}}\n\
         chain postrouting {{\ntype nat hook postrouting priority 90; policy accept;\n\
         ip saddr {fixed} oifname \"{ext}\" snat to {fip}\n}}\n\
         chain forward {{\ntype filter hook forward priority -10; policy accept;\n\
         iifname \"{ext}\" oifname \"{int}\" ip daddr {fixed} meta mark set meta mark | {MARK}\n}}\n"
    );
    replace_table(&name, &body)?;
    Ok(name)
}

pub(crate) fn delete_floating_ip(inner: &Inner, id: &str) -> Result<(), DriverError> {
    drop_table(&inner.marks.table('f', id))
}

/// Every router and floating IP table on the host that is named like ours, with who made
/// it (by the tags in its name) and whether it is this cloud's of this installation.
pub(crate) fn tables(marks: &Marks) -> Result<Vec<(Owned, hybridstack_driver::Maker, bool)>, DriverError> {
    let text = match run("nft", &["list", "tables", "ip"], None) {
        Ok(t) => t,
        // No nftables on this host: nothing of ours can be there.
        Err(DriverError::Failed(m)) if m.contains("cannot run") => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(name) = line.trim().strip_prefix("table ip ") else { continue };
        for (kind, prefix) in [("router", "hs_r_"), ("floatingip", "hs_f_")] {
            let Some(tagged) = name.strip_prefix(prefix) else { continue };
            let Some((maker, mine, hex)) = marks.maker_of_name(tagged, '_') else { continue };
            if let Some(id) = id_of(hex) {
                out.push((Owned { kind, id, reference: name.to_string() }, maker, mine));
            }
        }
    }
    Ok(out)
}

/// This cloud's routers and floating IPs, from the host's tables.
pub(crate) fn owned(marks: &Marks) -> Result<Vec<Owned>, DriverError> {
    Ok(tables(marks)?.into_iter().filter(|(_, _, mine)| *mine).map(|(o, _, _)| o).collect())
}

/// Renames a legacy table to this installation's name for it: the new table is made from the
/// old one's rules, then the old one goes (its address stays on the bridge for the new one).
pub(crate) fn rename_table(old: &str, new: &str) -> Result<(), DriverError> {
    let text = run("nft", &["list", "table", "ip", old], None)?;
    let body = text
        .split_once('{')
        .map(|(_, rest)| rest.trim_end().trim_end_matches('}').to_string())
        .ok_or_else(|| DriverError::Failed(format!("nft listed table {old} in an unexpected form")))?;
    replace_table(new, &body)?;
    run("nft", &["delete", "table", "ip", old], None).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_round_trip_to_ids() {
        let id = "0b7c5a3e-1234-4f00-9abc-def012345678";
        let marks = Marks::new(Some("0b7c5a3e-1234-4f00-9abc-def012345678"), "local").expect("marks");
        let t = marks.table('r', id);
        assert!(t.starts_with(&format!("hs_r_0b7c5a3e1234_{}_", crate::marks::cloud_tag("local"))), "{t}");
        let hex = t.rsplit('_').next().unwrap_or_default();
        assert_eq!(id_of(hex).as_deref(), Some(id));
        assert_eq!(id_of("xyz"), None);
    }
}
