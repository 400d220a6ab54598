//! The identity service (Keystone v3): who callers are, what they may do, and where the
//! services are. One module per resource; `auth` turns credentials into tokens and tokens
//! back into request contexts.

mod app_credentials;
mod assignments;
mod auth;
mod bootstrap;
mod catalog;
mod domains;
mod groups;
mod principal;
mod projects;
mod revocation;
mod roles;
mod stamped;
pub mod token;
mod users;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hybridstack_store::Store;

use crate::keys::Keys;
use crate::secrets::PasswordHasher;
use crate::CoreError;

pub use app_credentials::{AppCredential, NewAppCredential};
pub use assignments::{
    ActorType, Assignment, AssignmentFilter, AssignmentNames, EffectiveAssignment, Named, TargetType,
};
pub use auth::{AuthRequest, IssuedToken};
pub use bootstrap::{bootstrap, ensure_catalog, BootstrapReport, SERVICES};
pub use catalog::{CatalogEndpoint, CatalogEntry, Endpoint, Region, Service};
pub use domains::Domain;
pub use groups::Group;
pub use principal::{Principal, PrincipalScope};
pub use projects::Project;
pub use revocation::RevocationIndex;
pub use roles::Role;
pub use token::{TokenPayload, TokenScope};
pub use users::User;

pub const DEFAULT_DOMAIN_ID: &str = "default";

#[derive(Debug, Clone)]
pub struct IdentityConfig {
    pub token_ttl_secs: i64,
    /// How many of a user's newest passwords (the current one included) a new one must differ from.
    pub unique_last_password_count: usize,
    /// Base URL that clients reach this server at, e.g. `http://127.0.0.1:5000`.
    pub public_url: String,
    pub region: String,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            token_ttl_secs: 3600,
            unique_last_password_count: 2,
            public_url: "http://127.0.0.1:5000".into(),
            region: "RegionOne".into(),
        }
    }
}

pub struct Identity {
    store: Store,
    keys: Keys,
    hasher: PasswordHasher,
    cfg: IdentityConfig,
    revocations: RevocationIndex,
    /// Bumped by every identity write on this node; cached principals and catalog built
    /// under an older generation are rebuilt. Other nodes' writes reach here through the
    /// caches' short time-to-live.
    generation: AtomicU64,
    principals: principal::Cache,
    catalog: catalog::Cache,
    opened: token::OpenedTokens,
    /// One permit per core: more bcrypt runs at once than cores only adds switching, and the
    /// queue in front of the permits is fair.
    hashing: tokio::sync::Semaphore,
}

impl Identity {
    pub async fn new(
        store: Store,
        keys: Keys,
        hasher: PasswordHasher,
        cfg: IdentityConfig,
    ) -> Result<Arc<Self>, CoreError> {
        let me = Arc::new(Self {
            store,
            keys,
            hasher,
            cfg,
            revocations: RevocationIndex::default(),
            generation: AtomicU64::new(0),
            principals: Default::default(),
            catalog: Default::default(),
            opened: Default::default(),
            hashing: tokio::sync::Semaphore::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)),
        });
        me.revocations.sync(&me.store).await?;
        Ok(me)
    }

    pub fn config(&self) -> &IdentityConfig {
        &self.cfg
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// A finished write's result, its success announced first (`changed`), so the caches
    /// that follow identity reload.
    fn announce<T, E: Into<CoreError>>(&self, done: Result<T, E>) -> Result<T, CoreError> {
        let v = done.map_err(Into::into)?;
        self.changed();
        Ok(v)
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Pulls revocations made by other nodes and drops expired ones; `serve` calls this
    /// every second.
    pub async fn housekeeping(&self) -> Result<(), CoreError> {
        self.revocations.sync(&self.store).await?;
        Ok(())
    }

    /// Runs a CPU-heavy password operation off the async workers.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, CoreError> {
        let h = self.hasher;
        let _permit = self.hashing.acquire().await.map_err(|_| CoreError::Internal("hashing pool closed".into()))?;
        tokio::task::spawn_blocking(move || f(h))
            .await
            .map_err(|e| CoreError::Internal(format!("hashing task failed: {e}")))
    }
}

pub(crate) use crate::clock::new_hex_id as new_id;

#[cfg(test)]
mod tests;
