//! `bench-bcrypt`: the physical ceiling for password token issue on this machine, measured
//! with the same bcrypt implementation and cost the server uses, on every core at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use hybridstack_core::identity::{Project, User};

pub(crate) fn bcrypt_rate(cost: u32, seconds: u64) -> Result<()> {
    let hash = bcrypt::hash("bench-password", cost)?;
    let done = Arc::new(AtomicU64::new(0));
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (hash, done) = (hash.clone(), done.clone());
            std::thread::spawn(move || {
                while Instant::now() < deadline {
                    if bcrypt::verify("bench-password", &hash).unwrap_or(false) {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    for h in handles {
        let _ = h.join();
    }
    let rate = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    println!("threads: {threads}");
    println!("cost: {cost}");
    println!("bcrypt_verifies_per_sec: {rate:.2}");
    Ok(())
}

/// `bench-seed-servers`: writes `count` server records into the admin project (as the
/// list-latency and nova-api benchmarks' data set), in batches, with no cloud behind them.
pub(crate) async fn seed_servers(s: &crate::config::Settings, count: usize) -> Result<()> {
    use hybridstack_core::compute::model::{Address, FlavorCopy, Server};
    let store = crate::open_store(s).await?;
    crate::migrate_store(&store).await?;
    let project = store.project_by_name::<Project>("default", "admin").await?;
    let user = store.user_by_name::<User>("default", "admin").await?;
    let clouds = hybridstack_core::clouds::Clouds::new(store.clone(), Arc::new(hybridstack_core::clouds::NoDrivers));
    let images =
        hybridstack_core::images::Images::open(store.clone(), &s.data_dir, Default::default(), clouds.clone())?;
    let networking = hybridstack_core::network::Networking::new(store.clone(), clouds);
    let compute = hybridstack_core::compute::Compute::without_clouds(store, images, networking);
    let flavor = FlavorCopy {
        id: "1".into(),
        name: "m1.tiny".into(),
        vcpus: 1,
        ram: 512,
        disk: 1,
        ephemeral: 0,
        swap: 0,
        extra_specs: Default::default(),
    };
    let started = Instant::now();
    let mut done = 0;
    while done < count {
        let batch: Vec<Server> = (done..count.min(done + 10_000))
            .map(|i| {
                let t = "2026-01-01T00:00:00Z".to_string();
                Server {
                    id: uuid_for(i),
                    name: format!("bench-{i}"),
                    project_id: project.id.clone(),
                    user_id: user.id.clone(),
                    vm_state: "active".into(),
                    task_state: None,
                    power_state: 1,
                    cloud: "bench".into(),
                    requested_zone: None,
                    flavor: flavor.clone(),
                    old_flavor: None,
                    image_id: "00000000-0000-4000-8000-000000000001".into(),
                    key_name: None,
                    key_data: None,
                    metadata: [("role".to_string(), "web".to_string())].into(),
                    tags: vec![],
                    user_data: None,
                    access_ipv4: String::new(),
                    access_ipv6: String::new(),
                    description: None,
                    locked: false,
                    locked_reason: None,
                    locked_by: None,
                    created: t.clone(),
                    updated: t.clone(),
                    launched_at: Some(t),
                    terminated_at: None,
                    fault: None,
                    networks: vec![],
                    network_mode: "auto".into(),
                    // One port per server, as a booted server has: it makes the body carry
                    // `security_groups`, like nova-api's, so both sides render the same fields.
                    ports: vec![(port_uuid_for(i), true)],
                    addresses: vec![Address {
                        network_name: "private".into(),
                        version: 4,
                        addr: format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
                        kind: "fixed".into(),
                        mac: format!("fa:16:3e:{:02x}:{:02x}:{:02x}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
                    }],
                    security_groups: vec!["default".into()],
                    volumes_attached: vec![],
                    block_devices: vec![],
                    config_drive: String::new(),
                    reservation_id: "r-bench".into(),
                    launch_index: 0,
                    hostname: format!("bench-{i}"),
                    kernel_id: String::new(),
                    ramdisk_id: String::new(),
                    server_group: None,
                    pending_action: None,
                }
            })
            .collect();
        done += batch.len();
        compute.import_servers(&batch).await?;
    }
    println!("seeded {count} servers in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

fn uuid_for(i: usize) -> String {
    format!("{:08x}-0000-4000-8000-{:012x}", i >> 16, i)
}

fn port_uuid_for(i: usize) -> String {
    format!("{:08x}-0000-4000-9000-{:012x}", i >> 16, i)
}
