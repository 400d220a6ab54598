//! A test bed for the engine's tests on a real libvirtd (QEMU under TCG) with the project's
//! test guest: a store, the image, network and compute services, one libvirt cloud reached
//! through a wrapper that can make a chosen driver call fail, and the engine with the server
//! sagas. Everything it makes in libvirtd goes when it is dropped.
//!
//! Needs libvirtd on qemu:///system and the built guest (scripts/install-test-deps does both).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hybridstack_core::clouds::{CloudHandle, CloudSpec, Clouds, DriverFactory, Sealed};
use hybridstack_core::compute::{Compute, ComputeConfig, CreateRequest, FlavorRequest, NetworkRequest};
use hybridstack_core::images::{Images, ImagesConfig, NewImage};
use hybridstack_core::network::{NetworkRequest as NetRequest, Networking, SubnetRequest};
use hybridstack_core::policy::{RequestContext, Scope};
use hybridstack_core::CoreError;
use hybridstack_driver::{
    Capacity, ComputeCapabilities, ComputeQuery, DriverError, FloatingIpSpec, Foreign, NetworkCapabilities,
    NetworkQuery, NetworkSpec, Owned, OwnedServer, OwnershipQuery, PortSpec, PowerAction, PowerState, RouterSpec,
    SecurityGroupSpec, ServerSpec,
};
use hybridstack_driver_act::{Actors, Compute as ComputeDriver, Network, Ownership};
use hybridstack_driver_libvirt::{LibvirtCloud, LibvirtConfig};
use hybridstack_store::testing;
use parking_lot::Mutex;
use serde_json::Value;

use crate::Engine;

/// The real libvirt cloud, except that the driver call named in `fail` fails (for good).
/// The cloud can be swapped for another opening of it (the upgrade tests open it first as a
/// release before installation ids did, then as this installation's).
pub(crate) struct Faulty {
    real: parking_lot::RwLock<Arc<LibvirtCloud>>,
    pub fail: Arc<Mutex<Option<&'static str>>>,
}

impl Faulty {
    pub(crate) fn real(&self) -> Arc<LibvirtCloud> {
        self.real.read().clone()
    }

    fn check(&self, call: &'static str) -> Result<(), DriverError> {
        if *self.fail.lock() == Some(call) {
            return Err(DriverError::Failed(format!("injected failure in {call}")));
        }
        Ok(())
    }
}

#[async_trait]
impl ComputeQuery for Faulty {
    fn capabilities(&self) -> ComputeCapabilities {
        ComputeQuery::capabilities(&*self.real())
    }
    async fn capacity(&self) -> Result<Capacity, DriverError> {
        self.check("capacity")?;
        self.real().capacity().await
    }
    async fn console_output(&self, id: &str, lines: Option<usize>) -> Result<String, DriverError> {
        self.real().console_output(id, lines).await
    }
}

#[async_trait]
impl ComputeDriver for Faulty {
    async fn ensure_server(&self, s: &ServerSpec) -> Result<(), DriverError> {
        self.check("ensure_server")?;
        self.real().ensure_server(s).await
    }
    async fn delete_server(&self, id: &str) -> Result<(), DriverError> {
        self.real().delete_server(id).await
    }
    async fn power(&self, id: &str, a: PowerAction) -> Result<(), DriverError> {
        self.real().power(id, a).await
    }
    async fn power_state(&self, id: &str) -> Result<PowerState, DriverError> {
        self.check("power_state")?;
        self.real().power_state(id).await
    }
    async fn rebuild(&self, s: &ServerSpec) -> Result<(), DriverError> {
        self.real().rebuild(s).await
    }
    async fn resize(&self, s: &ServerSpec) -> Result<(), DriverError> {
        self.real().resize(s).await
    }
    async fn confirm_resize(&self, id: &str) -> Result<(), DriverError> {
        self.real().confirm_resize(id).await
    }
    async fn revert_resize(&self, s: &ServerSpec) -> Result<(), DriverError> {
        self.real().revert_resize(s).await
    }
    async fn snapshot(&self, id: &str, dest: &std::path::Path) -> Result<(), DriverError> {
        self.real().snapshot(id, dest).await
    }
    async fn list_owned(&self) -> Result<Vec<OwnedServer>, DriverError> {
        ComputeDriver::list_owned(&*self.real()).await
    }
}

