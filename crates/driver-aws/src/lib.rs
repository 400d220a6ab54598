//! The AWS backend (DESIGN.md, "Clouds, zones, mappings"): an AWS region is a cloud. A
//! server is an EC2 instance tagged with our id (`hybridstack:id`) and the cloud's name
//! (`hybridstack:cloud`, so two control planes or two clouds on one account never take each
//! other's instances). It speaks to EC2 through the official SDK, with TLS, the SDK's
//! retries and any of the credential sources in `config`.
//!
//! Networks (VPC), volumes (EBS) and images (AMI) are not mapped yet: those calls answer
//! "not supported by this cloud" (`unsupported.rs`) rather than pretending.

mod config;
mod errors;
mod instances;
#[doc(hidden)]
pub mod test_support;
mod unsupported;

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use hybridstack_driver::DriverError;

pub use config::{AwsConfig, CredentialSource};

pub(crate) const TAG_ID: &str = "hybridstack:id";
pub(crate) const TAG_CLOUD: &str = "hybridstack:cloud";

pub struct AwsCloud {
    name: String,
    cfg: AwsConfig,
    ec2: aws_sdk_ec2::Client,
    /// The region's instance types, read once: the list is large (over a thousand) and
    /// changes only with AWS's releases.
    types: tokio::sync::OnceCell<Vec<hybridstack_driver::CloudFlavor>>,
}

impl AwsCloud {
    /// Connects to the cloud's region with its credentials (`secret`: the sealed secret
    /// access key, when the source has keys) and checks that EC2 answers.
    pub async fn open(name: &str, cfg: AwsConfig, secret: Option<&str>) -> Result<Self, DriverError> {
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
        let cloud = Self { name: name.into(), cfg, ec2, types: tokio::sync::OnceCell::new() };
        cloud.check().await?;
        Ok(cloud)
    }

    /// One cheap authenticated call, so a wrong region, endpoint or key fails at `open`.
    async fn check(&self) -> Result<(), DriverError> {
        self.ec2
            .describe_availability_zones()
            .send()
            .await
            .map_err(|e| errors::aws(&format!("reaching EC2 in {} for cloud {}", self.cfg.region, self.name), e))?;
        Ok(())
    }

    fn wait_limit(&self) -> Duration {
        Duration::from_secs(self.cfg.wait_secs)
    }
}
