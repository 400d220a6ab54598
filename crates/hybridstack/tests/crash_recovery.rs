//! Crash recovery of the durable engine: 50 servers are created and deleted concurrently
//! while `serve` is killed with SIGKILL at random moments and restarted. Each kill waits
//! until some operation is under way, and at least one restart must resume one. Five of the
//! servers are kept until they settle, and at least one must reach ACTIVE through the kills.
//! Once the engine settles, nothing may be left: no Neutron port, no server stuck in BUILD or
//! deleting, and nothing of the cloud's. On a real libvirtd (once on SQLite and once on
//! PostgreSQL) that is no domain, disk, libvirt network, port filter or NAT table; on a
//! vCenter (govmomi's simulator) no VM, port group or file but the image's copy, as VMware's
//! pyvmomi sees it.
//!
//! Needs libvirtd on qemu:///system, the built guest, and the simulator and pyvmomi
//! (scripts/install-test-deps does all).

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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

const ENV: [(&str, &str); 4] = [
    ("HYBRIDSTACK_NODE_NAME", "crash-node"),
    ("HYBRIDSTACK_SHUTDOWN_TIMEOUT_SECS", "5"),
    ("HYBRIDSTACK_RECONCILE_INTERVAL_SECS", "2"),
    ("HYBRIDSTACK_ORPHAN_GRACE_SECS", "5"),
];

/// The two runs boot 50 guests each: one at a time, so they do not starve each other.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How many of the servers are kept until their create settles, instead of deleted at once.
const KEPT: usize = 5;

/// The cloud the servers run on.
enum Target {
    Kvm,
    Vcenter(hybridstack_driver_vsphere::test_support::Vcsim),
}

#[test]
fn killing_serve_mid_operation_leaks_nothing_on_sqlite() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    crash_run("sqlite", support::start_with(&ENV), Target::Kvm);
}

#[test]
fn killing_serve_mid_operation_leaks_nothing_on_postgres() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    match support::start_on_postgres(&ENV) {
        Some(server) => crash_run("pg", server, Target::Kvm),
        None => println!("HYBRIDSTACK_TEST_POSTGRES_URL is not set: the PostgreSQL run is skipped"),
    }
}

#[test]
fn killing_serve_mid_operation_leaks_nothing_on_a_vcenter() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let sim = hybridstack_driver_vsphere::test_support::start_vcsim();
    crash_run("vcenter", support::start_with(&ENV), Target::Vcenter(sim));
}

/// Whether some server's operation is still under way (it has a task state).
async fn work_under_way(http: &reqwest::Client, compute: &str, tok: &str) -> bool {
    match http.get(format!("{compute}/servers/detail")).header("x-auth-token", tok).send().await {
        Ok(r) => r.json::<Value>().await.ok().is_some_and(|l| {
            l["servers"].as_array().is_some_and(|s| s.iter().any(|s| s["OS-EXT-STS:task_state"].is_string()))
        }),
        Err(_) => false,
    }
}

