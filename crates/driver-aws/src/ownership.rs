//! `Ownership` for AWS: every object in the region that carries our tags but is not this
//! cloud's of this installation (another installation's, or one from before installation
//! ids with the cloud's name only), and the upgrade path: this cloud's legacy objects are
//! adopted by adding the installation's tag.

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, Tag};
use hybridstack_driver::{DriverError, Foreign, Maker, OwnershipQuery};
use hybridstack_driver_act::Ownership;

use crate::errors::aws;
use crate::{tag_value, AwsCloud, TAG_CLOUD, TAG_ID, TAG_INSTALLATION, TAG_KIND};

/// The resource kind a foreign object stands for, from its kind tag (the store row an
/// adoption looks for); `fallback` when it has none.
fn kind_of(tag: Option<&str>, fallback: &'static str) -> &'static str {
    match tag {
        Some("server" | "root_disk") => "server",
        Some("volume" | "clone") => "volume",
        Some("snapshot") => "snapshot",
        Some("image") => "image",
        Some("network") => "network",
        Some("subnet") => "subnet",
        Some("port") => "port",
        Some("floatingip") => "floatingip",
        Some("router") => "router",
        Some("security_group" | "vpc_group") => "security_group",
        _ => fallback,
    }
}

impl AwsCloud {
    /// What carries our tags at all (any cloud, any installation).
    fn any_of_ours() -> Vec<Filter> {
        vec![Filter::builder().name("tag-key").values(TAG_CLOUD).build()]
    }

    /// (reference, tags, kind when the kind tag says nothing) of every object carrying our
    /// cloud tag, across the kinds of objects the driver makes.
    async fn tagged(&self) -> Result<Vec<(String, Vec<Tag>, &'static str)>, DriverError> {
        let f = Self::any_of_ours;
        let mut out: Vec<(String, Vec<Tag>, &'static str)> = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .ec2
                .describe_instances()
                .set_filters(Some(f()))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| aws("listing instances", e))?;
            for i in page.reservations().iter().flat_map(|r| r.instances()) {
                if i.state().and_then(|s| s.name()).map(|n| n.as_str()) != Some("terminated") {
                    out.push((i.instance_id().unwrap_or_default().into(), i.tags().to_vec(), "server"));
                }
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        let volumes = self.ec2.describe_volumes().set_filters(Some(f())).send().await;
        for v in volumes.map_err(|e| aws("listing volumes", e))?.volumes() {
            out.push((v.volume_id().unwrap_or_default().into(), v.tags().to_vec(), "volume"));
        }
        let snaps = self.ec2.describe_snapshots().owner_ids("self").set_filters(Some(f())).send().await;
        for s in snaps.map_err(|e| aws("listing snapshots", e))?.snapshots() {
            out.push((s.snapshot_id().unwrap_or_default().into(), s.tags().to_vec(), "snapshot"));
        }
        let images = self.ec2.describe_images().owners("self").set_filters(Some(f())).send().await;
        for i in images.map_err(|e| aws("listing AMIs", e))?.images() {
            out.push((i.image_id().unwrap_or_default().into(), i.tags().to_vec(), "image"));
        }
        let vpcs = self.ec2.describe_vpcs().set_filters(Some(f())).send().await;
        for v in vpcs.map_err(|e| aws("listing VPCs", e))?.vpcs() {
            out.push((v.vpc_id().unwrap_or_default().into(), v.tags().to_vec(), "network"));
        }
        let subnets = self.ec2.describe_subnets().set_filters(Some(f())).send().await;
        for s in subnets.map_err(|e| aws("listing subnets", e))?.subnets() {
            out.push((s.subnet_id().unwrap_or_default().into(), s.tags().to_vec(), "subnet"));
        }
        let groups = self.ec2.describe_security_groups().set_filters(Some(f())).send().await;
        for g in groups.map_err(|e| aws("listing security groups", e))?.security_groups() {
            out.push((g.group_id().unwrap_or_default().into(), g.tags().to_vec(), "security_group"));
        }
        let enis = self.ec2.describe_network_interfaces().set_filters(Some(f())).send().await;
        for e in enis.map_err(|e| aws("listing network interfaces", e))?.network_interfaces() {
            out.push((e.network_interface_id().unwrap_or_default().into(), e.tag_set().to_vec(), "port"));
        }
        let eips = self.ec2.describe_addresses().set_filters(Some(f())).send().await;
        for a in eips.map_err(|e| aws("listing Elastic IPs", e))?.addresses() {
            out.push((a.allocation_id().unwrap_or_default().into(), a.tags().to_vec(), "floatingip"));
        }
        let igws = self.ec2.describe_internet_gateways().set_filters(Some(f())).send().await;
        for g in igws.map_err(|e| aws("listing internet gateways", e))?.internet_gateways() {
            out.push((g.internet_gateway_id().unwrap_or_default().into(), g.tags().to_vec(), "router"));
        }
        let tables = self.ec2.describe_route_tables().set_filters(Some(f())).send().await;
        for t in tables.map_err(|e| aws("listing route tables", e))?.route_tables() {
            out.push((t.route_table_id().unwrap_or_default().into(), t.tags().to_vec(), "router"));
        }
        Ok(out)
    }
}

#[async_trait]
impl OwnershipQuery for AwsCloud {
    async fn list_foreign(&self) -> Result<Vec<Foreign>, DriverError> {
        let mut out = Vec::new();
        for (reference, tags, fallback) in self.tagged().await? {
            if self.is_mine(&tags) {
                continue;
            }
            let cloud = tag_value(&tags, TAG_CLOUD).unwrap_or_default();
            let maker = match tag_value(&tags, TAG_INSTALLATION) {
                // Another cloud of this installation is not foreign.
                Some(i) if Some(&i) == self.installation.as_ref() => continue,
                Some(installation) => Maker::Installation { installation, cloud },
                None => Maker::Legacy { cloud },
            };
            let id = tag_value(&tags, TAG_ID).unwrap_or_default();
            let adoptable = self.installation.is_some()
                && matches!(&maker, Maker::Legacy { cloud } if *cloud == self.name)
                && !id.is_empty();
            let kind = kind_of(tag_value(&tags, TAG_KIND).as_deref(), fallback);
            out.push(Foreign { kind, id, reference, maker, adoptable });
        }
        Ok(out)
    }
}

#[async_trait]
impl Ownership for AwsCloud {
    async fn adopt(&self, o: &Foreign) -> Result<(), DriverError> {
        let Some(installation) = &self.installation else {
            return Err(DriverError::Rejected("a legacy cloud adopts nothing".into()));
        };
        if !o.adoptable || !matches!(&o.maker, Maker::Legacy { cloud } if *cloud == self.name) {
            return Err(DriverError::Rejected(format!(
                "{} {} ({}) was made by {}; only this cloud's objects from before installation ids are adopted",
                o.kind, o.id, o.reference, o.maker
            )));
        }
        self.ec2
            .create_tags()
            .resources(&o.reference)
            .tags(Tag::builder().key(TAG_INSTALLATION).value(installation).build())
            .send()
            .await
            .map_err(|e| aws(&format!("tagging {} as this installation's", o.reference), e))?;
        tracing::info!(kind = o.kind, id = %o.id, reference = %o.reference, cloud = %self.name,
            "adopted an object made before installation ids");
        Ok(())
    }
}
