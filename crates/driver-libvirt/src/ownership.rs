//! `Ownership` for libvirt: what on the host looks like hybridstack's but is not this cloud's
//! of this installation (domains, networks, port filters, NAT tables and storage pools), and
//! the upgrade path that adopts this cloud's objects from before installation ids.
//!
//! Adoption rewrites the marks only: a domain's metadata (live and persistent), a network's
//! persistent definition, and the names of port filters and NAT tables, which carry the marks
//! (a filter is defined anew under its new name, the guests' interfaces are switched to it,
//! and the old one goes; a table is copied under its new name, then the old one is dropped).

use async_trait::async_trait;
use hybridstack_driver::{DriverError, Foreign, Maker, OwnershipQuery};
use hybridstack_driver_act::Ownership;
use virt::connect::Connect;

use crate::domain_xml::{esc, network_name};
use crate::errors::{is_missing, lv};
use crate::marks::{installation_tag, NETWORK_NS, SERVER_NS};
use crate::{Inner, LibvirtCloud};

impl Inner {
    fn foreign(&self, conn: &Connect) -> Result<Vec<Foreign>, DriverError> {
        let m = &self.marks;
        let mut out = Vec::new();
        let mut push = |kind: &'static str, id: String, reference: String, maker: Maker| {
            // Another cloud of this installation is not foreign.
            if !m.same_installation(&maker) {
                let adoptable = m.legacy_of_this_cloud(&maker) && !id.is_empty();
                out.push(Foreign { kind, id, reference, maker, adoptable });
            }
        };
        for d in conn.list_all_domains(0).map_err(|e| lv("listing domains", e))? {
            let read = || -> Result<Option<(String, String, String)>, virt::error::Error> {
                let name = d.name()?;
                if !name.starts_with("hs-") {
                    return Ok(None);
                }
                Ok(Some((name, d.uuid_string()?, d.xml_desc(0)?)))
            };
            match read() {
                Ok(Some((name, uuid, xml))) if !m.owns(&xml) => {
                    let id = if name.strip_prefix("hs-") == Some(uuid.as_str()) { uuid } else { String::new() };
                    push("server", id, name, m.maker_of_xml(&xml));
                }
                Ok(_) => {}
                Err(e) if is_missing(&e) => {}
                Err(e) => return Err(lv("reading a domain", e)),
            }
        }
        for net in conn.list_all_networks(0).map_err(|e| lv("listing networks", e))? {
            let name = net.name().map_err(|e| lv("reading a network name", e))?;
            let Some(id) = name.strip_prefix("hs-net-").map(str::to_string) else { continue };
            match crate::net::definition(&net) {
                Ok(xml) if !m.owns(&xml) => push("network", id, name, m.maker_of_xml(&xml)),
                Ok(_) => {}
                Err(e) if is_missing(&e) => {}
                Err(e) => return Err(lv("reading the network", e)),
            }
        }
        for name in conn.list_nw_filters().map_err(|e| lv("listing filters", e))? {
            let Some(tagged) = name.strip_prefix("hs-port-") else { continue };
            match m.maker_of_name(tagged, '-') {
                Some((_, true, _)) => {}
                Some((maker, false, port)) => push("port", port.to_string(), name.clone(), maker),
                None => push("port", String::new(), name.clone(), Maker::Unmarked),
            }
        }
        if self.cfg.uri.starts_with("qemu:///") {
            for (o, maker, mine) in crate::routing::tables(m)? {
                if !mine {
                    push(o.kind, o.id, o.reference, maker);
                }
            }
        }
        for name in conn.list_all_storage_pools(0).map_err(|e| lv("listing storage pools", e))? {
            let name = name.name().map_err(|e| lv("reading a pool name", e))?;
            let Some(rest) = name.strip_prefix("hybridstack-") else { continue };
            if name == self.cfg.pool {
                continue;
            }
            let maker = match rest.rsplit_once('-') {
                Some((cloud, tag)) if installation_tag(tag).is_ok_and(|t| t == tag) && tag.len() == 12 => {
                    Maker::Installation { installation: format!("{tag}…"), cloud: cloud.to_string() }
                }
                _ => Maker::Legacy { cloud: rest.to_string() },
            };
            // A pool is named in a cloud's settings, not adopted.
            if !m.same_installation(&maker) {
                out.push(Foreign { kind: "pool", id: String::new(), reference: name, maker, adoptable: false });
            }
        }
        Ok(out)
    }

    fn adopt(&self, conn: &Connect, o: &Foreign) -> Result<(), DriverError> {
        if !o.adoptable || !self.marks.legacy_of_this_cloud(&o.maker) {
            return Err(DriverError::Rejected(format!(
                "{} {} ({}) was made by {}; only this cloud's objects from before installation ids are adopted",
                o.kind, o.id, o.reference, o.maker
            )));
        }
        match o.kind {
            "server" => self.adopt_domain(conn, &o.id),
            "network" => self.adopt_network(conn, &o.id),
            "port" => self.adopt_filter(conn, &o.reference, &o.id),
            "router" => crate::routing::rename_table(&o.reference, &self.marks.table('r', &o.id)),
            "floatingip" => crate::routing::rename_table(&o.reference, &self.marks.table('f', &o.id)),
            other => Err(DriverError::NotSupported(format!("adopting a {other} on libvirt"))),
        }
    }

    /// Rewrites the domain's metadata, in its running state and its definition.
    fn adopt_domain(&self, conn: &Connect, id: &str) -> Result<(), DriverError> {
        let d = conn.lookup_domain_by_uuid_string(id).map_err(|e| lv("looking up the domain", e))?;
        // libvirt puts the elements in the namespace it is given (they are written unprefixed).
        let installation = self.marks.installation.as_deref().unwrap_or_default();
        let xml = format!(
            "<server><id>{}</id><installation>{}</installation><cloud>{}</cloud></server>",
            esc(id),
            esc(installation),
            esc(&self.marks.cloud)
        );
        let mut flags = virt::sys::VIR_DOMAIN_AFFECT_CONFIG;
        if d.is_active().map_err(|e| lv("reading the domain state", e))? {
            flags |= virt::sys::VIR_DOMAIN_AFFECT_LIVE;
        }
        d.set_metadata(virt::sys::VIR_DOMAIN_METADATA_ELEMENT as i32, Some(&xml), Some("hs"), Some(SERVER_NS), flags)
            .map_err(|e| lv("marking the domain as this installation's", e))?;
        tracing::info!(server = %id, cloud = %self.marks.cloud, "adopted a domain made before installation ids");
        Ok(())
    }

    /// Rewrites the network's definition with the marks in its metadata.
    fn adopt_network(&self, conn: &Connect, id: &str) -> Result<(), DriverError> {
        let lock = self.net_lock(id);
        let _held = lock.lock();
        let net = conn.lookup_network_by_uuid_string(id).map_err(|e| lv("looking up the network", e))?;
        let xml = crate::net::definition(&net).map_err(|e| lv("reading the network", e))?;
        let metadata =
            format!("<metadata><hs:network xmlns:hs='{NETWORK_NS}'>{}</hs:network></metadata>", self.marks.metadata());
        let xml = match (xml.find("<metadata>"), xml.find("</metadata>")) {
            (Some(a), Some(b)) if a < b => format!("{}{}", &xml[..a], &xml[b + "</metadata>".len()..]),
            _ => xml,
        };
        let marked = match xml.split_once("</uuid>") {
            Some((head, tail)) => format!("{head}</uuid>{metadata}{tail}"),
            None => {
                return Err(DriverError::Failed(format!("network {} has no uuid in its definition", network_name(id))))
            }
        };
        conn.define_network_xml(&marked).map_err(|e| lv("marking the network as this installation's", e))?;
        tracing::info!(network = %id, cloud = %self.marks.cloud, "adopted a network made before installation ids");
        Ok(())
    }

    /// Moves a port's filter to its new name: defined anew (with a UUID of its own, as a
    /// filter's UUID cannot move), the guests switched to it, the old one removed.
    fn adopt_filter(&self, conn: &Connect, old: &str, port_id: &str) -> Result<(), DriverError> {
        let new = self.marks.port_filter(port_id);
        let lock = self.lock(&new);
        let _held = lock.lock();
        let f = conn.lookup_nwfilter_by_name(old).map_err(|e| lv("looking up the filter", e))?;
        let xml = f.xml_desc(0).map_err(|e| lv("reading the filter", e))?;
        let renamed = without_uuid(&xml).replacen(&format!("name='{old}'"), &format!("name='{new}'"), 1).replacen(
            &format!("name=\"{old}\""),
            &format!("name=\"{new}\""),
            1,
        );
        if conn.lookup_nwfilter_by_name(&new).is_err() {
            conn.define_nwfilter_xml(&renamed).map_err(|e| lv("defining the renamed filter", e))?;
        }
        for d in conn.list_all_domains(0).map_err(|e| lv("listing domains", e))? {
            let active = d.is_active().unwrap_or(false);
            let views = [(virt::sys::VIR_DOMAIN_XML_INACTIVE, virt::sys::VIR_DOMAIN_AFFECT_CONFIG)]
                .into_iter()
                .chain(active.then_some((0, virt::sys::VIR_DOMAIN_AFFECT_LIVE)));
            for (view, affect) in views {
                let dx = match d.xml_desc(view) {
                    Ok(x) => x,
                    Err(e) if is_missing(&e) => break,
                    Err(e) => return Err(lv("reading a domain", e)),
                };
                for iface in interfaces_with_filter(&dx, old) {
                    let switched = iface.replace(&format!("filter='{old}'"), &format!("filter='{new}'"));
                    d.update_device_flags(&switched, affect).map_err(|e| lv("switching an interface's filter", e))?;
                }
            }
        }
        conn.lookup_nwfilter_by_name(old)
            .and_then(|f| f.undefine())
            .map_err(|e| lv("removing the filter's old name", e))?;
        self.filters.lock().remove(&new);
        tracing::info!(port = %port_id, filter = %new, "adopted a port filter made before installation ids");
        Ok(())
    }
}

