//! What marks a host object as this cloud's of this installation. Several clouds, and several
//! installations (a staging control plane, a migration, a test), may share one libvirt host,
//! so every object carries both the installation id and the cloud's name:
//!
//! - domains and networks in their `<metadata>` (`<hs:installation>`, `<hs:cloud>`);
//! - port filters and NAT tables, which have no metadata, in their names: the installation's
//!   tag (the first 12 hex digits of its id) and the cloud's tag (FNV-1a of its name);
//! - the storage pool in its name (`hybridstack-<cloud>-<installation tag>`).
//!
//! Objects made before installation ids existed carry only the cloud's name (legacy): in the
//! metadata, the network's DNS domain, or a name with the cloud's tag alone. `Marks` without
//! an installation writes exactly those, for the upgrade tests.

use hybridstack_driver::DriverError;

use crate::domain_xml::esc;

pub(crate) const SERVER_NS: &str = "https://hybridstack.dev/xmlns/libvirt/server/1";
pub(crate) const NETWORK_NS: &str = "https://hybridstack.dev/xmlns/libvirt/network/1";

/// A short, stable tag for a cloud's name, for host objects whose names must say which cloud
/// owns them. FNV-1a, written here because eight hex digits of a non-cryptographic hash need
/// no crate.
pub(crate) fn cloud_tag(cloud: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in cloud.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{h:08x}")
}

/// The tag names carry for an installation: the first 12 hex digits of its id (48 random
/// bits of a v4 UUID).
pub(crate) fn installation_tag(installation: &str) -> Result<String, DriverError> {
    let hex: String = installation.chars().filter(char::is_ascii_hexdigit).take(12).collect();
    if hex.len() < 12 {
        return Err(DriverError::Rejected(format!("installation id {installation:?} is not a UUID")));
    }
    Ok(hex.to_ascii_lowercase())
}

/// A legacy cloud's networks carry its name as their DNS domain.
pub(crate) fn network_domain(cloud: &str) -> String {
    format!("{}.hybridstack.internal", esc(cloud))
}

/// The value of the first `<hs:{name}>` element of `xml`.
pub(crate) fn element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<hs:{name}>");
    let rest = xml.split(&open).nth(1)?;
    Some(rest.split(&format!("</hs:{name}>")).next()?.to_string())
}

#[derive(Debug, Clone)]
pub(crate) struct Marks {
    /// `None` only for a cloud opened to write legacy objects (upgrade tests).
    pub installation: Option<String>,
    pub installation_tag: Option<String>,
    pub cloud: String,
    pub cloud_tag: String,
}

impl Marks {
    pub fn new(installation: Option<&str>, cloud: &str) -> Result<Self, DriverError> {
        Ok(Self {
            installation_tag: installation.map(installation_tag).transpose()?,
            installation: installation.map(str::to_string),
            cloud: cloud.to_string(),
            cloud_tag: cloud_tag(cloud),
        })
    }

    /// The tags a name carries, joined by `sep`: installation then cloud.
    fn name_tag(&self, sep: char) -> String {
        match &self.installation_tag {
            Some(i) => format!("{i}{sep}{}", self.cloud_tag),
            None => self.cloud_tag.clone(),
        }
    }

    /// The nwfilter that enforces a port's security groups (see `filters`).
    pub fn port_filter(&self, port_id: &str) -> String {
        format!("hs-port-{}-{port_id}", self.name_tag('-'))
    }

    /// The nftables table of a router (`r`) or floating IP (`f`).
    pub fn table(&self, kind: char, id: &str) -> String {
        let hex: String = id.chars().filter(char::is_ascii_hexdigit).collect::<String>().to_ascii_lowercase();
        format!("hs_{kind}_{}_{hex}", self.name_tag('_'))
    }

    /// The storage pool of a new cloud.
    pub fn pool(&self) -> String {
        match &self.installation_tag {
            Some(i) => format!("hybridstack-{}-{i}", self.cloud),
            None => format!("hybridstack-{}", self.cloud),
        }
    }

    /// The marks inside an object's `<metadata>` element.
    pub fn metadata(&self) -> String {
        let installation = self
            .installation
            .as_ref()
            .map(|i| format!("<hs:installation>{}</hs:installation>", esc(i)))
            .unwrap_or_default();
        format!("{installation}<hs:cloud>{}</hs:cloud>", esc(&self.cloud))
    }

    /// Whether a domain's or network's XML carries this cloud's and installation's marks.
    /// A legacy network is marked by its DNS domain alone.
    pub fn owns(&self, xml: &str) -> bool {
        let cloud = element(xml, "cloud").map(|c| c == esc(&self.cloud)).unwrap_or_else(|| {
            xml.contains(&format!("name='{}'", network_domain(&self.cloud)))
                || xml.contains(&format!("name=\"{}\"", network_domain(&self.cloud)))
        });
        cloud && element(xml, "installation").map(|i| esc(&i)) == self.installation.as_deref().map(esc)
    }

    /// Who made an object, by the marks in its XML.
    pub fn maker_of_xml(&self, xml: &str) -> hybridstack_driver::Maker {
        use hybridstack_driver::Maker;
        let cloud = element(xml, "cloud").or_else(|| {
            let (rest, _) = xml.split_once(".hybridstack.internal")?;
            Some(rest.rsplit(['\'', '"']).next()?.to_string())
        });
        match (element(xml, "installation"), cloud) {
            (Some(installation), cloud) => Maker::Installation { installation, cloud: cloud.unwrap_or_default() },
            (None, Some(cloud)) => Maker::Legacy { cloud },
            (None, None) => Maker::Unmarked,
        }
    }

