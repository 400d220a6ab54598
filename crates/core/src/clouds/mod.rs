//! Core's ground floor: the registered clouds, their handles, and what the services ask of
//! them (zones, subnets a cloud can host, image stores). Each cloud is in one availability
//! zone: the `availability_zone` of its settings, else the zone named after the cloud, so
//! several clouds may make up one zone. Every other service is built on a `Clouds` and none of them is known here, so
//! services are built in dependency order with nothing wired after construction.
//!
//! Core never names a backend crate: the binary hands in a `DriverFactory` that opens a
//! cloud row into a handle, and core holds only the handle's read-only queries; the handles
//! that change a cloud are sealed in it for the engine (see [`Sealed`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use hybridstack_driver::{BlockQuery, ComputeQuery, ImageStoreQuery, NetworkQuery, OwnershipQuery};
use hybridstack_store::clouds::CloudRow;
use hybridstack_store::{Store, StoreError};
use parking_lot::RwLock;
use serde_json::Value;

use crate::CoreError;

/// An open cloud: what core may ask it, by concern, and the sealed handles the engine
/// changes it through.
pub struct CloudHandle {
    pub name: String,
    pub kind: String,
    pub compute: Arc<dyn ComputeQuery>,
    pub network: Arc<dyn NetworkQuery>,
    pub block: Arc<dyn BlockQuery>,
    /// The cloud's own image store, for clouds that boot only from images they keep (AMIs).
    pub images: Option<Arc<dyn ImageStoreQuery>>,
    /// What on the backend is foreign (another installation's, or from before ids).
    pub ownership: Arc<dyn OwnershipQuery>,
    /// The engine's acting handles for this cloud (`hybridstack_driver_act::Actors`).
    pub acting: Sealed,
}

/// A value core carries but cannot open: the engine's acting handles of a cloud. Their type
/// lives in `hybridstack-driver-act`, which core does not depend on, so no code in core can
/// name it to open it; that is what keeps every cloud-changing call out of core.
#[derive(Clone)]
pub struct Sealed(Arc<dyn std::any::Any + Send + Sync>);

impl Sealed {
    pub fn new<T: std::any::Any + Send + Sync>(inner: Arc<T>) -> Self {
        Self(inner)
    }

    /// The sealed value, for a caller that can name its type.
    pub fn open<T: std::any::Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.0.clone().downcast().ok()
    }
}

pub trait DriverFactory: Send + Sync {
    /// Opens the drivers for a cloud; fails with the reason when the backend is unreachable
    /// or the settings are wrong.
    fn open(&self, cloud: &CloudSpec) -> Result<CloudHandle, CoreError>;
}

/// What opening a cloud takes. Not `Debug`: it holds the unsealed secret.
pub struct CloudSpec {
    pub kind: String,
    pub name: String,
    /// This installation's id, which every object the drivers make carries.
    pub installation: String,
    pub config: Value,
    /// The cloud's credential secret (an AWS secret access key), unsealed for this call only.
    pub secret: Option<String>,
}

pub struct Clouds {
    store: Store,
    factory: Arc<dyn DriverFactory>,
    open: RwLock<BTreeMap<String, Arc<CloudHandle>>>,
    /// Why a registered cloud could not be opened, for `cloud check` and scheduling faults.
    broken: RwLock<BTreeMap<String, String>>,
    /// Seals the clouds' credential secrets in the store (never kept in their settings).
    sealer: Option<crate::keys::KeyRing>,
    /// Clouds dedicated to one project (an AWS account of the project's own): cloud name to
    /// project id, from the `project_id` of the cloud's settings.
    dedicated: RwLock<BTreeMap<String, String>>,
    /// The zones of the clouds whose settings name one (`availability_zone`): cloud name to
    /// zone. A cloud not here is the zone of its own name.
    zones: RwLock<BTreeMap<String, String>>,
    /// This installation's id (read from the store, or made, on first use).
    installation: tokio::sync::OnceCell<String>,
    /// The engine's doorbell, rung when an operation is queued so an idle worker takes it at
    /// once. It lives on the ground floor because every service that queues operations
    /// (images, networking, compute, volumes) stands on it.
    doorbell: Arc<tokio::sync::Notify>,
}

/// A cloud as `cloud list` shows it.
#[derive(Debug, Clone)]
pub struct CloudInfo {
    pub name: String,
    pub kind: String,
    pub config: Value,
    pub error: Option<String>,
}

