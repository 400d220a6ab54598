//! A vCenter cloud's settings, as `hybridstack cloud add vsphere` stores them. The password is
//! not among them: it is sealed in the store and handed to `VsphereCloud::open` apart.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VsphereConfig {
    /// The SDK endpoint, `https://vc.example/sdk`.
    pub url: String,
    pub user: String,
    /// Where servers go: the datacenter, the cluster whose root resource pool they run in,
    /// and the datastore holding their disks, images and volumes.
    pub datacenter: String,
    pub cluster: String,
    pub datastore: String,
    /// A VM folder under the datacenter's VM folder for this cloud's VMs (made when
    /// missing); the datacenter's VM folder itself when `None`.
    #[serde(default)]
    pub folder: Option<String>,
    /// The VLAN ids Neutron networks of this cloud take, `first-last` inclusive.
    #[serde(default)]
    pub vlan_range: Option<String>,
    /// Accept a certificate no trusted authority signed.
    #[serde(default)]
    pub insecure: bool,
    /// PEM certificates to trust besides the system's (a private CA).
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Dedicates the cloud to one project: only its servers and volumes go there, and only
    /// it sees the zone (read by core from the settings, as for an AWS account of its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// The availability zone the cloud is in, which other clouds may share; the zone named
    /// after the cloud when `None` (read by core from the settings, as `project_id` is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
}

impl VsphereConfig {
    /// The VLAN range as numbers, refusing what 802.1Q cannot carry.
    pub fn vlans(&self) -> Result<Option<(u16, u16)>, String> {
        let Some(r) = &self.vlan_range else { return Ok(None) };
        let (a, b) = r.split_once('-').ok_or_else(|| format!("VLAN range {r:?} is not first-last"))?;
        let parse = |s: &str| s.trim().parse::<u16>().map_err(|_| format!("VLAN range {r:?}: {s:?} is not a number"));
        let (a, b) = (parse(a)?, parse(b)?);
        if a == 0 || b > 4094 || a > b {
            return Err(format!("VLAN range {r:?} must lie within 1-4094, first not above last"));
        }
        Ok(Some((a, b)))
    }

    /// Settings that cannot describe a cloud, refused before anything is stored.
    pub fn validate(&self) -> Result<(), String> {
        let url = reqwest::Url::parse(&self.url).map_err(|e| format!("--url {:?}: {e}", self.url))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(format!("--url {:?} must be an https:// (or http://) SDK endpoint", self.url));
        }
        for (flag, v) in [("--user", &self.user), ("--datacenter", &self.datacenter), ("--cluster", &self.cluster)] {
            if v.trim().is_empty() {
                return Err(format!("{flag} must not be empty"));
            }
        }
        if self.datastore.trim().is_empty() {
            return Err("--datastore must not be empty".into());
        }
        self.vlans().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> VsphereConfig {
        VsphereConfig {
            url: "https://vc.example/sdk".into(),
            user: "u".into(),
            datacenter: "DC0".into(),
            cluster: "DC0_C0".into(),
            datastore: "LocalDS_0".into(),
            folder: None,
            vlan_range: Some("100-199".into()),
            insecure: false,
            ca_file: None,
            project_id: None,
            availability_zone: None,
        }
    }

    #[test]
    fn vlan_ranges_are_checked() {
        assert_eq!(cfg().vlans(), Ok(Some((100, 199))));
        for bad in ["0-10", "10-5000", "200-100", "x-1", "100"] {
            let c = VsphereConfig { vlan_range: Some(bad.into()), ..cfg() };
            assert!(c.validate().is_err(), "{bad} passed");
        }
    }

    #[test]
    fn urls_and_names_are_checked() {
        assert!(cfg().validate().is_ok());
        assert!(VsphereConfig { url: "vc.example".into(), ..cfg() }.validate().is_err());
        assert!(VsphereConfig { url: "ftp://vc/sdk".into(), ..cfg() }.validate().is_err());
        assert!(VsphereConfig { cluster: " ".into(), ..cfg() }.validate().is_err());
    }
}
