//! `Compute` on EC2: a server is an instance found by its tags, never by a remembered
//! instance id, so a step run again after a crash finds what the first run made.
//! EC2 changes state asynchronously; every change waits for the state it asks for (polling
//! DescribeInstances with a growing interval), never for a fixed time. The driver enforces
//! AWS's own rules (a resize needs a stopped instance) rather than trusting the endpoint.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    AttributeValue, Filter, Instance, InstanceNetworkInterfaceSpecification, InstanceStateName, InstanceType,
    Placement, ResourceType,
};
use base64::Engine;
use hybridstack_driver::{
    Capacity, CloudFlavor, CloudImage, ComputeCapabilities, ComputeQuery, DriverError, OwnedServer, PowerAction,
    PowerState, ServerSpec,
};
use hybridstack_driver_act::{BlockStorage, Compute};

use crate::errors::aws;
use crate::{AwsCloud, TAG_ID};

const SERVER: &str = "server";
/// The root volume RunInstances makes, tagged with the server's id; it goes with the instance.
const ROOT_DISK: &str = "root_disk";

/// States an instance of ours can be in before it is gone.
const LIVE: [&str; 5] = ["pending", "running", "stopping", "stopped", "shutting-down"];

fn tag_of(i: &Instance, key: &str) -> Option<String> {
    i.tags().iter().find(|t| t.key() == Some(key)).and_then(|t| t.value().map(str::to_string))
}

fn state_of(i: &Instance) -> InstanceStateName {
    i.state().and_then(|s| s.name().cloned()).unwrap_or(InstanceStateName::Pending)
}

fn power_of(s: &InstanceStateName) -> PowerState {
    match s {
        InstanceStateName::Running => PowerState::Running,
        InstanceStateName::Stopped | InstanceStateName::Stopping | InstanceStateName::ShuttingDown => {
            PowerState::Shutdown
        }
        _ => PowerState::NoState,
    }
}

/// EC2's limit on user data, before base64.
const USER_DATA_MAX: usize = 16 * 1024;

/// Whether EC2 can import the key as a key pair (RSA and Ed25519 only).
fn ec2_key_type(public_key: &str) -> bool {
    let t = public_key.trim_start();
    t.starts_with("ssh-rsa ") || t.starts_with("ssh-ed25519 ")
}

/// User data (base64) that also gives cloud-init the key: a MIME multipart of a cloud-config
/// part with the key and the server's own user data as it was (a script, a cloud-config or
/// anything else cloud-init takes as its first line says).
pub(crate) fn key_in_user_data(user_data: Option<&str>, public_key: &str) -> Result<String, DriverError> {
    use base64::Engine;
    let b64 = &base64::engine::general_purpose::STANDARD;
    const BOUNDARY: &str = "==hybridstack-user-data==";
    let mut out = format!(
        "Content-Type: multipart/mixed; boundary=\"{BOUNDARY}\"\nMIME-Version: 1.0\n\n--{BOUNDARY}\n\
         Content-Type: text/cloud-config; charset=\"us-ascii\"\n\n#cloud-config\nssh_authorized_keys:\n  - {}\n",
        public_key.trim()
    );
    if let Some(ud) = user_data {
        let raw = b64.decode(ud.trim()).map_err(|_| DriverError::Rejected("user_data is not base64".into()))?;
        let text = String::from_utf8(raw).map_err(|_| {
            DriverError::Rejected("binary user_data cannot be combined with a key EC2 does not import (ECDSA)".into())
        })?;
        let kind = match text.lines().next().unwrap_or_default() {
            l if l.starts_with("#!") => "text/x-shellscript",
            l if l.starts_with("#cloud-config") => "text/cloud-config",
            l if l.starts_with("#include") => "text/x-include-url",
            l if l.starts_with("#cloud-boothook") => "text/cloud-boothook",
            _ => "text/plain",
        };
        out.push_str(&format!("\n--{BOUNDARY}\nContent-Type: {kind}; charset=\"utf-8\"\n\n{text}\n"));
    }
    out.push_str(&format!("\n--{BOUNDARY}--\n"));
    Ok(b64.encode(out))
}