impl NetworkQuery for Faulty {
    fn capabilities(&self) -> NetworkCapabilities {
        NetworkQuery::capabilities(&*self.real())
    }
}

#[async_trait]
impl Network for Faulty {
    async fn ensure_network(&self, n: &NetworkSpec) -> Result<String, DriverError> {
        self.check("ensure_network")?;
        self.real().ensure_network(n).await
    }
    async fn delete_network(&self, id: &str) -> Result<(), DriverError> {
        self.real().delete_network(id).await
    }
    async fn ensure_port(&self, p: &PortSpec) -> Result<String, DriverError> {
        self.check("ensure_port")?;
        self.real().ensure_port(p).await
    }
    async fn refresh_port(&self, p: &PortSpec) -> Result<(), DriverError> {
        self.real().refresh_port(p).await
    }
    async fn delete_port(&self, id: &str) -> Result<(), DriverError> {
        self.real().delete_port(id).await
    }
    async fn ensure_security_group(&self, g: &SecurityGroupSpec) -> Result<String, DriverError> {
        self.real().ensure_security_group(g).await
    }
    async fn delete_security_group(&self, id: &str) -> Result<(), DriverError> {
        self.real().delete_security_group(id).await
    }
    async fn ensure_router(&self, r: &RouterSpec) -> Result<String, DriverError> {
        self.real().ensure_router(r).await
    }
    async fn delete_router(&self, id: &str) -> Result<(), DriverError> {
        self.real().delete_router(id).await
    }
    async fn ensure_floating_ip(&self, f: &FloatingIpSpec) -> Result<String, DriverError> {
        self.real().ensure_floating_ip(f).await
    }
    async fn delete_floating_ip(&self, id: &str) -> Result<(), DriverError> {
        self.real().delete_floating_ip(id).await
    }
    async fn list_owned(&self) -> Result<Vec<Owned>, DriverError> {
        Network::list_owned(&*self.real()).await
    }
}

#[async_trait]
impl OwnershipQuery for Faulty {
    async fn list_foreign(&self) -> Result<Vec<Foreign>, DriverError> {
        self.real().list_foreign().await
    }
}

#[async_trait]
impl Ownership for Faulty {
    async fn adopt(&self, o: &Foreign) -> Result<(), DriverError> {
        self.real().adopt(o).await
    }
}

struct Factory(Arc<Faulty>);

impl DriverFactory for Factory {
    fn open(&self, c: &CloudSpec) -> Result<CloudHandle, CoreError> {
        let (kind, name) = (c.kind.as_str(), c.name.as_str());
        let actors = Actors {
            name: name.into(),
            compute: self.0.clone(),
            network: self.0.clone(),
            block: self.0.real(),
            images: None,
            ownership: self.0.clone(),
        };
        Ok(CloudHandle {
            name: name.into(),
            kind: kind.into(),
            compute: self.0.clone(),
            network: self.0.clone(),
            block: self.0.real(),
            images: None,
            ownership: self.0.clone(),
            acting: Sealed::new(Arc::new(actors)),
        })
    }
}

pub(crate) use hybridstack_driver_libvirt::test_support::virsh;

pub(crate) fn member(project: &str) -> RequestContext {
    RequestContext {
        user_id: "u1".into(),
        user_domain_id: "default".into(),
        scope: Scope::Project { id: project.into(), domain_id: "default".into() },
        roles: vec!["admin".into(), "member".into(), "reader".into()],
        app_cred_id: None,
        app_cred_unrestricted: false,
    }
}

