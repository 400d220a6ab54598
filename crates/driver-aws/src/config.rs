//! What a registered AWS cloud is: a region (optionally at another endpoint, such as the
//! moto server the tests use) and where its credentials come from. A secret access key is
//! never part of this document: core keeps it sealed with the cloud and hands it over only
//! when the cloud is opened.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AwsConfig {
    pub region: String,
    /// Another endpoint than AWS's own for every service (a test double, a proxy).
    #[serde(default)]
    pub endpoint_url: Option<String>,
    pub credentials: CredentialSource,
    /// The On-Demand vCPU quota to use where Service Quotas cannot be read (an endpoint
    /// without it, or a role without `servicequotas:GetServiceQuota`); the account's own
    /// quota wins when it can be read. AWS limits vCPUs, not memory or disk, so those are
    /// reported as unlimited.
    pub vcpu_limit: u64,
    /// The availability zone of the region to use (default: the first available one).
    #[serde(default)]
    pub zone: Option<String>,
    /// The project this cloud serves alone (its own AWS account, through its own keys or
    /// role); `None`: every project. Core reads it from the settings by this name.
    #[serde(default)]
    pub project_id: Option<String>,
    /// How long to wait for an instance or volume to reach a state (terminated, stopped…).
    #[serde(default = "default_wait")]
    pub wait_secs: u64,
}

fn default_wait() -> u64 {
    600
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CredentialSource {
    /// The standard chain: environment, shared config and credentials files, web identity,
    /// ECS and EC2 instance metadata.
    Chain,
    /// An access key given at registration; its secret is sealed in the store.
    Keys { access_key_id: String },
    /// Assume this role with what the chain (or the given keys) provides.
    AssumeRole {
        role_arn: String,
        #[serde(default)]
        external_id: Option<String>,
        /// Assume it with these keys instead of the chain (their secret sealed in the store).
        #[serde(default)]
        access_key_id: Option<String>,
    },
}

impl AwsConfig {
    /// Whether opening the cloud needs the sealed secret access key.
    pub fn needs_secret(&self) -> bool {
        match &self.credentials {
            CredentialSource::Chain => false,
            CredentialSource::Keys { .. } => true,
            CredentialSource::AssumeRole { access_key_id, .. } => access_key_id.is_some(),
        }
    }
}
