//! The server sagas against a real libvirtd (QEMU under TCG) with the project's test guest,
//! through a wrapper that makes one chosen driver call fail. For each call the create saga
//! makes, a failure there must leave the server in ERROR with the reason, and nothing behind
//! in libvirt (domain, disk, network) or Neutron (ports).
//!
//! Needs libvirtd on qemu:///system and the built guest (scripts/install-test-deps does both).

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hybridstack_core::compute::{
    CloudHandle, Clouds, Compute, ComputeConfig, CreateRequest, DriverFactory, FlavorRequest, NetworkRequest,
};
use hybridstack_core::images::{Images, ImagesConfig, NewImage};
use hybridstack_core::network::{NetworkRequest as NetRequest, Networking, SubnetRequest};
use hybridstack_core::policy::{RequestContext, Scope};
use hybridstack_core::CoreError;
use hybridstack_driver::{
    Capacity, Compute as ComputeDriver, ComputeCapabilities, DriverError, FloatingIpSpec, Network, NetworkCapabilities,
    NetworkSpec, Owned, OwnedServer, PortSpec, PowerAction, PowerState, RouterSpec, SecurityGroupSpec, ServerSpec,
};
use hybridstack_driver_libvirt::{LibvirtCloud, LibvirtConfig};
use hybridstack_store::testing;
use parking_lot::Mutex;
use serde_json::Value;

use crate::Engine;

/// The real libvirt cloud, except that the driver call named in `fail` fails (for good).
struct Faulty {
    real: Arc<LibvirtCloud>,
    fail: Arc<Mutex<Option<&'static str>>>,
}

impl Faulty {
    fn check(&self, call: &'static str) -> Result<(), DriverError> {
        if *self.fail.lock() == Some(call) {
            return Err(DriverError::Failed(format!("injected failure in {call}")));
        }
        Ok(())
    }
}

#[async_trait]
impl ComputeDriver for Faulty {
    fn capabilities(&self) -> ComputeCapabilities {
        ComputeDriver::capabilities(&*self.real)
    }
    async fn capacity(&self) -> Result<Capacity, DriverError> {
        self.check("capacity")?;
        self.real.capacity().await
    }
    async fn ensure_server(&self, s: &ServerSpec) -> Result<(), DriverError> {
        self.check("ensure_server")?;
        self.real.ensure_server(s).await
    }
    async fn delete_server(&self, id: &str) -> Result<(), DriverError> {
        self.real.delete_server(id).await
    }
    async fn power(&self, id: &str, a: PowerAction) -> Result<(), DriverError> {
        self.real.power(id, a).await
    }
    async fn power_state(&self, id: &str) -> Result<PowerState, DriverError> {
        self.check("power_state")?;
        self.real.power_state(id).await
    }
    async fn rebuild(&self, s: &ServerSpec) -> Result<(), DriverError> {
        self.real.rebuild(s).await
    }
    async fn resize(&self, s: &ServerSpec) -> Result<(), DriverError> {
        self.real.resize(s).await
    }
    async fn confirm_resize(&self, id: &str) -> Result<(), DriverError> {
        self.real.confirm_resize(id).await
    }
    async fn revert_resize(&self, s: &ServerSpec) -> Result<(), DriverError> {
        self.real.revert_resize(s).await
    }
    async fn snapshot(&self, id: &str, dest: &std::path::Path) -> Result<(), DriverError> {
        self.real.snapshot(id, dest).await
    }
    async fn console_output(&self, id: &str, lines: Option<usize>) -> Result<String, DriverError> {
        self.real.console_output(id, lines).await
    }
    async fn list_owned(&self) -> Result<Vec<OwnedServer>, DriverError> {
        ComputeDriver::list_owned(&*self.real).await
    }
}

#[async_trait]
impl Network for Faulty {
    fn capabilities(&self) -> NetworkCapabilities {
        Network::capabilities(&*self.real)
    }
    async fn ensure_network(&self, n: &NetworkSpec) -> Result<String, DriverError> {
        self.check("ensure_network")?;
        self.real.ensure_network(n).await
    }
    async fn delete_network(&self, id: &str) -> Result<(), DriverError> {
        self.real.delete_network(id).await
    }
    async fn ensure_port(&self, p: &PortSpec) -> Result<String, DriverError> {
        self.check("ensure_port")?;
        self.real.ensure_port(p).await
    }
    async fn delete_port(&self, id: &str) -> Result<(), DriverError> {
        self.real.delete_port(id).await
    }
    async fn ensure_security_group(&self, g: &SecurityGroupSpec) -> Result<String, DriverError> {
        self.real.ensure_security_group(g).await
    }
    async fn delete_security_group(&self, id: &str) -> Result<(), DriverError> {
        self.real.delete_security_group(id).await
    }
    async fn ensure_router(&self, r: &RouterSpec) -> Result<String, DriverError> {
        self.real.ensure_router(r).await
    }
    async fn delete_router(&self, id: &str) -> Result<(), DriverError> {
        self.real.delete_router(id).await
    }
    async fn ensure_floating_ip(&self, f: &FloatingIpSpec) -> Result<String, DriverError> {
        self.real.ensure_floating_ip(f).await
    }
    async fn delete_floating_ip(&self, id: &str) -> Result<(), DriverError> {
        self.real.delete_floating_ip(id).await
    }
    async fn list_owned(&self) -> Result<Vec<Owned>, DriverError> {
        Network::list_owned(&*self.real).await
    }
}

