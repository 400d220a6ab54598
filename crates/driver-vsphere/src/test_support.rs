//! The vCenter simulator (govmomi's, built by scripts/lib/vcsim-build) on a free loopback
//! port, for this crate's tests and the binary's end-to-end tests.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "hybridstack";
pub const PASSWORD: &str = "vcsim-secret";
/// The simulator model's names (a VPX model with one datacenter, cluster and datastore).
pub const DATACENTER: &str = "DC0";
pub const CLUSTER: &str = "DC0_C0";
pub const DATASTORE: &str = "LocalDS_0";

pub struct Vcsim {
    child: Child,
    /// `https://127.0.0.1:PORT/sdk`
    pub url: String,
    /// The certificate of the CA that signed the server's, PEM (the simulator makes both).
    pub cert_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Vcsim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failing test shows what the simulator said (a handler's panic, a refused call).
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self._dir.path().join("vcsim.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- vcsim's last lines ---");
            tail.iter().rev().for_each(|l| eprintln!("{l}"));
        }
    }
}

/// Starts the simulator (`HYBRIDSTACK_VCSIM`, default /var/tmp/hybridstack-vcsim/vcsim) and
/// waits until it has written its URL; panics with the reason otherwise.
pub fn start_vcsim() -> Vcsim {
    let bin = std::env::var("HYBRIDSTACK_VCSIM").unwrap_or_else(|_| "/var/tmp/hybridstack-vcsim/vcsim".into());
    assert!(std::path::Path::new(&bin).exists(), "{bin} is missing: run scripts/lib/vcsim-build");
    let dir = tempfile::tempdir().expect("temporary directory");
    let url_file = dir.path().join("url");
    let cert_file = dir.path().join("cert.pem");
    let child = Command::new(&bin)
        .args(["-user", USER, "-password", PASSWORD])
        .arg("-url-file")
        .arg(&url_file)
        .arg("-cert-file")
        .arg(&cert_file)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("vcsim.log")).map(Stdio::from).unwrap_or_else(|_| Stdio::null()))
        .spawn()
        .expect("start vcsim");
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = loop {
        if let Ok(u) = std::fs::read_to_string(&url_file) {
            break u.trim().to_string();
        }
        assert!(Instant::now() < deadline, "vcsim did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    Vcsim { child, url, cert_file, _dir: dir }
}

impl Vcsim {
    /// Settings for a cloud in the simulator's one cluster, trusting its certificate.
    pub fn config(&self) -> crate::VsphereConfig {
        crate::VsphereConfig {
            url: self.url.clone(),
            user: USER.into(),
            datacenter: DATACENTER.into(),
            cluster: CLUSTER.into(),
            datastore: DATASTORE.into(),
            folder: Some("hybridstack".into()),
            vlan_range: Some("100-199".into()),
            insecure: false,
            ca_file: Some(self.cert_file.display().to_string()),
            project_id: None,
        }
    }
}
