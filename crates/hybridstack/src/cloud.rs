//! `hybridstack cloud add|list|check|remove`: registering the clouds servers run on.

use std::sync::Arc;

use anyhow::{bail, Result};
use clap::Subcommand;
use hybridstack_core::compute::Clouds;
use hybridstack_driver_libvirt::{detect_domain_type, LibvirtConfig};

use crate::config::Settings;

#[derive(Subcommand)]
pub(crate) enum CloudCommand {
    /// Register a cloud. Its name becomes an availability zone.
    Add {
        #[command(subcommand)]
        kind: AddKind,
    },
    /// List the registered clouds and whether each can be opened.
    List,
    /// Open every cloud and show its health and capacity.
    Check,
    /// Unregister a cloud (its servers must be deleted first).
    Remove { name: String },
}

#[derive(Subcommand)]
pub(crate) enum AddKind {
    /// A KVM/QEMU host through libvirt.
    Libvirt {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "qemu:///system")]
        uri: String,
        /// `kvm` or `qemu` (TCG); detected from the host when omitted.
        #[arg(long)]
        domain_type: Option<String>,
    },
}

async fn clouds(s: &Settings) -> Result<(Arc<Clouds>, hybridstack_store::Store)> {
    let store = crate::open_store(s).await?;
    crate::migrate_store(&store).await?;
    Ok((Clouds::new(store.clone(), Arc::new(crate::drivers::Builtin)), store))
}

pub(crate) async fn run(s: Settings, cmd: CloudCommand) -> Result<()> {
    let (clouds, store) = clouds(&s).await?;
    match cmd {
        CloudCommand::Add { kind: AddKind::Libvirt { name, uri, domain_type } } => {
            let domain_type = match domain_type {
                Some(t) if t == "kvm" || t == "qemu" => t,
                Some(t) => bail!("--domain-type must be kvm or qemu, not {t:?}"),
                None => {
                    tokio::task::spawn_blocking({
                        let uri = uri.clone();
                        move || detect_domain_type(&uri)
                    })
                    .await??
                }
            };
            let mut cfg = LibvirtConfig::defaults(&name, &uri, &s.data_dir.display().to_string());
            cfg.domain_type = domain_type.clone();
            cfg.shutdown_timeout_secs = s.shutdown_timeout_secs;
            if store.cloud_list().await?.iter().any(|c| c.name == name) {
                println!("cloud {name} is already registered: nothing changed");
                return Ok(());
            }
            clouds.add("libvirt", &name, serde_json::to_value(&cfg)?).await?;
            println!("registered libvirt cloud {name} at {uri} (domain type {domain_type})");
        }
        CloudCommand::List => {
            clouds.refresh().await?;
            for c in clouds.list().await? {
                let health = c.error.map_or("ok".to_string(), |e| format!("unavailable: {e}"));
                println!(
                    "{}\t{}\t{}\t{}",
                    c.name,
                    c.kind,
                    c.config.get("uri").and_then(|u| u.as_str()).unwrap_or(""),
                    health
                );
            }
        }
        CloudCommand::Check => {
            clouds.refresh().await?;
            let mut bad = 0;
            for (name, why) in clouds.broken() {
                println!("{name}: unavailable: {why}");
                bad += 1;
            }
            for h in clouds.all() {
                match h.compute.capacity().await {
                    Ok(c) => println!(
                        "{}: ok ({}, {} vCPUs, {} MiB RAM, {} GiB disk free)",
                        h.name, c.hypervisor_type, c.vcpus, c.memory_mb, c.free_disk_gb
                    ),
                    Err(e) => {
                        println!("{}: unavailable: {e}", h.name);
                        bad += 1;
                    }
                }
            }
            if bad > 0 {
                bail!("{bad} cloud(s) unavailable");
            }
        }
        CloudCommand::Remove { name } => {
            if !store.server_ids_on(&name).await?.is_empty() {
                bail!("cloud {name} still runs servers; delete them first");
            }
            clouds.remove(&name).await?;
            println!("removed cloud {name}");
        }
    }
    Ok(())
}