struct Factory(Arc<Faulty>);

impl DriverFactory for Factory {
    fn open(&self, kind: &str, name: &str, _config: &Value) -> Result<CloudHandle, CoreError> {
        Ok(CloudHandle { name: name.into(), kind: kind.into(), compute: self.0.clone(), network: self.0.clone() })
    }
}

fn virsh(args: &[&str]) -> String {
    let out = Command::new("virsh").arg("-q").args(["-c", "qemu:///system"]).args(args).output().expect("virsh");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn member(project: &str) -> RequestContext {
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
struct Cleanup {
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
        virsh(&["pool-destroy", &self.pool]);
        virsh(&["pool-undefine", &self.pool]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_any_create_step_leaves_nothing_behind() {
    let guest = std::env::var("HYBRIDSTACK_TEST_GUEST_DIR").unwrap_or_else(|_| "/var/tmp/hybridstack-guest".into());
    let t = testing::sqlite().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().display().to_string();
    let name = format!("fault-{}", std::process::id());
    let mut cfg = LibvirtConfig::defaults(&name, "qemu:///system", &data);
    cfg.domain_type = "qemu".into();
    cfg.shutdown_timeout_secs = 5;
    let cleanup = Cleanup { pool: cfg.pool.clone(), data: data.clone(), network: Mutex::new(None) };
    let real =
        Arc::new(LibvirtCloud::open(&name, cfg.clone()).expect("libvirtd on qemu:///system (scripts/lib/libvirt-up)"));
    let fail = Arc::new(Mutex::new(None));
    let faulty = Arc::new(Faulty { real, fail: fail.clone() });

    let images = Images::open(t.store.clone(), dir.path(), ImagesConfig::default()).expect("images");
    let networking = Networking::new(t.store.clone());
    let clouds = Clouds::new(t.store.clone(), Arc::new(Factory(faulty)));
    clouds.add("libvirt", &name, serde_json::to_value(&cfg).expect("cfg")).await.expect("register");
    let compute = Compute::new(t.store.clone(), images.clone(), networking.clone(), clouds, ComputeConfig::default());
    let mut engine = Engine::new(t.store.clone(), "test-node", Duration::from_secs(60));
    super::register(&mut engine, &compute);

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
    let net =
        networking.network_create(&c, NetRequest { name: Some("n".into()), ..Default::default() }).await.expect("net");
    networking
        .subnet_create(
            &c,
            SubnetRequest { network_id: Some(net.id.clone()), cidr: Some("10.96.0.0/24".into()), ..Default::default() },
        )
        .await
        .expect("subnet");
    let networks = NetworkRequest::List(vec![hybridstack_core::compute::model::RequestedNetwork {
        network_id: Some(net.id.clone()),
        ..Default::default()
    }]);

    // The driver calls the create saga makes, in order: schedule (capacity), network
    // (ensure_network, ensure_port), spawn (ensure_server), finish (power_state). `None` is the
    // control run: it must succeed, and its delete must clean up just as well.
    for point in [
        Some("capacity"),
        Some("ensure_network"),
        Some("ensure_port"),
        Some("ensure_server"),
        Some("power_state"),
        None,
    ] {
        *fail.lock() = point;
        let req = CreateRequest {
            name: format!("vm-{}", point.unwrap_or("ok")),
            image_ref: image.clone(),
            flavor_ref: "1".into(),
            networks: networks.clone(),
            ..Default::default()
        };
        let s = compute.server_create(&c, req).await.expect("create").servers.remove(0);
        engine.drain().await.expect("engine");
        let after = compute.server_internal(&s.id).await.expect("server");
        match point {
            Some(call) => {
                assert_eq!(after.status(), "ERROR", "failing {call}: {after:?}");
                let fault = after.fault.clone().expect("a fault");
                let expected = if call == "capacity" { "No valid host was found" } else { call };
                assert!(fault.message.contains(expected), "failing {call}: fault {:?}", fault.message);
                let actions = compute.instance_actions(&c, &s.id).await.expect("actions");
                assert_eq!(actions[0].events[0].result.as_deref(), Some("Error"), "failing {call}");
            }
            None => {
                assert_eq!(after.status(), "ACTIVE", "{after:?}");
                assert!(virsh(&["list", "--name"]).contains(&format!("hs-{}", s.id)), "the control guest runs");
                *fail.lock() = None;
            }
        }
        // An ERROR server still holds its row; deleting it (as a user would) must succeed and,
        // for the control run, take the guest down with it.
        compute.server_delete(&c, &s.id, "del").await.expect("delete");
        engine.drain().await.expect("engine");
        let what = point.unwrap_or("nothing");
        assert!(!virsh(&["list", "--all", "--name"]).contains(&s.id), "failing {what}: a domain is left");
        let vols = virsh(&["vol-list", &cfg.pool]);
        assert!(!vols.contains(&format!("disk-{}", s.id)), "failing {what}: a disk is left: {vols}");
        assert!(
            !virsh(&["net-list", "--all", "--name"]).contains(&net.id),
            "failing {what}: the libvirt network is left"
        );
        let ports = networking.children_ports(&net.id).await.expect("ports");
        assert!(ports.is_empty(), "failing {what}: ports are left: {ports:?}");
    }
    assert!(compute.store().ops_live().await.expect("ops").is_empty(), "every operation ended");
}
