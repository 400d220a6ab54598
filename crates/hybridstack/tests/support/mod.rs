//! Runs the real binary: a fresh data dir, `bootstrap`, then `serve` on a free loopback port.

#![allow(dead_code)] // each test binary uses its own part of the support code

pub mod aws;
pub mod cli;
pub mod guest;
pub mod vsphere;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ADMIN_PASSWORD: &str = "e2e-admin-secret";

pub struct Server {
    pub url: String,
    pub data: tempfile::TempDir,
    child: Child,
    env: Vec<(String, String)>,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills `serve` with SIGKILL (no chance to clean up) and starts it again on the same
    /// data dir and port, as an operator's supervisor would after a crash.
    pub fn crash_and_restart(&mut self) {
        self.stop();
        self.restart();
    }

    /// Kills `serve` (the data dir stays).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts `serve` again on the same data dir and port (after `stop`, as an upgrade would).
    pub fn restart(&mut self) {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.child = spawn_serve(self.data.path(), &self.url, &env);
        wait_ready(&self.url, self.data.path());
    }
}

fn spawn_serve(data: &Path, url: &str, env: &[(&str, &str)]) -> Child {
    let listen = url.trim_start_matches("http://").to_string();
    let log = std::fs::OpenOptions::new().create(true).append(true).open(data.join("serve.log")).expect("log file");
    Command::new(binary())
        .args(["serve", "--data-dir"])
        .arg(data)
        .args(["--listen", &listen, "--public-url", url])
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn serve")
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Polls `f` every half second until it gives a value; fails the test after `secs` seconds.
pub fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {secs}s waiting for {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hybridstack"))
}

pub fn start() -> Server {
    start_with(&[])
}

/// Starts a server with extra environment for `serve` (e.g. settings under test).
pub fn start_with(env: &[(&str, &str)]) -> Server {
    start_in(tempfile::tempdir().expect("tempdir"), env)
}

/// Starts a server whose reconciler passes every 2 s and deletes an orphan 2 s after seeing it,
/// for tests of what it corrects and collects.
pub fn start_reconciling() -> Server {
    start_with(&[
        ("HYBRIDSTACK_SHUTDOWN_TIMEOUT_SECS", "10"),
        ("HYBRIDSTACK_RECONCILE_INTERVAL_SECS", "2"),
        ("HYBRIDSTACK_ORPHAN_GRACE_SECS", "2"),
    ])
}

/// Starts a server whose store is a fresh PostgreSQL database (`HYBRIDSTACK_TEST_POSTGRES_URL`
/// names the server; the data dir's `hybridstack.toml` names the database, so every command
/// run on that dir uses it). `None` when no PostgreSQL is configured; in CI that is a failure.
pub fn start_on_postgres(env: &[(&str, &str)]) -> Option<Server> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let Some(url) = rt.block_on(hybridstack_store::testing::postgres_database()) else {
        assert!(
            std::env::var("CI").map(|v| v != "true").unwrap_or(true),
            "CI must set HYBRIDSTACK_TEST_POSTGRES_URL so this test runs on PostgreSQL"
        );
        return None;
    };
    let data = tempfile::tempdir().expect("tempdir");
    std::fs::write(data.path().join("hybridstack.toml"), format!("database_url = {url:?}\n")).expect("config file");
    Some(start_in(data, env))
}

fn start_in(data: tempfile::TempDir, env: &[(&str, &str)]) -> Server {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let out = Command::new(binary())
        .args(["bootstrap", "--data-dir"])
        .arg(data.path())
        .args(["--admin-password", ADMIN_PASSWORD, "--public-url", &url])
        .output()
        .expect("run bootstrap");
    assert!(out.status.success(), "bootstrap failed: {}", String::from_utf8_lossy(&out.stderr));
    let child = spawn_serve(data.path(), &url, env);
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let server = Server { url, data, child, env };
    wait_ready(&server.url, server.data.path());
    server
}

fn wait_ready(url: &str, data: &Path) {
    let addr = url.trim_start_matches("http://").to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(&addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server did not start; log:\n{}", std::fs::read_to_string(data.join("serve.log")).unwrap_or_default());
}
