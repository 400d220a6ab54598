//! The registered clouds and their drivers. Each cloud is one availability zone. Core never
//! names a backend crate: the binary hands in a `DriverFactory` that opens a driver for a
//! cloud row, so adding a backend touches only the binary and its own crate.

use std::collections::BTreeMap;
use std::sync::Arc;

use hybridstack_driver::{Compute as ComputeDriver, Network as NetworkDriver, Ownership};
use hybridstack_store::compute::CloudRow;
use hybridstack_store::{Store, StoreError};
use parking_lot::RwLock;
use serde_json::Value;

use crate::CoreError;

/// An open cloud: its drivers, by concern.
pub struct CloudHandle {
    pub name: String,
    pub kind: String,
    pub compute: Arc<dyn ComputeDriver>,
    pub network: Arc<dyn NetworkDriver>,
    pub block: Arc<dyn hybridstack_driver::BlockStorage>,
    /// The cloud's own image store, for clouds that boot only from images they keep (AMIs):
    /// Glance's copy-image writes into it and image deletes remove from it.
    pub images: Option<Arc<dyn hybridstack_driver::ImageStore>>,
    /// What on the backend is this installation's, what is foreign, and adoption.
    pub ownership: Arc<dyn Ownership>,
}

pub trait DriverFactory: Send + Sync {
    /// Opens the drivers for a cloud; fails with the reason when the backend is unreachable
    /// or the settings are wrong. `installation` is this installation's id, which every
    /// object the drivers make carries; `secret` is the cloud's credential secret (an AWS
    /// secret access key), unsealed for this call only.
    fn open(
        &self,
        kind: &str,
        name: &str,
        installation: &str,
        config: &Value,
        secret: Option<&str>,
    ) -> Result<CloudHandle, CoreError>;
}

pub struct Clouds {
    store: Store,
    factory: Arc<dyn DriverFactory>,
    open: RwLock<BTreeMap<String, Arc<CloudHandle>>>,
    /// Why a registered cloud could not be opened, for `cloud check` and scheduling faults.
    broken: RwLock<BTreeMap<String, String>>,
    /// Seals the clouds' credential secrets in the store (never kept in their settings).
    sealer: Option<crate::keys::KeyRing>,
    /// The image service, which takes each opened cloud's image store.
    images: RwLock<Option<Arc<crate::images::Images>>>,
    /// Clouds dedicated to one project (an AWS account of the project's own): cloud name to
    /// project id, from the `project_id` of the cloud's settings.
    dedicated: RwLock<BTreeMap<String, String>>,
    /// This installation's id (read from the store, or made, on first use).
    installation: tokio::sync::OnceCell<String>,
}

/// A cloud as `cloud list` shows it.
#[derive(Debug, Clone)]
pub struct CloudInfo {
    pub name: String,
    pub kind: String,
    pub config: Value,
    pub error: Option<String>,
}

pub fn valid_cloud_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

impl Clouds {
    pub fn new(store: Store, factory: Arc<dyn DriverFactory>) -> Arc<Self> {
        Arc::new(Self {
            store,
            factory,
            open: RwLock::default(),
            broken: RwLock::default(),
            sealer: None,
            images: RwLock::default(),
            dedicated: RwLock::default(),
            installation: tokio::sync::OnceCell::new(),
        })
    }

    /// Clouds whose credential secrets are sealed with `ring` (the data dir's credential keys).
    pub fn with_secrets(store: Store, factory: Arc<dyn DriverFactory>, ring: crate::keys::KeyRing) -> Arc<Self> {
        Arc::new(Self {
            store,
            factory,
            open: RwLock::default(),
            broken: RwLock::default(),
            sealer: Some(ring),
            images: RwLock::default(),
            dedicated: RwLock::default(),
            installation: tokio::sync::OnceCell::new(),
        })
    }

    /// This installation's id, which every cloud marks its objects with.
    pub async fn installation(&self) -> Result<String, CoreError> {
        self.installation.get_or_try_init(|| crate::installation::ensure(&self.store)).await.cloned()
    }

