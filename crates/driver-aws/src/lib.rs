//! The AWS backend (DESIGN.md, "Clouds, zones, mappings"): an AWS region is a cloud. A
//! server is an EC2 instance tagged with our id (`hybridstack:id`), the cloud's name
//! (`hybridstack:cloud`) and the installation's id (`hybridstack:installation`), so two
//! clouds or two control planes on one account never take each other's instances
//! (`ownership.rs` reports the others, and adopts this cloud's from before installation ids). It speaks to EC2 through the official SDK, with TLS, the SDK's
//! retries and any of the credential sources in `config`.
//!
//! The other objects follow the same rule, one file each: networks and subnets are VPCs
//! and subnets (`vpc.rs`), security groups are VPC security groups (`security_groups.rs`),
//! ports are ENIs (`ports.rs`), routers are internet gateways and route tables
//! (`routers.rs`), floating IPs are Elastic IPs (`floating_ips.rs`), volumes and snapshots
//! are EBS (`ebs.rs`), and images are AMIs (`amis.rs`, written block by block with the EBS
//! direct APIs). Everything made carries our tags, so a retried step finds it and the
//! reconcilers can tell ours from the account's other resources.

mod amis;
mod config;
mod ebs;
mod errors;
mod floating_ips;
mod instances;
mod launch_watch;
mod network;
mod ownership;
mod ports;
mod quotas;
mod routers;
mod security_groups;
#[doc(hidden)]
pub mod test_support;
mod vpc;

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use hybridstack_driver::DriverError;

pub use config::{AwsConfig, CredentialSource};

pub(crate) const TAG_ID: &str = "hybridstack:id";
pub(crate) const TAG_CLOUD: &str = "hybridstack:cloud";
/// The installation whose object it is (its store's id).
pub(crate) const TAG_INSTALLATION: &str = "hybridstack:installation";
/// What one of our objects stands for where one id names several (a server's root volume
/// and its EBS volumes; a router's gateway per network).
pub(crate) const TAG_KIND: &str = "hybridstack:kind";
/// The network a per-network object (a router's internet gateway, route table) serves.
pub(crate) const TAG_NETWORK: &str = "hybridstack:network";

pub struct AwsCloud {
    name: String,
    /// `None` only for a cloud opened to write objects as releases before installation ids
    /// did (upgrade tests).
    installation: Option<String>,
    cfg: AwsConfig,
    ec2: aws_sdk_ec2::Client,
    ebs: aws_sdk_ebs::Client,
    quotas: aws_sdk_servicequotas::Client,
    /// The availability zone this cloud's subnets, instances and volumes live in: an ENI,
    /// its instance and the EBS volumes attached to it must share one.
    zone: String,
    /// One lock per object being made or removed: two steps of this node realising one
    /// network (two servers created on it at once) must not make two VPCs for it.
    locks: parking_lot::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    /// The vCPU quota last read, and when (`quotas.rs`).
    quota: parking_lot::Mutex<Option<(std::time::Instant, u64)>>,
    /// The region's instance types, read once: the list is large (over a thousand) and
    /// changes only with AWS's releases.
    types: tokio::sync::OnceCell<Vec<hybridstack_driver::CloudFlavor>>,
    /// Launched instances being waited for, asked about together (`launch_watch.rs`).
    launches: std::sync::Arc<launch_watch::LaunchWatch>,
}

impl AwsCloud {
    /// Connects to the cloud's region with its credentials (`secret`: the sealed secret
    /// access key, when the source has keys) and checks that EC2 answers. Everything the
    /// cloud makes is tagged with `installation`.
    pub async fn open(
        name: &str,
        installation: &str,
        cfg: AwsConfig,
        secret: Option<&str>,
    ) -> Result<Self, DriverError> {
        Self::open_with(name, Some(installation), cfg, secret).await
    }

    /// A cloud that tags objects as releases before installation ids did (the cloud's name
    /// only), for the tests of the upgrade path. Never used to serve: its listings cannot
    /// tell its objects from another installation's.
    #[doc(hidden)]
    pub async fn open_legacy_for_upgrade_tests(
        name: &str,
        cfg: AwsConfig,
        secret: Option<&str>,
    ) -> Result<Self, DriverError> {
        Self::open_with(name, None, cfg, secret).await
    }