    /// Who made an object named with tags (`<installation tag><sep><cloud tag><sep><rest>` or,
    /// legacy, `<cloud tag><sep><rest>`): the maker, whether it is exactly this cloud's, and
    /// the rest of the name.
    pub fn maker_of_name<'a>(&self, tagged: &'a str, sep: char) -> Option<(hybridstack_driver::Maker, bool, &'a str)> {
        use hybridstack_driver::Maker;
        let is_hex = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_hexdigit());
        let (first, rest) = tagged.split_once(sep)?;
        if is_hex(first, 12) {
            let (cloud, rest) = rest.split_once(sep)?;
            if !is_hex(cloud, 8) {
                return None;
            }
            let mine = self.installation_tag.as_deref() == Some(first) && cloud == self.cloud_tag;
            let maker = Maker::Installation { installation: format!("{first}…"), cloud: format!("tag {cloud}") };
            return Some((maker, mine, rest));
        }
        if is_hex(first, 8) {
            let mine = self.installation_tag.is_none() && first == self.cloud_tag;
            let cloud = if first == self.cloud_tag { self.cloud.clone() } else { format!("tag {first}") };
            return Some((Maker::Legacy { cloud }, mine, rest));
        }
        None
    }

    /// Whether the installation tag in a tagged name is this installation's (another cloud of
    /// ours, which is not foreign).
    pub fn same_installation(&self, maker: &hybridstack_driver::Maker) -> bool {
        match (maker, &self.installation, &self.installation_tag) {
            (hybridstack_driver::Maker::Installation { installation, .. }, Some(id), Some(tag)) => {
                installation == id || installation.trim_end_matches('…') == tag
            }
            _ => false,
        }
    }

    /// Whether a legacy object's marks name this cloud (the upgrade path adopts those).
    pub fn legacy_of_this_cloud(&self, maker: &hybridstack_driver::Maker) -> bool {
        matches!(maker, hybridstack_driver::Maker::Legacy { cloud } if cloud == &self.cloud)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hybridstack_driver::Maker;

    const INST: &str = "0b7c5a3e-1234-4f00-9abc-def012345678";

    #[test]
    fn names_carry_the_installation_and_the_cloud() {
        let m = Marks::new(Some(INST), "local").expect("marks");
        let port = "7a6c2c4e-0000-4000-8000-000000000001";
        let f = m.port_filter(port);
        assert_eq!(f, format!("hs-port-0b7c5a3e1234-{}-{port}", cloud_tag("local")));
        let (maker, mine, rest) = m.maker_of_name(f.strip_prefix("hs-port-").expect("prefix"), '-').expect("parsed");
        assert!(mine && rest == port, "{maker:?}");
        let t = m.table('r', port);
        assert!(t.starts_with("hs_r_0b7c5a3e1234_"), "{t}");
        assert!(m.maker_of_name(t.strip_prefix("hs_r_").expect("prefix"), '_').expect("parsed").1);
        assert_eq!(m.pool(), "hybridstack-local-0b7c5a3e1234");
    }

    #[test]
    fn another_installation_or_a_legacy_name_is_not_ours() {
        let ours = Marks::new(Some(INST), "local").expect("marks");
        let other = Marks::new(Some("ffffffff-1234-4f00-9abc-def012345678"), "local").expect("marks");
        let legacy = Marks::new(None, "local").expect("marks");
        let port = "7a6c2c4e-0000-4000-8000-000000000001";
        for name in [other.port_filter(port), legacy.port_filter(port)] {
            let (maker, mine, rest) =
                ours.maker_of_name(name.strip_prefix("hs-port-").expect("prefix"), '-').expect("parsed");
            assert!(!mine && rest == port, "{name}: {maker:?}");
        }
        let (maker, _, _) = ours
            .maker_of_name(legacy.port_filter(port).strip_prefix("hs-port-").expect("prefix"), '-')
            .expect("parsed");
        assert!(ours.legacy_of_this_cloud(&maker), "{maker:?}");
        assert!(legacy.maker_of_name(legacy.port_filter(port).trim_start_matches("hs-port-"), '-').expect("p").1);
    }

    #[test]
    fn xml_ownership_needs_both_marks() {
        let ours = Marks::new(Some(INST), "local").expect("marks");
        let legacy = Marks::new(None, "local").expect("marks");
        let xml = |m: &Marks| {
            format!("<domain><metadata><hs:server xmlns:hs='x'>{}</hs:server></metadata></domain>", m.metadata())
        };
        assert!(ours.owns(&xml(&ours)));
        assert!(!ours.owns(&xml(&legacy)), "a legacy object is not ours until adopted");
        assert!(legacy.owns(&xml(&legacy)));
        assert!(!legacy.owns(&xml(&ours)));
        let other = Marks::new(Some(INST), "remote").expect("marks");
        assert!(!ours.owns(&xml(&other)), "another cloud's");
        assert_eq!(ours.maker_of_xml(&xml(&legacy)), Maker::Legacy { cloud: "local".into() });
        let net = format!("<network><domain name='{}' localOnly='yes'/></network>", network_domain("local"));
        assert!(legacy.owns(&net) && !ours.owns(&net));
        assert_eq!(ours.maker_of_xml(&net), Maker::Legacy { cloud: "local".into() });
        assert_eq!(ours.maker_of_xml("<domain/>"), Maker::Unmarked);
    }
}
