//! Crash recovery of the durable engine, on a real libvirtd: 50 servers are created and
//! deleted concurrently while `serve` is killed with SIGKILL at random moments and restarted.
//! Once the engine settles, nothing may be left: no domain, disk or libvirt network, no
//! Neutron port, and no server stuck in BUILD or deleting.
//!
//! Needs libvirtd on qemu:///system and the built guest (scripts/install-test-deps does both).

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::cli::{field, Cli};
use support::guest::virsh;

/// A small, seedable generator for the kill times and the delete delays; the seed is printed
/// so a failing schedule can be replayed with HYBRIDSTACK_CRASH_SEED.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo))
    }
}

async fn token(http: &reqwest::Client, url: &str) -> String {
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": support::ADMIN_PASSWORD}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}});
    loop {
        if let Ok(r) = http.post(format!("{url}/identity/v3/auth/tokens")).json(&body).send().await {
            if let Some(t) = r.headers().get("x-subject-token").and_then(|v| v.to_str().ok()) {
                return t.to_string();
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Sends until the server answers (it may be down, being restarted); returns the status.
async fn send_until_answered(make: impl Fn() -> reqwest::RequestBuilder) -> (u16, Value) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = make().send().await {
            let status = r.status().as_u16();
            let body = r.json::<Value>().await.unwrap_or(Value::Null);
            return (status, body);
        }
        assert!(Instant::now() < deadline, "the server did not answer for 120 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn killing_serve_mid_operation_leaks_nothing() {
    let env = [
        ("HYBRIDSTACK_NODE_NAME", "crash-node"),
        ("HYBRIDSTACK_SHUTDOWN_TIMEOUT_SECS", "5"),
        ("HYBRIDSTACK_RECONCILE_INTERVAL_SECS", "2"),
        ("HYBRIDSTACK_ORPHAN_GRACE_SECS", "5"),
    ];
    let cloud = format!("crash-{}", std::process::id());
    // Declared in this order so that, on a panic, the serve process (dropped first) stops
    // before the cleanup runs; otherwise its engine keeps making guests behind the cleanup.
    let (leftovers, mut server) = {
        let server = support::start_with(&env);
        (support::guest::Leftovers::new(&server, &cloud), server)
    };
    support::guest::add_libvirt_cloud(&server, &cloud);
    let admin = Cli::password(&server.url, "admin", support::ADMIN_PASSWORD, "admin");
    let image = support::guest::upload_test_guest(&admin, "g");
    admin.json(&["flavor", "create", "--id", "c1", "--vcpus", "1", "--ram", "128", "--disk", "1", "c.tiny"]);
    let net = admin.json(&["network", "create", "crash"]);
    let net_id = field(&net, "id").to_string();
    leftovers.networks.borrow_mut().push(net_id.clone());
    admin.json(&["subnet", "create", "--network", "crash", "--subnet-range", "10.95.0.0/24", "crash-v4"]);
    // Up to 50 servers live at once (a deleting one still counts, as in Nova): room for all.
    admin.ok(&["quota", "set", "--instances", "60", "--cores", "60", "--ram", "61440", "admin"]);

    let seed = std::env::var("HYBRIDSTACK_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |d| d.as_nanos() as u64) | 1
    });
    println!("crash schedule seed: {seed} (HYBRIDSTACK_CRASH_SEED replays it)");
    let mut rng = Rng(seed);
    let delays: Vec<Duration> = (0..50).map(|_| rng.millis(0, 4000)).collect();
    let kills: Vec<Duration> = (0..4).map(|_| rng.millis(700, 3500)).collect();

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let url = server.url.clone();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http");
    let tok = Arc::new(rt.block_on(token(&http, &url)));
    let compute = format!("{url}/compute/v2.1");
    let workers: Vec<_> = delays
        .into_iter()
        .enumerate()
        .map(|(i, delay)| {
            let (http, tok, compute, image, net_id) =
                (http.clone(), tok.clone(), compute.clone(), image.clone(), net_id.clone());
            rt.spawn(async move {
                let body = json!({"server": {"name": format!("c{i}"), "imageRef": image, "flavorRef": "c1",
                    "networks": [{"uuid": net_id}]}});
                let (status, created) = send_until_answered(|| {
                    http.post(format!("{compute}/servers")).header("x-auth-token", tok.as_str()).json(&body)
                })
                .await;
                assert_eq!(status, 202, "create {i}: {created}");
                let id = created["server"]["id"].as_str().unwrap_or_default().to_string();
                tokio::time::sleep(delay).await;
                let (status, body) = send_until_answered(|| {
                    http.delete(format!("{compute}/servers/{id}")).header("x-auth-token", tok.as_str())
                })
                .await;
                // 409 while its create still holds a task state is retried by the sweep below.
                assert!([204, 404, 409].contains(&status), "delete {i}: {status} {body}");
            })
        })
        .collect();
    for k in kills {
        std::thread::sleep(k);
        server.crash_and_restart();
    }
    rt.block_on(async {
        for w in workers {
            w.await.expect("worker");
        }
    });

    // Sweep: delete what is left (servers whose delete met a crash or a 409), until the list
    // is empty. A server must never stay in BUILD or deleting once the engine has settled.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (status, list) = rt.block_on(send_until_answered(|| {
            http.get(format!("{compute}/servers/detail")).header("x-auth-token", tok.as_str())
        }));
        assert_eq!(status, 200, "{list}");
        let servers = list["servers"].as_array().cloned().unwrap_or_default();
        if servers.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "servers did not settle: {}", Value::Array(servers.clone()));
        for s in &servers {
            let id = s["id"].as_str().unwrap_or_default();
            let task = s["OS-EXT-STS:task_state"].as_str();
            if task.is_none() {
                rt.block_on(send_until_answered(|| {
                    http.delete(format!("{compute}/servers/{id}")).header("x-auth-token", tok.as_str())
                }));
            }
        }
        std::thread::sleep(Duration::from_secs(2));
    }

    let domains: Vec<String> = virsh(&["list", "--all", "--name"])
        .lines()
        .filter(|d| d.starts_with("hs-") && virsh(&["dumpxml", d]).contains(&server.data.path().display().to_string()))
        .map(str::to_string)
        .collect();
    assert!(domains.is_empty(), "leaked domains: {domains:?}");
    let disks: Vec<String> = virsh(&["vol-list", &support::guest::pool_of(&server, &cloud)])
        .lines()
        .filter(|l| l.trim_start().starts_with("disk-"))
        .map(str::to_string)
        .collect();
    assert!(disks.is_empty(), "leaked disks: {disks:?}");
    if virsh(&["net-list", "--all", "--name"]).contains(&net_id) {
        let log = std::fs::read_to_string(server.data.path().join("serve.log")).unwrap_or_default();
        let notable: Vec<&str> =
            log.lines().filter(|l| l.contains("WARN") || l.contains("network") || l.contains("ERROR")).collect();
        panic!(
            "the libvirt network leaked:\n{}\nlog:\n{}",
            virsh(&["net-dumpxml", &format!("hs-net-{net_id}")]),
            notable[notable.len().saturating_sub(30)..].join("\n")
        );
    }
    let ports = admin.json(&["port", "list", "--network", "crash"]);
    assert_eq!(ports.as_array().map(Vec::len), Some(0), "leaked ports: {ports}");
    // How many operations the restarts picked up mid-way (informational: the schedule is random).
    let log = std::fs::read_to_string(server.data.path().join("serve.log")).unwrap_or_default();
    let resumed: usize =
        log.lines().filter_map(|l| l.split("resuming ").nth(1)?.split(' ').next()?.parse::<usize>().ok()).sum();
    println!("operations resumed after the {} kills: {resumed}", 4);
}
