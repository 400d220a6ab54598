//! A moto server (the AWS API emulator, PyPI `moto[server]`) on a free loopback port, for
//! this crate's tests and the binary's end-to-end tests. Validation of instance types, AMIs
//! and key pairs is on, so requests AWS would refuse are refused here too.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn post(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(s, "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Starts `moto_server` from the test venv (`HYBRIDSTACK_TEST_VENV`, default
/// /var/tmp/hybridstack-venv) and waits until it answers; panics with the reason otherwise.
pub fn start_moto() -> Moto {
    let venv = std::env::var("HYBRIDSTACK_TEST_VENV").unwrap_or_else(|_| "/var/tmp/hybridstack-venv".into());
    let bin = format!("{venv}/bin/moto_server");
    assert!(std::path::Path::new(&bin).exists(), "{bin} is missing: run scripts/install-test-deps");
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port");
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION", "true")
        .env("MOTO_ENABLE_AMI_VALIDATION", "true")
        .env("MOTO_ENABLE_KEYPAIR_VALIDATION", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let m = Moto { child, url: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !post(port, "/moto-api/reset").is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
        assert!(Instant::now() < deadline, "moto_server did not answer on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    m
}

/// A small HTTP proxy in front of moto that answers chosen EC2 actions with an AWS error
/// instead of passing them on: moto has no fault injection, and undo and retry paths need
/// faults at the wire, where a real region would produce them.
pub struct FaultProxy {
    pub url: String,
    plan: std::sync::Arc<std::sync::Mutex<Vec<Fault>>>,
    injected: std::sync::Arc<std::sync::atomic::AtomicU32>,
    seen: Seen,
}

/// How many requests of each action reached the proxy.
type Seen = std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>>;

struct Fault {
    action: String,
    times: u32,
    status: u16,
    code: String,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (`http://host:port`).
    pub fn start(upstream: &str) -> FaultProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let upstream = upstream.trim_start_matches("http://").to_string();
        let plan: std::sync::Arc<std::sync::Mutex<Vec<Fault>>> = Default::default();
        let injected: std::sync::Arc<std::sync::atomic::AtomicU32> = Default::default();
        let seen: Seen = Default::default();
        let (p, n, c) = (plan.clone(), injected.clone(), seen.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (p, n, c, up) = (p.clone(), n.clone(), c.clone(), upstream.clone());
                std::thread::spawn(move || {
                    let _ = relay(conn, &up, &p, &n, &c);
                });
            }
        });
        FaultProxy { url, plan, injected, seen }
    }

    /// The next `times` requests for `action` get HTTP `status` with EC2 error `code`.
    pub fn fail(&self, action: &str, times: u32, status: u16, code: &str) {
        if let Ok(mut plan) = self.plan.lock() {
            plan.push(Fault { action: action.into(), times, status, code: code.into() });
        }
    }

    /// How many requests for `action` arrived so far (answered or refused).
    pub fn requests(&self, action: &str) -> u32 {
        self.seen.lock().ok().and_then(|s| s.get(action).copied()).unwrap_or(0)
    }

    /// How many faults were injected so far.
    pub fn injected(&self) -> u32 {
        self.injected.load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn relay(
    mut client: std::net::TcpStream,
    upstream: &str,
    plan: &std::sync::Mutex<Vec<Fault>>,
    injected: &std::sync::atomic::AtomicU32,
    seen: &Seen,
) -> std::io::Result<()> {
    // One request per connection: the answer closes it, so the client opens the next.
    let Some(request) = hybridstack_driver::test_wire::read_request(&mut client)? else { return Ok(()) };
    let body = String::from_utf8_lossy(&request.body).to_string();
    let action = body.split('&').find_map(|kv| kv.strip_prefix("Action=")).unwrap_or_default().to_string();
    if let Ok(mut seen) = seen.lock() {
        *seen.entry(action.clone()).or_default() += 1;
    }
    let fault = plan.lock().ok().and_then(|mut plan| {
        let f = plan.iter_mut().find(|f| f.action == action && f.times > 0)?;
        f.times -= 1;
        Some((f.status, f.code.clone()))
    });
    if let Some((status, code)) = fault {
        injected.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code>\
             <Message>injected by the test's fault proxy</Message></Error></Errors><RequestID>fault</RequestID></Response>"
        );
        write!(
            client,
            "HTTP/1.1 {status} Injected\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
            xml.len()
        )?;
        return Ok(());
    }
    let answer = hybridstack_driver::test_wire::forward(&request, upstream)?;
    client.write_all(&answer)?;
    Ok(())
}

/// A subnet to realise: DHCP on, no gateway, routes or name servers.
/// A cloud's settings for the moto server at `url`: keys of `access_key_id` (moto keeps each
/// key's resources apart), at most `vcpu_limit` vCPUs, and 30 s for each wait.
pub fn moto_config(url: &str, access_key_id: &str, vcpu_limit: u64) -> crate::AwsConfig {
    crate::AwsConfig {
        region: "us-east-1".into(),
        endpoint_url: Some(url.into()),
        credentials: crate::CredentialSource::Keys { access_key_id: access_key_id.into() },
        vcpu_limit,
        zone: None,
        project_id: None,
        wait_secs: 30,
    }
}

pub fn subnet_spec(id: &str, cidr: &str) -> hybridstack_driver::SubnetSpec {
    hybridstack_driver::SubnetSpec {
        id: id.into(),
        ip_version: if cidr.contains(':') { 6 } else { 4 },
        cidr: cidr.into(),
        gateway_ip: None,
        enable_dhcp: true,
        dns_nameservers: vec![],
        host_routes: vec![],
        ipv6_address_mode: None,
    }
}