async fn upload(
    images: &Arc<Images>,
    c: &RequestContext,
    name: &str,
    file: &str,
    fmt: &str,
    props: &[(&str, &str)],
) -> String {
    let container = if fmt == "qcow2" { "bare" } else { fmt };
    let img = images
        .create(
            c,
            NewImage {
                name: Some(name.into()),
                disk_format: Some(fmt.into()),
                container_format: Some(container.into()),
                properties: props.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect(),
                ..Default::default()
            },
        )
        .await
        .expect("image");
    let data = std::fs::read(file).unwrap_or_else(|e| panic!("{file}: {e} (run guest/build-test-guest)"));
    let mut up = images.begin_upload(c, &img.id).await.expect("begin");
    up.session.as_mut().expect("session").write(&data).await.expect("write");
    images.finish_upload(up).await.expect("finish");
    img.id
}

/// Removes the pool (and anything in the data dir a failed assertion left) at the end.
pub(crate) struct Cleanup {
    cloud: String,
    pool: String,
    data: String,
    network: Mutex<Option<String>>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for d in virsh(&["list", "--all", "--name"]).lines().filter(|l| l.starts_with("hs-")) {
            if virsh(&["dumpxml", d]).contains(&self.data) {
                virsh(&["destroy", d]);
                virsh(&["undefine", "--managed-save", d]);
            }
        }
        if let Some(n) = self.network.lock().take() {
            virsh(&["net-destroy", &format!("hs-net-{n}")]);
            virsh(&["net-undefine", &format!("hs-net-{n}")]);
        }
        // Port filters carry the cloud's tag (FNV-1a of its name, unique to this test run).
        let mut h: u32 = 0x811c_9dc5;
        for b in self.cloud.bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        let tag = format!("{h:08x}");
        for f in virsh(&["nwfilter-list"]).lines().filter_map(|l| l.split_whitespace().nth(1)) {
            if f.starts_with("hs-port-") && f.contains(&format!("{tag}-")) {
                virsh(&["nwfilter-undefine", f]);
            }
        }
        virsh(&["pool-destroy", &self.pool]);
        virsh(&["pool-undefine", &self.pool]);
    }
}

/// The services, the engine and the one libvirt cloud of a test.
pub(crate) struct Testbed {
    pub compute: Arc<Compute>,
    pub engine: Engine,
    pub faulty: Arc<Faulty>,
    pub cfg: LibvirtConfig,
    /// The cloud's name, and this installation's id.
    pub name: String,
    pub installation: String,
    pub image: String,
    pub net: String,
    pub networks: NetworkRequest,
    pub ctx: RequestContext,
    // Dropped in this order: libvirt objects first, then the data dir and the store.
    _cleanup: Cleanup,
    _dir: tempfile::TempDir,
    _store: testing::TestStore,
}

impl Testbed {
    /// `prefix` names the cloud; `cidr` must be unused on this host.
    pub(crate) async fn new(prefix: &str, cidr: &str) -> Self {
        Self::open(prefix, cidr, false).await
    }

    /// A test bed whose cloud makes objects as releases before installation ids did (the
    /// cloud's name only), until `upgrade`.
    pub(crate) async fn legacy(prefix: &str, cidr: &str) -> Self {
        Self::open(prefix, cidr, true).await
    }

    /// The cloud opened as this installation's from now on, as a new release would.
    pub(crate) fn upgrade(&self) {
        let cloud = LibvirtCloud::open(&self.name, &self.installation, self.cfg.clone()).expect("reopen");
        *self.faulty.real.write() = Arc::new(cloud);
    }