/// The key of a cloud's settings that names its availability zone (read by core; the
/// drivers carry it as they carry `project_id`).
pub const ZONE_SETTING: &str = "availability_zone";

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
            dedicated: RwLock::default(),
            zones: RwLock::default(),
            installation: tokio::sync::OnceCell::new(),
            doorbell: Arc::default(),
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
            dedicated: RwLock::default(),
            zones: RwLock::default(),
            installation: tokio::sync::OnceCell::new(),
            doorbell: Arc::default(),
        })
    }

    /// The engine's doorbell (see the field).
    pub fn doorbell(&self) -> &Arc<tokio::sync::Notify> {
        &self.doorbell
    }

    /// Whether the doorbell holds a ring nobody has answered yet; answers it (polled once,
    /// never waited on).
    #[cfg(test)]
    pub(crate) fn rung(&self) -> bool {
        let notified = std::pin::pin!(self.doorbell.notified());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        std::future::Future::poll(notified, &mut cx).is_ready()
    }

    /// This installation's id, which every cloud marks its objects with.
    pub async fn installation(&self) -> Result<String, CoreError> {
        self.installation.get_or_try_init(|| crate::installation::ensure(&self.store)).await.cloned()
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
        self.refreshed_rows().await.map(|_| ())
    }

    /// `refresh`, answering the registered clouds' rows it read.
    async fn refreshed_rows(&self) -> Result<Vec<CloudRow>, CoreError> {
        let rows = self.store.cloud_list().await?;
        let installation = self.installation().await?;
        for r in &rows {
            if self.open.read().contains_key(&r.name) {
                continue;
            }
            let config: Value = serde_json::from_str(&r.config)
                .map_err(|e| CoreError::Internal(format!("cloud {} has corrupt settings: {e}", r.name)))?;
            let factory = self.factory.clone();
            let opened = match self.unseal(&r.name, r.sealed_secret.as_deref()) {
                Ok(secret) => {
                    let (kind, name, installation) = (r.kind.clone(), r.name.clone(), installation.clone());
                    let spec = CloudSpec { kind, name, installation, config, secret };
                    tokio::task::spawn_blocking(move || factory.open(&spec))
                }
                .await
                .map_err(|e| CoreError::Internal(e.to_string()))?,
                Err(e) => Err(e),
            };
            match opened {
                Ok(h) => {
                    self.broken.write().remove(&r.name);
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
        let setting = |r: &CloudRow, key: &str| {
            let config: Value = serde_json::from_str(&r.config).ok()?;
            Some((r.name.clone(), config.get(key)?.as_str()?.to_string()))
        };
        *self.dedicated.write() = rows.iter().filter_map(|r| setting(r, "project_id")).collect();
        *self.zones.write() = rows.iter().filter_map(|r| setting(r, ZONE_SETTING)).collect();
        Ok(rows)
    }

    /// The availability zone `cloud` is in ("" for no cloud: a server not placed yet).
    pub fn zone_of(&self, cloud: &str) -> String {
        self.zones.read().get(cloud).cloned().unwrap_or_else(|| cloud.to_string())
    }

    /// Whether `cloud` answers to `zone`: the zone it is in, or its own name (which picks
    /// that one cloud of a zone, and is how a volume's cloud pins its server).
    pub fn answers_to(&self, cloud: &str, zone: &str) -> bool {
        cloud == zone || self.zone_of(cloud) == zone
    }

    /// The registered clouds that answer to `zone`, by name.
    pub async fn clouds_in(&self, zone: &str) -> Result<Vec<String>, CoreError> {
        let rows = self.refreshed_rows().await?;
        Ok(rows.into_iter().map(|r| r.name).filter(|c| self.answers_to(c, zone)).collect())
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
        match config.get(ZONE_SETTING) {
            None | Some(Value::Null) => {}
            Some(Value::String(z)) if valid_cloud_name(z) => {}
            Some(z) => {
                return Err(CoreError::BadRequest(format!(
                    "Invalid availability zone {z}: use 1 to 63 letters, digits, '-' or '_', starting with a letter or digit."
                )))
            }
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
        let spec = CloudSpec {
            kind: kind.to_string(),
            name: name.to_string(),
            installation: self.installation().await?,
            config: config.clone(),
            secret,
        };
        let handle = tokio::task::spawn_blocking(move || factory.open(&spec))
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

    /// The image stores of the open clouds that keep images of their own (AMIs).
    pub fn image_stores(&self) -> Vec<Arc<dyn ImageStoreQuery>> {
        self.open.read().values().filter_map(|h| h.images.clone()).collect()
    }

    /// Whether a registered cloud answers to that zone (a network's zone hint names one).
    pub async fn zone_known(&self, zone: &str) -> Result<bool, CoreError> {
        Ok(!self.clouds_in(zone).await?.is_empty())
    }

    /// Why a cloud of the zone cannot host the subnet (a 400), if one cannot.
    pub async fn check_subnet(&self, zone: &str, s: &hybridstack_driver::SubnetSpec) -> Result<(), CoreError> {
        for name in self.clouds_in(zone).await? {
            let cloud = self.require(&name).await?;
            cloud.network.check_subnet(s).map_err(|e| {
                CoreError::BadRequest(format!(
                    "Invalid input for operation: availability zone {zone} cannot host this subnet: {e}"
                ))
            })?;
        }
        Ok(())
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
pub struct NoDrivers;

impl DriverFactory for NoDrivers {
    fn open(&self, c: &CloudSpec) -> Result<CloudHandle, CoreError> {
        Err(CoreError::BadRequest(format!("No driver for clouds of kind {:?} is built into this binary.", c.kind)))
    }
}

#[cfg(test)]
mod tests {
    /// What keeps cloud-changing calls out of core: the crate that declares them is not one
    /// of core's dependencies, so no file here can name them (nor open a [`super::Sealed`]).
    /// Only direct dependencies can be named in Rust, so checking the manifest is enough.
    #[test]
    fn core_cannot_name_the_calls_that_change_a_cloud() {
        let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).expect("manifest");
        let deps: Vec<&str> = manifest
            .lines()
            .filter_map(|l| l.split(['=', '.']).next())
            .map(str::trim)
            .filter(|name| name.starts_with("hybridstack-"))
            .collect();
        assert!(deps.contains(&"hybridstack-driver"), "core asks clouds through the query traits: {deps:?}");
        assert!(
            !deps.iter().any(|d| d.starts_with("hybridstack-driver-") || *d == "hybridstack-engine"),
            "core must not depend on a crate that changes clouds: {deps:?}"
        );
    }
}