/// The name of an imported public key: the same key is imported once per region, whatever
/// its name in Nova (FNV-1a of the key material).
fn key_pair_name(public_key: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in public_key.trim().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("hybridstack-{h:016x}")
}

impl AwsCloud {
    fn filter(name: &str, value: &str) -> Filter {
        Filter::builder().name(name).values(value).build()
    }

    /// Every live instance of this cloud, all pages (moto and AWS page DescribeInstances even
    /// unasked), optionally only the one carrying server `id`.
    async fn owned(&self, id: Option<&str>) -> Result<Vec<Instance>, DriverError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = self
                .ec2
                .describe_instances()
                .set_filters(Some(self.mine()))
                .filters(
                    Filter::builder()
                        .name("instance-state-name")
                        .set_values(Some(LIVE.iter().map(|s| s.to_string()).collect()))
                        .build(),
                )
                .set_next_token(token.take());
            if let Some(id) = id {
                req = req.filters(Self::filter(&format!("tag:{TAG_ID}"), id));
            }
            let page = req.send().await.map_err(|e| aws("listing instances", e))?;
            for r in page.reservations() {
                out.extend(r.instances().iter().cloned());
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    pub(crate) async fn instance(&self, id: &str) -> Result<Option<Instance>, DriverError> {
        Ok(self.owned(Some(id)).await?.into_iter().next())
    }

    pub(crate) async fn require(&self, id: &str) -> Result<Instance, DriverError> {
        self.instance(id).await?.ok_or_else(|| DriverError::NotFound(format!("server {id} has no instance")))
    }

    pub(crate) fn instance_id(i: &Instance) -> Result<String, DriverError> {
        i.instance_id().map(str::to_string).ok_or_else(|| DriverError::Failed("an instance without an id".into()))
    }

    /// Waits until the server's instance is in `want` (`None`: gone or terminated).
    async fn wait_for(&self, id: &str, want: Option<InstanceStateName>) -> Result<(), DriverError> {
        let deadline = Instant::now() + self.wait_limit();
        let mut pause = Duration::from_millis(200);
        loop {
            let now = self.instance(id).await?;
            let reached = match (&want, &now) {
                (None, None) => true,
                (Some(w), Some(i)) => state_of(i) == *w,
                _ => false,
            };
            if reached {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let state = now.as_ref().map(|i| state_of(i).as_str().to_string()).unwrap_or_else(|| "gone".into());
                return Err(DriverError::Transient(format!(
                    "server {id}: its instance is still {state} after {}s",
                    self.wait_limit().as_secs()
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }

    /// The region's instance types (every page), read once per cloud.
    async fn instance_types(&self) -> Result<&[CloudFlavor], DriverError> {
        let types = self
            .types
            .get_or_try_init(|| async {
                let mut out = Vec::new();
                let mut token: Option<String> = None;
                loop {
                    let page = self
                        .ec2
                        .describe_instance_types()
                        .set_next_token(token.take())
                        .send()
                        .await
                        .map_err(|e| aws("listing instance types", e))?;
                    for t in page.instance_types() {
                        let Some(name) = t.instance_type().map(|n| n.as_str().to_string()) else { continue };
                        let vcpus = t.v_cpu_info().and_then(|v| v.default_v_cpus()).unwrap_or(0);
                        let mem = t.memory_info().and_then(|m| m.size_in_mib()).unwrap_or(0);
                        out.push(CloudFlavor {
                            name,
                            vcpus: u32::try_from(vcpus).unwrap_or(0),
                            ram_mb: u64::try_from(mem).unwrap_or(0),
                            current: t.current_generation().unwrap_or(false),
                        });
                    }
                    match page.next_token() {
                        Some(t) if !t.is_empty() => token = Some(t.to_string()),
                        _ => break,
                    }
                }
                out.sort_by(|a, b| (a.vcpus, a.ram_mb, &a.name).cmp(&(b.vcpus, b.ram_mb, &b.name)));
                Ok::<_, DriverError>(out)
            })
            .await?;
        Ok(types)
    }

    /// The instance type for a flavor: the flavor's name when it is one of the region's
    /// types, else the smallest current type with at least the flavor's vCPUs and RAM.
    async fn instance_type_for(&self, s: &ServerSpec) -> Result<InstanceType, DriverError> {
        let types = self.instance_types().await?;
        if let Some(t) = types.iter().find(|t| t.name == s.flavor_name) {
            return Ok(InstanceType::from(t.name.as_str()));
        }
        types
            .iter()
            .find(|t| t.current && t.vcpus >= s.vcpus && t.ram_mb >= s.ram_mb)
            .map(|t| InstanceType::from(t.name.as_str()))
            .ok_or_else(|| {
                DriverError::Rejected(format!(
                    "no instance type in {} has {} vCPUs and {} MiB of RAM for flavor {}",
                    self.cfg.region, s.vcpus, s.ram_mb, s.flavor_name
                ))
            })
    }

    /// The key pair holding the server's public key, imported the first time it is used.
    async fn key_pair(&self, public_key: &str) -> Result<String, DriverError> {
        let name = key_pair_name(public_key);
        match self.ec2.describe_key_pairs().key_names(&name).send().await {
            Ok(_) => return Ok(name),
            Err(e) => match aws("looking up a key pair", e) {
                DriverError::NotFound(_) => {}
                other => return Err(other),
            },
        }
        let material = aws_sdk_ec2::primitives::Blob::new(public_key.trim().as_bytes());
        match self.ec2.import_key_pair().key_name(&name).public_key_material(material).send().await {
            Ok(_) => Ok(name),
            Err(e) => match aws("importing a key pair", e) {
                // Imported meanwhile by another server's create: the same key, the same name.
                DriverError::Rejected(m) if m.contains("InvalidKeyPair.Duplicate") => Ok(name),
                other => Err(other),
            },
        }
    }

    /// Launches the server's instance. `token` is EC2's idempotency key: a retried launch
    /// with the same one returns the first launch's instance, even a terminated one, so each
    /// rebuild brings its own.
    async fn launch(&self, s: &ServerSpec, token: &str) -> Result<String, DriverError> {
        let ami = s.cloud_image.as_deref().ok_or_else(|| {
            DriverError::Rejected(format!(
                "image {} has no AMI on cloud {}: register the AMI as a Glance image first",
                s.image.as_ref().map(|i| i.image_id.as_str()).unwrap_or("(none)"),
                self.name
            ))
        })?;
        if s.root_volume.is_some() {
            return Err(DriverError::NotSupported(
                "an EC2 instance boots from its AMI; an existing EBS volume cannot be its root disk".into(),
            ));
        }
        // The instance takes its ports' ENIs, so its addresses are the ones Neutron gave.
        let mut interfaces = Vec::new();
        for (index, nic) in s.nics.iter().enumerate() {
            let eni = self.eni_of(&nic.port_id).await?.ok_or_else(|| {
                DriverError::NotFound(format!("port {} is not realised on cloud {}", nic.port_id, self.name))
            })?;
            interfaces.push(
                InstanceNetworkInterfaceSpecification::builder()
                    .device_index(i32::try_from(index).unwrap_or(i32::MAX))
                    .network_interface_id(eni.network_interface_id().unwrap_or_default())
                    .build(),
            );
        }
        let instance_type = self.instance_type_for(s).await?;
        let mut req = self
            .ec2
            .run_instances()
            .image_id(ami)
            .instance_type(instance_type)
            .min_count(1)
            .max_count(1)
            .client_token(token)
            .set_network_interfaces((!interfaces.is_empty()).then_some(interfaces))
            .placement(Placement::builder().availability_zone(&self.zone).build())
            .tag_specifications(self.tag_spec(ResourceType::Instance, &s.id, SERVER, &s.name, &[]))
            .tag_specifications(self.tag_spec(ResourceType::Volume, &s.id, ROOT_DISK, &s.name, &[]));
        let mut user_data = s.guest.user_data.clone();
        if let Some(k) = &s.guest.public_key {
            if ec2_key_type(k) {
                req = req.key_name(self.key_pair(k).await?);
            } else {
                // EC2 imports only RSA and Ed25519 keys; any other (ECDSA) reaches the guest
                // the way Nova's metadata does, through cloud-init, in the user data.
                user_data = Some(key_in_user_data(user_data.as_deref(), k)?);
            }
        }
        if let Some(ud) = &user_data {
            // The API took it as base64 already; EC2 wants base64 too, so it is checked, not
            // encoded again.
            let raw = base64::engine::general_purpose::STANDARD
                .decode(ud.trim())
                .map_err(|_| DriverError::Rejected("user_data is not base64".into()))?;
            if raw.len() > USER_DATA_MAX {
                return Err(DriverError::Rejected(format!(
                    "user_data is {} bytes; EC2 takes at most {USER_DATA_MAX}",
                    raw.len()
                )));
            }
            req = req.user_data(ud.trim());
        }
        let out = {
            let _launching = self.launches.launching();
            req.send().await.map_err(|e| aws("launching the instance", e))?
        };
        out.instances()
            .first()
            .and_then(|i| i.instance_id())
            .map(str::to_string)
            .ok_or_else(|| DriverError::Failed("RunInstances returned no instance".into()))
    }

    /// Waits for a just-launched instance, asked for by its id (cheaper than by tags: EC2
    /// looks one instance up rather than filtering the account's), together with every other
    /// instance being waited for.
    async fn wait_launched(&self, instance_id: &str) -> Result<(), DriverError> {
        self.launches.wait_running(&self.ec2, instance_id, self.wait_limit()).await
    }

    async fn start(&self, id: &str) -> Result<(), DriverError> {
        let i = self.require(id).await?;
        if state_of(&i) != InstanceStateName::Running {
            if state_of(&i) == InstanceStateName::Stopping {
                self.wait_for(id, Some(InstanceStateName::Stopped)).await?;
            }
            self.ec2
                .start_instances()
                .instance_ids(Self::instance_id(&i)?)
                .send()
                .await
                .map_err(|e| aws("starting the instance", e))?;
        }
        self.wait_for(id, Some(InstanceStateName::Running)).await
    }

    async fn stop(&self, id: &str, force: bool) -> Result<(), DriverError> {
        let i = self.require(id).await?;
        if state_of(&i) == InstanceStateName::Pending {
            self.wait_for(id, Some(InstanceStateName::Running)).await?;
        }
        if state_of(&i) != InstanceStateName::Stopped {
            self.ec2
                .stop_instances()
                .instance_ids(Self::instance_id(&i)?)
                .force(force)
                .send()
                .await
                .map_err(|e| aws("stopping the instance", e))?;
        }
        self.wait_for(id, Some(InstanceStateName::Stopped)).await
    }

    async fn ensure_with_token(&self, s: &ServerSpec, token: &str) -> Result<(), DriverError> {
        // A first attempt has made nothing yet: no need to ask EC2 (a tag-filtered listing,
        // the dearest call here) whether the instance exists.
        if s.fresh || self.instance(&s.id).await?.is_none() {
            let launched = self.launch(s, token).await?;
            if s.start && s.volumes.is_empty() {
                return self.wait_launched(&launched).await;
            }
        }
        // A relaunched instance (rebuild) takes back the volumes the server had.
        if !s.volumes.is_empty() {
            self.wait_for(&s.id, Some(InstanceStateName::Running)).await?;
            for v in &s.volumes {
                self.attach_volume(&s.id, &v.volume_id, Some(&v.device)).await?;
            }
        }
        if s.start {
            self.start(&s.id).await
        } else {
            // EC2 cannot make an instance stopped: it is launched, then stopped.
            self.wait_for(&s.id, Some(InstanceStateName::Running)).await?;
            self.stop(&s.id, false).await
        }
    }

    /// Stops the instance, changes its type (EC2 allows it only stopped), starts it when asked.
    async fn retype(&self, s: &ServerSpec) -> Result<(), DriverError> {
        let instance_type = self.instance_type_for(s).await?;
        self.stop(&s.id, false).await?;
        let i = self.require(&s.id).await?;
        if state_of(&i) != InstanceStateName::Stopped {
            return Err(DriverError::Rejected(format!("server {}: a resize needs the instance stopped", s.id)));
        }
        if i.instance_type() != Some(&instance_type) {
            self.ec2
                .modify_instance_attribute()
                .instance_id(Self::instance_id(&i)?)
                .instance_type(AttributeValue::builder().value(instance_type.as_str()).build())
                .send()
                .await
                .map_err(|e| aws("changing the instance type", e))?;
        }
        if s.start {
            self.start(&s.id).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl ComputeQuery for AwsCloud {
    fn capabilities(&self) -> ComputeCapabilities {
        ComputeCapabilities {
            pause: false,
            suspend: false,
            resize: true,
            snapshot: true,
            console_output: true,
            image_files: false,
        }
    }

    /// What the account's quota allows (`quotas.rs`): vCPUs; memory and disk are not what
    /// AWS limits, so they are given as unlimited.
    async fn capacity(&self) -> Result<Capacity, DriverError> {
        Ok(Capacity {
            hypervisor_type: "ec2".into(),
            hypervisor_hostname: format!("ec2.{}", self.cfg.region),
            vcpus: self.vcpu_quota().await,
            memory_mb: u64::from(u32::MAX),
            local_gb: u64::from(u32::MAX),
            free_disk_gb: u64::from(u32::MAX),
        })
    }

    async fn console_output(&self, id: &str, lines: Option<usize>) -> Result<String, DriverError> {
        let i = self.require(id).await?;
        let out = self
            .ec2
            .get_console_output()
            .instance_id(Self::instance_id(&i)?)
            .send()
            .await
            .map_err(|e| aws("reading the console output", e))?;
        let text = out
            .output()
            .map(|o| base64::engine::general_purpose::STANDARD.decode(o.trim()).unwrap_or_default())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        Ok(match lines {
            Some(n) => {
                let all: Vec<&str> = text.lines().collect();
                all[all.len().saturating_sub(n)..].join("\n")
            }
            None => text,
        })
    }

    async fn offered_flavors(&self) -> Result<Vec<CloudFlavor>, DriverError> {
        Ok(self.instance_types().await?.to_vec())
    }

    async fn cloud_image(&self, reference: &str) -> Result<CloudImage, DriverError> {
        let out = self
            .ec2
            .describe_images()
            .image_ids(reference)
            .send()
            .await
            .map_err(|e| aws(&format!("describing AMI {reference}"), e))?;
        let i = out
            .images()
            .iter()
            .find(|i| i.image_id() == Some(reference))
            .ok_or_else(|| DriverError::NotFound(format!("AMI {reference} is not in {}", self.cfg.region)))?;
        if i.state().is_some_and(|s| s.as_str() != "available") {
            return Err(DriverError::Rejected(format!("AMI {reference} is not available")));
        }
        let root = i.root_device_name().unwrap_or_default();
        let size = i
            .block_device_mappings()
            .iter()
            .find(|m| m.device_name() == Some(root))
            .or_else(|| i.block_device_mappings().first())
            .and_then(|m| m.ebs())
            .and_then(|e| e.volume_size())
            .unwrap_or(0);
        Ok(CloudImage {
            reference: reference.into(),
            name: i.name().unwrap_or(reference).to_string(),
            min_disk_gb: u64::try_from(size).unwrap_or(0),
            architecture: i.architecture().map(|a| a.as_str().to_string()).unwrap_or_default(),
        })
    }
}

#[async_trait]
impl Compute for AwsCloud {
    async fn ensure_server(&self, s: &ServerSpec) -> Result<(), DriverError> {
        self.ensure_with_token(s, &s.id).await
    }

    async fn delete_server(&self, id: &str) -> Result<(), DriverError> {
        for i in self.owned(Some(id)).await? {
            self.ec2
                .terminate_instances()
                .instance_ids(Self::instance_id(&i)?)
                .send()
                .await
                .map_err(|e| aws("terminating the instance", e))?;
        }
        self.wait_for(id, None).await
    }

    async fn power(&self, id: &str, action: PowerAction) -> Result<(), DriverError> {
        match action {
            PowerAction::Start => self.start(id).await,
            PowerAction::Stop => self.stop(id, false).await,
            PowerAction::SoftReboot => {
                let i = self.require(id).await?;
                self.ec2
                    .reboot_instances()
                    .instance_ids(Self::instance_id(&i)?)
                    .send()
                    .await
                    .map_err(|e| aws("rebooting the instance", e))?;
                self.wait_for(id, Some(InstanceStateName::Running)).await
            }
            PowerAction::HardReboot => {
                self.stop(id, true).await?;
                self.start(id).await
            }
            PowerAction::Pause | PowerAction::Unpause | PowerAction::Suspend | PowerAction::Resume => {
                Err(DriverError::NotSupported(format!("{action:?}: EC2 instances cannot be paused or suspended")))
            }
        }
    }

    async fn power_state(&self, id: &str) -> Result<PowerState, DriverError> {
        Ok(power_of(&state_of(&self.require(id).await?)))
    }

    /// An EC2 instance cannot change its AMI: the old instance is terminated (waiting until
    /// it is gone) and a new one launched under the same tags, so the server keeps its id.
    async fn rebuild(&self, s: &ServerSpec) -> Result<(), DriverError> {
        if s.cloud_image.is_none() {
            return Err(DriverError::Rejected(format!(
                "server {}: the new image has no AMI on cloud {}",
                s.id, self.name
            )));
        }
        self.delete_server(&s.id).await?;
        let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros());
        self.ensure_with_token(s, &format!("{}-r{nonce}", s.id)).await
    }

    async fn resize(&self, s: &ServerSpec) -> Result<(), DriverError> {
        self.retype(s).await
    }

    /// Nothing was kept: the instance's disks stay as they were through a type change.
    async fn confirm_resize(&self, _: &str) -> Result<(), DriverError> {
        Ok(())
    }

    async fn revert_resize(&self, s: &ServerSpec) -> Result<(), DriverError> {
        self.retype(s).await
    }

    async fn snapshot(&self, id: &str, _: &std::path::Path) -> Result<(), DriverError> {
        Err(DriverError::NotSupported(format!(
            "server {id}: an AWS cloud snapshots a server into an AMI (CreateImage), not into a file"
        )))
    }

    async fn snapshot_to_cloud_image(&self, id: &str, image_id: &str, name: &str) -> Result<String, DriverError> {
        self.create_ami(id, image_id, name).await
    }

    async fn list_owned(&self) -> Result<Vec<OwnedServer>, DriverError> {
        Ok(self
            .owned(None)
            .await?
            .iter()
            .filter_map(|i| tag_of(i, TAG_ID).map(|id| OwnedServer { id, power: power_of(&state_of(i)) }))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    #[test]
    fn keys_ec2_cannot_import_go_to_cloud_init_with_the_user_data() {
        assert!(ec2_key_type("ssh-ed25519 AAAA x"));
        assert!(ec2_key_type("ssh-rsa AAAA x"));
        assert!(!ec2_key_type("ecdsa-sha2-nistp384 AAAA x"));
        let script = base64::engine::general_purpose::STANDARD.encode("#!/bin/sh\necho hi\n");
        let ud = key_in_user_data(Some(&script), "ecdsa-sha2-nistp384 AAAAkey").expect("combined");
        let text = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(ud).expect("b64")).expect("utf8");
        assert!(text.contains("ssh_authorized_keys:\n  - ecdsa-sha2-nistp384 AAAAkey"), "{text}");
        assert!(text.contains("Content-Type: text/x-shellscript"), "{text}");
        assert!(text.contains("echo hi"), "{text}");
        let binary = base64::engine::general_purpose::STANDARD.encode([0x1f, 0x8b, 0xff]);
        assert!(key_in_user_data(Some(&binary), "ecdsa-sha2-nistp256 AAAA").is_err());
    }
}