    async fn open_with(
        name: &str,
        installation: Option<&str>,
        cfg: AwsConfig,
        secret: Option<&str>,
    ) -> Result<Self, DriverError> {
        let loader = || {
            let l = aws_config::defaults(BehaviorVersion::latest()).region(aws_config::Region::new(cfg.region.clone()));
            match &cfg.endpoint_url {
                Some(url) => l.endpoint_url(url),
                None => l,
            }
        };
        let keys = |id: &str| -> Result<Credentials, DriverError> {
            let secret = secret.ok_or_else(|| {
                DriverError::Rejected(format!("cloud {name}: the secret access key for {id} is missing"))
            })?;
            Ok(Credentials::new(id, secret, None, None, "hybridstack"))
        };
        let loader = match &cfg.credentials {
            CredentialSource::Chain => loader(),
            CredentialSource::Keys { access_key_id } => loader().credentials_provider(keys(access_key_id)?),
            CredentialSource::AssumeRole { role_arn, external_id, access_key_id } => {
                let base = match access_key_id {
                    Some(id) => loader().credentials_provider(keys(id)?),
                    None => loader(),
                };
                let mut role = aws_config::sts::AssumeRoleProvider::builder(role_arn)
                    .session_name(format!("hybridstack-{name}"))
                    .configure(&base.load().await);
                if let Some(x) = external_id {
                    role = role.external_id(x);
                }
                loader().credentials_provider(role.build().await)
            }
        };
        let shared = loader.load().await;
        let ec2 = aws_sdk_ec2::Client::new(&shared);
        // One cheap authenticated call, so a wrong region, endpoint or key fails at `open`;
        // it also names the zone everything of this cloud goes in.
        let zones = ec2
            .describe_availability_zones()
            .send()
            .await
            .map_err(|e| errors::aws(&format!("reaching EC2 in {} for cloud {name}", cfg.region), e))?;
        let zone = match &cfg.zone {
            Some(z) => z.clone(),
            None => {
                let mut names: Vec<String> = zones
                    .availability_zones()
                    .iter()
                    .filter(|z| z.state().is_none_or(|s| s.as_str() == "available"))
                    .filter_map(|z| z.zone_name().map(str::to_string))
                    .collect();
                names.sort();
                names
                    .into_iter()
                    .next()
                    .ok_or_else(|| DriverError::Rejected(format!("region {} offers no available zone", cfg.region)))?
            }
        };
        Ok(Self {
            name: name.into(),
            installation: installation.map(str::to_string),
            ebs: aws_sdk_ebs::Client::new(&shared),
            quotas: aws_sdk_servicequotas::Client::new(&shared),
            cfg,
            ec2,
            zone,
            quota: parking_lot::Mutex::new(None),
            locks: parking_lot::Mutex::default(),
            types: tokio::sync::OnceCell::new(),
            launches: std::sync::Arc::default(),
        })
    }

    /// Holds the lock of one object (`net:<id>`, `sg:<vpc>:<id>`…) until the guard drops.
    pub(crate) async fn lock(&self, key: String) -> tokio::sync::OwnedMutexGuard<()> {
        let m = self.locks.lock().entry(key).or_default().clone();
        m.lock_owned().await
    }

    /// The tags that make an object this cloud's of this installation.
    pub(crate) fn marks(&self) -> Vec<aws_sdk_ec2::types::Tag> {
        let tag = |k: &str, v: &str| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build();
        let mut out = vec![tag(TAG_CLOUD, &self.name)];
        if let Some(i) = &self.installation {
            out.push(tag(TAG_INSTALLATION, i));
        }
        out
    }

    /// Filters for what carries this cloud's and this installation's tags.
    pub(crate) fn mine(&self) -> Vec<aws_sdk_ec2::types::Filter> {
        let mut out = vec![tag_filter(TAG_CLOUD, &self.name)];
        if let Some(i) = &self.installation {
            out.push(tag_filter(TAG_INSTALLATION, i));
        }
        out
    }

    /// Whether an object's tags make it this cloud's of this installation.
    pub(crate) fn is_mine(&self, tags: &[aws_sdk_ec2::types::Tag]) -> bool {
        tag_value(tags, TAG_CLOUD).as_deref() == Some(self.name.as_str())
            && tag_value(tags, TAG_INSTALLATION) == self.installation
    }

    /// Tags for a new object of ours: our id, the cloud and installation, a kind, a readable
    /// name, and any more given.
    pub(crate) fn tag_spec(
        &self,
        resource: aws_sdk_ec2::types::ResourceType,
        id: &str,
        kind: &str,
        name: &str,
        more: &[(&str, &str)],
    ) -> aws_sdk_ec2::types::TagSpecification {
        let tag = |k: &str, v: &str| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build();
        let mut b = aws_sdk_ec2::types::TagSpecification::builder()
            .resource_type(resource)
            .set_tags(Some(self.marks()))
            .tags(tag(TAG_ID, id))
            .tags(tag(TAG_KIND, kind))
            .tags(tag("Name", name));
        for (k, v) in more {
            b = b.tags(tag(k, v));
        }
        b.build()
    }

    /// Filters for our objects of `kind` (and, given, of our id `id`).
    pub(crate) fn ours(&self, kind: &str, id: Option<&str>) -> Vec<aws_sdk_ec2::types::Filter> {
        let f = |k: String, v: &str| aws_sdk_ec2::types::Filter::builder().name(k).values(v).build();
        let mut out = self.mine();
        out.push(f(format!("tag:{TAG_KIND}"), kind));
        if let Some(id) = id {
            out.push(f(format!("tag:{TAG_ID}"), id));
        }
        out
    }

    /// Waits, polling with a growing interval up to the cloud's bound, until `probe` says
    /// done (`Some`); EC2 changes state asynchronously and never in a fixed time.
    pub(crate) async fn wait_until<T, F, Fut>(&self, what: &str, mut probe: F) -> Result<T, DriverError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, DriverError>>,
    {
        let deadline = std::time::Instant::now() + self.wait_limit();
        let mut pause = Duration::from_millis(100);
        loop {
            if let Some(v) = probe().await? {
                return Ok(v);
            }
            if std::time::Instant::now() >= deadline {
                return Err(DriverError::Transient(format!("{what}: not done after {}s", self.wait_limit().as_secs())));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }

    fn wait_limit(&self) -> Duration {
        Duration::from_secs(self.cfg.wait_secs)
    }
}

/// A tag's value on an object of ours.
pub(crate) fn tag_value(tags: &[aws_sdk_ec2::types::Tag], key: &str) -> Option<String> {
    tags.iter().find(|t| t.key() == Some(key)).and_then(|t| t.value().map(str::to_string))
}

pub(crate) fn tag_filter(key: &str, value: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder().name(format!("tag:{key}")).values(value).build()
}