    /// Hands the image service the image store of every cloud open now and opened later.
    pub fn serve_images(&self, images: Arc<crate::images::Images>) {
        for h in self.open.read().values() {
            if let Some(s) = &h.images {
                images.register_store(s.clone());
            }
        }
        *self.images.write() = Some(images);
    }

    fn unseal(&self, name: &str, sealed: Option<&str>) -> Result<Option<String>, CoreError> {
        let Some(sealed) = sealed else { return Ok(None) };
        use base64::Engine;
        let ring = self
            .sealer
            .as_ref()
            .ok_or_else(|| CoreError::Internal(format!("cloud {name} has a sealed secret and no key to open it")))?;
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(sealed).ok().and_then(|b| ring.open(&b)).ok_or_else(
                || CoreError::Internal(format!("cloud {name}: its sealed secret does not open with this key")),
            )?;
        String::from_utf8(bytes).map(Some).map_err(|e| CoreError::Internal(format!("cloud {name}: {e}")))
    }

    /// Opens every registered cloud not open yet; keeps the reason for those that fail.
    pub async fn refresh(&self) -> Result<(), CoreError> {
        let rows = self.store.cloud_list().await?;
        let installation = self.installation().await?;
        for r in &rows {
            if self.open.read().contains_key(&r.name) {
                continue;
            }
            let config: Value = serde_json::from_str(&r.config)
                .map_err(|e| CoreError::Internal(format!("cloud {} has corrupt settings: {e}", r.name)))?;
            let factory = self.factory.clone();
            let (kind, name, installation) = (r.kind.clone(), r.name.clone(), installation.clone());
            let opened = match self.unseal(&r.name, r.sealed_secret.as_deref()) {
                Ok(secret) => tokio::task::spawn_blocking(move || {
                    factory.open(&kind, &name, &installation, &config, secret.as_deref())
                })
                .await
                .map_err(|e| CoreError::Internal(e.to_string()))?,
                Err(e) => Err(e),
            };
            match opened {
                Ok(h) => {
                    self.broken.write().remove(&r.name);
                    if let (Some(images), Some(s)) = (self.images.read().as_ref(), &h.images) {
                        images.register_store(s.clone());
                    }
                    self.open.write().insert(r.name.clone(), Arc::new(h));
                }
                Err(e) => {
                    tracing::warn!(cloud = %r.name, "cannot open cloud: {e}");
                    self.broken.write().insert(r.name.clone(), e.to_string());
                }
            }
        }
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        self.open.write().retain(|k, _| names.contains(&k.as_str()));
        *self.dedicated.write() = rows
            .iter()
            .filter_map(|r| {
                let config: Value = serde_json::from_str(&r.config).ok()?;
                Some((r.name.clone(), config.get("project_id")?.as_str()?.to_string()))
            })
            .collect();
        Ok(())
    }

    /// Whether a server or volume of `project` may be placed on `cloud`: every shared cloud,
    /// and the clouds dedicated to that project.
    pub fn serves(&self, cloud: &str, project: &str) -> bool {
        self.dedicated.read().get(cloud).is_none_or(|p| p == project)
    }

    /// Whether `cloud` is dedicated to `project` (preferred for its servers).
    pub fn dedicated_to(&self, cloud: &str, project: &str) -> bool {
        self.dedicated.read().get(cloud).is_some_and(|p| p == project)
    }

    pub fn get(&self, name: &str) -> Option<Arc<CloudHandle>> {
        self.open.read().get(name).cloned()
    }

    /// A cloud by name, opening it first if it was registered since the last refresh.
    pub async fn require(&self, name: &str) -> Result<Arc<CloudHandle>, CoreError> {
        if let Some(h) = self.get(name) {
            return Ok(h);
        }
        self.refresh().await?;
        self.get(name).ok_or_else(|| match self.broken.read().get(name) {
            Some(why) => CoreError::Conflict(format!("Cloud {name} is unavailable: {why}")),
            None => CoreError::NotFound(format!("Cloud {name} is not registered.")),
        })
    }

    pub fn all(&self) -> Vec<Arc<CloudHandle>> {
        self.open.read().values().cloned().collect()
    }

