//! The backends built into this binary, by cloud kind. Core knows clouds only through the
//! `DriverFactory` this provides.

use std::sync::Arc;

use hybridstack_core::clouds::{CloudHandle, CloudSpec, DriverFactory, Sealed};
use hybridstack_core::CoreError;
use hybridstack_driver::ImageStoreQuery;
use hybridstack_driver_act::{Actors, BlockStorage, Compute, ImageStore, Network, Ownership};
use hybridstack_driver_aws::{AwsCloud, AwsConfig};
use hybridstack_driver_libvirt::{LibvirtCloud, LibvirtConfig};
use hybridstack_driver_vsphere::{VsphereCloud, VsphereConfig};

pub(crate) struct Builtin;

impl DriverFactory for Builtin {
    fn open(&self, c: &CloudSpec) -> Result<CloudHandle, CoreError> {
        let (kind, name, installation, config, secret) =
            (c.kind.as_str(), c.name.as_str(), c.installation.as_str(), &c.config, c.secret.as_deref());
        match kind {
            "aws" => {
                let cfg: AwsConfig = serde_json::from_value(config.clone())
                    .map_err(|e| CoreError::BadRequest(format!("invalid AWS cloud settings: {e}")))?;
                // Called on a blocking thread of the runtime, which may wait on async work.
                let opened =
                    tokio::runtime::Handle::current().block_on(AwsCloud::open(name, installation, cfg, secret));
                let cloud =
                    Arc::new(opened.map_err(|e| CoreError::BadRequest(format!("cannot open AWS cloud {name}: {e}")))?);
                let images: (Arc<dyn ImageStoreQuery>, Arc<dyn ImageStore>) = (cloud.clone(), cloud.clone());
                Ok(handle(kind, name, cloud, Some(images)))
            }
            "libvirt" => {
                let cfg: LibvirtConfig = serde_json::from_value(config.clone())
                    .map_err(|e| CoreError::BadRequest(format!("invalid libvirt cloud settings: {e}")))?;
                let cloud = Arc::new(
                    LibvirtCloud::open(name, installation, cfg)
                        .map_err(|e| CoreError::BadRequest(format!("cannot open libvirt cloud {name}: {e}")))?,
                );
                Ok(handle(kind, name, cloud, None))
            }
            "vsphere" => {
                let cfg: VsphereConfig = serde_json::from_value(config.clone())
                    .map_err(|e| CoreError::BadRequest(format!("invalid vCenter cloud settings: {e}")))?;
                let password = secret
                    .ok_or_else(|| CoreError::BadRequest(format!("cloud {name}: the vCenter password is missing")))?;
                let opened =
                    tokio::runtime::Handle::current().block_on(VsphereCloud::open(name, installation, cfg, password));
                let cloud = Arc::new(
                    opened.map_err(|e| CoreError::BadRequest(format!("cannot open vCenter cloud {name}: {e}")))?,
                );
                let images: (Arc<dyn ImageStoreQuery>, Arc<dyn ImageStore>) = (cloud.clone(), cloud.clone());
                Ok(handle(kind, name, cloud, Some(images)))
            }
            other => Err(CoreError::BadRequest(format!(
                "No driver for clouds of kind {other:?} is built into this binary (built in: libvirt, aws, vsphere)."
            ))),
        }
    }
}

/// A cloud's handle over one backend object: core gets its read-only queries, and the acting
/// handles the engine changes the cloud through are sealed in it.
fn handle<T>(
    kind: &str,
    name: &str,
    cloud: Arc<T>,
    images: Option<(Arc<dyn ImageStoreQuery>, Arc<dyn ImageStore>)>,
) -> CloudHandle
where
    T: Compute + Network + BlockStorage + Ownership + 'static,
{
    let actors = Actors {
        name: name.into(),
        compute: cloud.clone(),
        network: cloud.clone(),
        block: cloud.clone(),
        images: images.as_ref().map(|(_, act)| act.clone()),
        ownership: cloud.clone(),
    };
    CloudHandle {
        name: name.into(),
        kind: kind.into(),
        compute: cloud.clone(),
        network: cloud.clone(),
        block: cloud.clone(),
        images: images.map(|(query, _)| query),
        ownership: cloud,
        acting: Sealed::new(Arc::new(actors)),
    }
}
