//! `bench-bcrypt`: the physical ceiling for password token issue on this machine, measured
//! with the same bcrypt implementation and cost the server uses, on every core at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

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