fn crash_run(store: &str, server: support::Server, target: Target) {
    let cloud = format!("crash-{store}-{}", std::process::id());
    // Declared in this order so that, on a panic, the serve process (dropped first) stops
    // before the cleanup runs; otherwise its engine keeps making guests behind the cleanup.
    let (leftovers, mut server) = (support::guest::Leftovers::new(&server, &cloud), server);
    let admin = Cli::password(&server.url, "admin", support::ADMIN_PASSWORD, "admin");
    let image = match &target {
        Target::Kvm => {
            support::guest::add_libvirt_cloud(&server, &cloud);
            support::guest::upload_test_guest(&admin, "g")
        }
        Target::Vcenter(sim) => {
            support::vsphere::add_trusted_cloud(&server, sim, &cloud, &[]);
            let id = support::vsphere::upload_raw(&admin, 2, "g");
            // Copied onto the datastore before the run, as an operator would.
            support::vsphere::copy_to(&admin, &id, &cloud);
            id
        }
    };
    admin.json(&["flavor", "create", "--id", "c1", "--vcpus", "1", "--ram", "128", "--disk", "1", "c.tiny"]);
    let net = admin.json(&["network", "create", "--availability-zone-hint", &cloud, "crash"]);
    let net_id = field(&net, "id").to_string();
    leftovers.networks.borrow_mut().push(net_id.clone());
    let range = match store {
        "sqlite" => "10.95.0.0/24",
        "pg" => "10.96.0.0/24",
        _ => "10.97.0.0/24",
    };
    admin.json(&["subnet", "create", "--network", "crash", "--subnet-range", range, "crash-v4"]);
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
    let active = Arc::new(AtomicUsize::new(0));
    // The kept servers are accepted first, so they are placed before the others fill the cloud.
    let kept_posted = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = delays
        .into_iter()
        .enumerate()
        .map(|(i, delay)| {
            let (http, tok, compute, image, net_id, active, kept_posted) = (
                http.clone(),
                tok.clone(),
                compute.clone(),
                image.clone(),
                net_id.clone(),
                active.clone(),
                kept_posted.clone(),
            );
            rt.spawn(async move {
                while i >= KEPT && kept_posted.load(Ordering::SeqCst) < KEPT {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                let body = json!({"server": {"name": format!("c{i}"), "imageRef": image, "flavorRef": "c1",
                    "networks": [{"uuid": net_id}]}});
                let (status, created) = send_until_answered(|| {
                    http.post(format!("{compute}/servers")).header("x-auth-token", tok.as_str()).json(&body)
                })
                .await;
                assert_eq!(status, 202, "create {i}: {created}");
                let id = created["server"]["id"].as_str().unwrap_or_default().to_string();
                if i < KEPT {
                    kept_posted.fetch_add(1, Ordering::SeqCst);
                    // Kept until its create settles, through whatever kills come.
                    let deadline = Instant::now() + Duration::from_secs(300);
                    loop {
                        let (_, got) = send_until_answered(|| {
                            http.get(format!("{compute}/servers/{id}")).header("x-auth-token", tok.as_str())
                        })
                        .await;
                        let status = got["server"]["status"].as_str().unwrap_or_default().to_string();
                        if status == "ACTIVE" {
                            active.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        if status == "ERROR" {
                            println!("kept server {id} ended in ERROR: {}", got["server"]["fault"]);
                            break;
                        }
                        assert!(Instant::now() < deadline, "kept server {id} did not settle: {got}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                } else {
                    tokio::time::sleep(delay).await;
                }
                let (status, body) = send_until_answered(|| {
                    http.delete(format!("{compute}/servers/{id}")).header("x-auth-token", tok.as_str())
                })
                .await;
                // 409 while its create still holds a task state is retried by the sweep below.
                assert!([204, 404, 409].contains(&status), "delete {i}: {status} {body}");
            })
        })
        .collect();
    let mut killed = 0;
    'kills: for k in kills {
        std::thread::sleep(k);
        // A kill while every worker is idle tests nothing: wait for work under way. A fast
        // cloud (the simulator) may finish all of it before the last kills.
        let deadline = Instant::now() + Duration::from_secs(120);
        while !rt.block_on(work_under_way(&http, &compute, &tok)) {
            if workers.iter().all(|w| w.is_finished()) {
                break 'kills;
            }
            assert!(Instant::now() < deadline, "no operation was under way for 120 s before a kill");
            std::thread::sleep(Duration::from_millis(20));
        }
        server.crash_and_restart();
        killed += 1;
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

    let ports = admin.json(&["port", "list", "--network", "crash"]);
    assert_eq!(ports.as_array().map(Vec::len), Some(0), "leaked ports: {ports}");
    match &target {
        Target::Kvm => kvm_leaks_nothing(&server, &cloud, &net_id),
        Target::Vcenter(sim) => {
            // The engine has settled, but the reconciler may still be taking an orphan back.
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let inv = support::vsphere::inventory(sim);
                let ours = |g: &Value| g["description"].as_str().is_some_and(|d| d.contains("hybridstack."));
                let files: Vec<&Value> = inv["files"]
                    .as_array()
                    .map(|f| f.iter().filter(|f| !f.as_str().unwrap_or_default().contains("/images/")).collect())
                    .unwrap_or_default();
                let clean = inv["vms"].as_array().is_some_and(Vec::is_empty)
                    && files.is_empty()
                    && !inv["port_groups"].as_array().is_some_and(|g| g.iter().any(ours));
                if clean {
                    break;
                }
                assert!(Instant::now() < deadline, "leaked in the vCenter: {inv}");
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }

    let log = std::fs::read_to_string(server.data.path().join("serve.log")).unwrap_or_default();
    let resumed: usize = log
        .lines()
        .filter(|l| l.contains("operation(s) this node held when it last stopped"))
        .filter_map(|l| l.split("resuming ").nth(1)?.split(' ').next()?.parse::<usize>().ok())
        .sum();
    let active = active.load(Ordering::SeqCst);
    println!("{store}: operations resumed after {killed} kill(s): {resumed}; kept servers ACTIVE: {active} of {KEPT}");
    assert!(resumed >= 1, "no restart resumed an operation; the kills tested nothing");
    assert!(active >= 1, "none of the {KEPT} kept servers reached ACTIVE through the kills");
}

/// Nothing of the libvirt cloud is left on the host.
fn kvm_leaks_nothing(server: &support::Server, cloud: &str, net_id: &str) {
    let domains: Vec<String> = virsh(&["list", "--all", "--name"])
        .lines()
        .filter(|d| d.starts_with("hs-") && virsh(&["dumpxml", d]).contains(&server.data.path().display().to_string()))
        .map(str::to_string)
        .collect();
    assert!(domains.is_empty(), "leaked domains: {domains:?}");
    let disks: Vec<String> = virsh(&["vol-list", &support::guest::pool_of(server, cloud)])
        .lines()
        .filter(|l| l.trim_start().starts_with("disk-"))
        .map(str::to_string)
        .collect();
    assert!(disks.is_empty(), "leaked disks: {disks:?}");
    if virsh(&["net-list", "--all", "--name"]).contains(net_id) {
        let log = std::fs::read_to_string(server.data.path().join("serve.log")).unwrap_or_default();
        let notable: Vec<&str> =
            log.lines().filter(|l| l.contains("WARN") || l.contains("network") || l.contains("ERROR")).collect();
        panic!(
            "the libvirt network leaked:\n{}\nlog:\n{}",
            virsh(&["net-dumpxml", &format!("hs-net-{net_id}")]),
            notable[notable.len().saturating_sub(30)..].join("\n")
        );
    }
    // The cloud's port filters and NAT tables: the test's own cleanup would remove them
    // silently, so they are looked for first.
    let (installation_tag, cloud_tag) = support::guest::name_tags(server, cloud);
    let filter_prefix = format!("hs-port-{installation_tag}-{cloud_tag}-");
    let filters: Vec<String> = virsh(&["nwfilter-list"])
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|f| f.starts_with(&filter_prefix))
        .map(str::to_string)
        .collect();
    assert!(filters.is_empty(), "leaked port filters: {filters:?}");
    let table_tag = format!("_{installation_tag}_{cloud_tag}_");
    let nft = std::process::Command::new("nft").args(["list", "tables", "ip"]).output().expect("run nft");
    assert!(nft.status.success(), "nft list tables: {}", String::from_utf8_lossy(&nft.stderr));
    let tables: Vec<String> = String::from_utf8_lossy(&nft.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("table ip "))
        .filter(|t| t.contains(&table_tag))
        .map(str::to_string)
        .collect();
    assert!(tables.is_empty(), "leaked NAT tables: {tables:?}");
}