fn without_uuid(xml: &str) -> String {
    match (xml.find("<uuid>"), xml.find("</uuid>")) {
        (Some(a), Some(b)) if a < b => format!("{}{}", &xml[..a], &xml[b + "</uuid>".len()..]),
        _ => xml.to_string(),
    }
}

/// The `<interface>` elements of a domain's XML that refer to `filter`.
fn interfaces_with_filter(xml: &str, filter: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<interface ") {
        let Some(len) = rest[start..].find("</interface>") else { break };
        let end = start + len + "</interface>".len();
        let el = &rest[start..end];
        if el.contains(&format!("filter='{filter}'")) || el.contains(&format!("filter=\"{filter}\"")) {
            out.push(el.replace(&format!("filter=\"{filter}\""), &format!("filter='{filter}'")));
        }
        rest = &rest[end..];
    }
    out
}

#[async_trait]
impl OwnershipQuery for LibvirtCloud {
    async fn list_foreign(&self) -> Result<Vec<Foreign>, DriverError> {
        self.blocking(|i, c| i.foreign(c)).await
    }
}

#[async_trait]
impl Ownership for LibvirtCloud {
    async fn adopt(&self, o: &Foreign) -> Result<(), DriverError> {
        let o = o.clone();
        self.blocking(move |i, c| i.adopt(c, &o)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_interfaces_that_use_a_filter() {
        let xml = "<domain><devices><interface type='network'><mac address='52:54:00:00:00:01'/>\
<filterref filter=\"hs-port-a\"/></interface><interface type='network'><filterref filter='hs-port-b'/>\
</interface></devices></domain>";
        let found = interfaces_with_filter(xml, "hs-port-a");
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("filter='hs-port-a'") && found[0].contains("52:54:00:00:00:01"), "{found:?}");
        assert_eq!(
            without_uuid("<filter name='x'><uuid>u</uuid><rule/></filter>"),
            "<filter name='x'><rule/></filter>"
        );
    }
}
