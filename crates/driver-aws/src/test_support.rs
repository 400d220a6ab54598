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
