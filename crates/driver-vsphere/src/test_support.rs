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

/// Starts the simulator (`HYBRIDSTACK_VCSIM`, default /var/tmp/hybridstack-vcsim/vcsim) over
/// HTTPS and waits until it has written its URL; panics with the reason otherwise.
pub fn start_vcsim() -> Vcsim {
    start_vcsim_with(&[])
}

/// The simulator over plain HTTP, for a fault-injecting proxy in front of it.
pub fn start_vcsim_plain() -> Vcsim {
    start_vcsim_with(&["-plain-http"])
}

fn start_vcsim_with(extra: &[&str]) -> Vcsim {
    let bin = std::env::var("HYBRIDSTACK_VCSIM").unwrap_or_else(|_| "/var/tmp/hybridstack-vcsim/vcsim".into());
    assert!(std::path::Path::new(&bin).exists(), "{bin} is missing: run scripts/lib/vcsim-build");
    let dir = tempfile::tempdir().expect("temporary directory");
    let url_file = dir.path().join("url");
    let cert_file = dir.path().join("cert.pem");
    let child = Command::new(&bin)
        .args(["-user", USER, "-password", PASSWORD])
        .args(extra)
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
            availability_zone: None,
        }
    }
}

/// What the proxy does with a call it is told to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Answers with a vim25 fault of this type (HTTP 500, as vCenter answers faults).
    Refuse(&'static str),
    /// Closes the connection without passing the call on.
    Cut,
    /// Passes the call on and closes the connection without its answer: the call happened,
    /// and the driver does not know.
    Lose,
}

/// A small HTTP proxy in front of a plain-HTTP simulator that fails chosen vim25 methods
/// (refused with a fault, or the connection cut) instead of passing them on: the simulator
/// has no fault injection, and undo and retry paths need faults at the wire, where a real
/// vCenter produces them.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT/sdk`
    pub url: String,
    plan: std::sync::Arc<std::sync::Mutex<Vec<(String, u32, Failure)>>>,
    injected: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (the simulator's SDK URL).
    pub fn start(upstream: &str) -> FaultProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/sdk", listener.local_addr().expect("addr"));
        let upstream = upstream.trim_start_matches("http://").split('/').next().unwrap_or_default().to_string();
        let plan: std::sync::Arc<std::sync::Mutex<Vec<(String, u32, Failure)>>> = Default::default();
        let injected: std::sync::Arc<std::sync::atomic::AtomicU32> = Default::default();
        let (p, n) = (plan.clone(), injected.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (p, n, up) = (p.clone(), n.clone(), upstream.clone());
                std::thread::spawn(move || {
                    let _ = relay(conn, &up, &p, &n);
                });
            }
        });
        FaultProxy { url, plan, injected }
    }

    /// The next `times` calls of `method` (`CreateVM_Task`…) fail as `how`.
    pub fn fail(&self, method: &str, times: u32, how: Failure) {
        if let Ok(mut plan) = self.plan.lock() {
            plan.push((method.into(), times, how));
        }
    }

    /// How many failures were injected so far.
    pub fn injected(&self) -> u32 {
        self.injected.load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn relay(
    mut client: std::net::TcpStream,
    upstream: &str,
    plan: &std::sync::Mutex<Vec<(String, u32, Failure)>>,
    injected: &std::sync::atomic::AtomicU32,
) -> std::io::Result<()> {
    use std::io::Write;
    // One request per connection: the answer closes it, so the client opens the next.
    let Some(request) = hybridstack_driver::test_wire::read_request(&mut client)? else { return Ok(()) };
    // The method is the first element in the SOAP body.
    let body = String::from_utf8_lossy(&request.body).to_string();
    let method = body
        .split_once("Body>")
        .and_then(|(_, rest)| rest.trim_start().strip_prefix('<'))
        .map(|rest| rest.split([' ', '>', '/']).next().unwrap_or_default())
        .map(|m| m.rsplit(':').next().unwrap_or(m).to_string())
        .unwrap_or_default();
    let failure = plan.lock().ok().and_then(|mut plan| {
        let f = plan.iter_mut().find(|(m, times, _)| *m == method && *times > 0)?;
        f.1 -= 1;
        Some(f.2)
    });
    match failure {
        Some(Failure::Cut) => {
            injected.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            return Ok(()); // dropped unanswered
        }
        Some(Failure::Refuse(kind)) => {
            injected.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope \
                 xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
                 xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body><soapenv:Fault>\
                 <faultcode>ServerFaultCode</faultcode><faultstring>injected by the test's fault proxy</faultstring>\
                 <detail><{kind}Fault xmlns=\"urn:vim25\" xsi:type=\"{kind}\"></{kind}Fault></detail>\
                 </soapenv:Fault></soapenv:Body></soapenv:Envelope>"
            );
            write!(
                client,
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{xml}",
                xml.len()
            )?;
            return Ok(());
        }
        Some(Failure::Lose) | None => {}
    }
    let lose = failure == Some(Failure::Lose);
    if lose {
        injected.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    let answer = hybridstack_driver::test_wire::forward(&request, upstream)?;
    if !lose {
        client.write_all(&answer)?;
    }
    Ok(())
}