    pub fn broken(&self) -> BTreeMap<String, String> {
        self.broken.read().clone()
    }

    pub async fn list(&self) -> Result<Vec<CloudInfo>, CoreError> {
        let broken = self.broken();
        self.store
            .cloud_list()
            .await?
            .into_iter()
            .map(|r| {
                let config = serde_json::from_str(&r.config).unwrap_or(Value::Null);
                Ok(CloudInfo { error: broken.get(&r.name).cloned(), name: r.name, kind: r.kind, config })
            })
            .collect()
    }

    /// Registers a cloud after opening it once, so a typo in its settings is caught now.
    pub async fn add(&self, kind: &str, name: &str, config: Value) -> Result<Arc<CloudHandle>, CoreError> {
        self.add_with_secret(kind, name, config, None).await
    }

    /// Registers a cloud with a credential secret, which the store keeps sealed.
    pub async fn add_with_secret(
        &self,
        kind: &str,
        name: &str,
        config: Value,
        secret: Option<String>,
    ) -> Result<Arc<CloudHandle>, CoreError> {
        if !valid_cloud_name(name) {
            return Err(CoreError::BadRequest(format!(
                "Invalid cloud name {name:?}: use 1 to 63 letters, digits, '-' or '_', starting with a letter or digit."
            )));
        }
        let factory = self.factory.clone();
        let sealed = match &secret {
            Some(s) => {
                use base64::Engine;
                let ring = self.sealer.as_ref().ok_or_else(|| {
                    CoreError::BadRequest("This command cannot keep a secret: no credential key is loaded.".into())
                })?;
                Some(base64::engine::general_purpose::STANDARD.encode(ring.seal(s.as_bytes())?))
            }
            None => None,
        };
        let (k, n, c, i) = (kind.to_string(), name.to_string(), config.clone(), self.installation().await?);
        let handle = tokio::task::spawn_blocking(move || factory.open(&k, &n, &i, &c, secret.as_deref()))
            .await
            .map_err(|e| CoreError::Internal(e.to_string()))??;
        let row = CloudRow {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.into(),
            kind: kind.into(),
            config: config.to_string(),
            sealed_secret: sealed,
            created_at: crate::clock::now_micros(),
        };
        match self.store.cloud_insert(&row).await {
            Err(StoreError::Conflict(_)) => {
                return Err(CoreError::Conflict(format!("A cloud named {name} is already registered.")))
            }
            other => other?,
        }
        let h = Arc::new(handle);
        self.open.write().insert(name.into(), h.clone());
        Ok(h)
    }

    pub async fn remove(&self, name: &str) -> Result<(), CoreError> {
        match self.store.cloud_delete(name).await {
            Err(StoreError::NotFound) => Err(CoreError::NotFound(format!("Cloud {name} is not registered."))),
            other => {
                other?;
                self.open.write().remove(name);
                Ok(())
            }
        }
    }
}

/// A factory that opens nothing: a binary (or test) built without backend drivers. Servers
/// then fail to schedule with the reason.
#[async_trait::async_trait]
impl crate::images::StoreSource for Clouds {
    async fn refresh_stores(&self) -> Result<(), CoreError> {
        self.refresh().await
    }
}

#[async_trait::async_trait]
impl crate::network::Placement for Clouds {
    async fn zone_known(&self, zone: &str) -> Result<bool, CoreError> {
        Ok(self.list().await?.iter().any(|c| c.name == zone))
    }

    async fn check_subnet(&self, zone: &str, s: &hybridstack_driver::SubnetSpec) -> Result<(), CoreError> {
        let cloud = self.require(zone).await?;
        cloud.network.check_subnet(s).map_err(|e| {
            CoreError::BadRequest(format!(
                "Invalid input for operation: availability zone {zone} cannot host this subnet: {e}"
            ))
        })
    }
}

pub struct NoDrivers;

impl DriverFactory for NoDrivers {
    fn open(&self, kind: &str, _: &str, _: &str, _: &Value, _: Option<&str>) -> Result<CloudHandle, CoreError> {
        Err(CoreError::BadRequest(format!("No driver for clouds of kind {kind:?} is built into this binary.")))
    }
}