    async fn open(prefix: &str, cidr: &str, legacy: bool) -> Self {
        let guest = std::env::var("HYBRIDSTACK_TEST_GUEST_DIR").unwrap_or_else(|_| "/var/tmp/hybridstack-guest".into());
        let t = testing::sqlite().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().display().to_string();
        let name = format!("{prefix}-{}", std::process::id());
        let installation = hybridstack_core::installation::ensure(&t.store).await.expect("installation");
        let mut cfg = LibvirtConfig::defaults(&name, &installation, "qemu:///system", &data).expect("settings");
        if legacy {
            // Releases before installation ids named the pool after the cloud alone.
            cfg.pool = format!("hybridstack-{name}");
        }
        cfg.domain_type = "qemu".into();
        cfg.shutdown_timeout_secs = 5;
        let cleanup = Cleanup { cloud: name.clone(), pool: cfg.pool.clone(), data, network: Mutex::new(None) };
        let opened = if legacy {
            LibvirtCloud::open_legacy_for_upgrade_tests(&name, cfg.clone())
        } else {
            LibvirtCloud::open(&name, &installation, cfg.clone())
        };
        let real = Arc::new(opened.expect("libvirtd on qemu:///system (scripts/lib/libvirt-up)"));
        let faulty = Arc::new(Faulty { real: parking_lot::RwLock::new(real), fail: Arc::new(Mutex::new(None)) });
        let clouds = Clouds::new(t.store.clone(), Arc::new(Factory(faulty.clone())));
        let images =
            Images::open(t.store.clone(), dir.path(), ImagesConfig::default(), clouds.clone()).expect("images");
        let networking = Networking::new(t.store.clone(), clouds.clone());
        clouds.add("libvirt", &name, serde_json::to_value(&cfg).expect("cfg")).await.expect("register");
        let compute =
            Compute::new(t.store.clone(), images.clone(), networking.clone(), clouds, ComputeConfig::default());
        let mut engine = Engine::new(t.store.clone(), "test-node", Duration::from_secs(60));
        crate::sagas::register(&mut engine, &compute);

        let c = member("p1");
        let k = upload(&images, &c, "k", &format!("{guest}/vmlinuz"), "aki", &[]).await;
        let r = upload(&images, &c, "r", &format!("{guest}/initrd.img"), "ari", &[]).await;
        let props = [("kernel_id", k.as_str()), ("ramdisk_id", r.as_str()), ("os_command_line", "console=ttyS0")];
        let image = upload(&images, &c, "g", &format!("{guest}/disk.qcow2"), "qcow2", &props).await;
        let flavor = FlavorRequest {
            id: Some("1".into()),
            name: "f".into(),
            vcpus: 1,
            ram: 128,
            disk: 1,
            is_public: true,
            ..Default::default()
        };
        compute.flavor_create(&c, flavor).await.expect("flavor");
        let net = networking
            .network_create(&c, NetRequest { name: Some("n".into()), ..Default::default() })
            .await
            .expect("net");
        *cleanup.network.lock() = Some(net.id.clone());
        networking
            .subnet_create(
                &c,
                SubnetRequest { network_id: Some(net.id.clone()), cidr: Some(cidr.into()), ..Default::default() },
            )
            .await
            .expect("subnet");
        let networks = NetworkRequest::List(vec![hybridstack_core::compute::model::RequestedNetwork {
            network_id: Some(net.id.clone()),
            ..Default::default()
        }]);
        Self {
            compute,
            engine,
            faulty,
            cfg,
            name,
            installation,
            image,
            net: net.id,
            networks,
            ctx: c,
            _cleanup: cleanup,
            _dir: dir,
            _store: t,
        }
    }

    /// Creates a server and runs the engine until it settles.
    pub(crate) async fn server(&self, name: &str) -> hybridstack_core::compute::model::Server {
        let req = CreateRequest {
            name: name.into(),
            image_ref: self.image.clone(),
            flavor_ref: "1".into(),
            networks: self.networks.clone(),
            ..Default::default()
        };
        let s = self.compute.server_create(&self.ctx, req).await.expect("create").servers.remove(0);
        self.engine.drain().await.expect("engine");
        self.compute.server_internal(&s.id).await.expect("server")
    }
}
