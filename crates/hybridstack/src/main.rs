//! `hybridstack`: one binary for the whole control plane.
//!
//! `bootstrap` prepares a data dir, `serve` runs every API on one listener, `migrate`
//! upgrades the store. Errors become `anyhow` here, at the edge, and nowhere else.

mod bench;
mod cloud;
mod config;
mod drivers;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use hybridstack_core::identity::{self, Identity, IdentityConfig};
use hybridstack_core::images::{Images, ImagesConfig};
use hybridstack_core::keys::Keys;
use hybridstack_core::secrets::PasswordHasher;
use hybridstack_store::Store;

use config::Settings;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "hybridstack", version, about = "One OpenStack-compatible API over KVM, vCenter, ACI and AWS")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
pub(crate) struct Common {
    /// Where the store (SQLite), keys and config live.
    #[arg(long, env = "HYBRIDSTACK_DATA_DIR", default_value = "/var/lib/hybridstack")]
    data_dir: PathBuf,
    /// Config file (TOML); defaults to <data-dir>/hybridstack.toml when that exists.
    #[arg(long, env = "HYBRIDSTACK_CONFIG")]
    config: Option<PathBuf>,
    /// sqlite://… or postgres://…; defaults to SQLite under the data dir.
    #[arg(long, env = "HYBRIDSTACK_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Base URL clients reach this server at; it goes into the catalog.
    #[arg(long, env = "HYBRIDSTACK_PUBLIC_URL")]
    public_url: Option<String>,
    /// Address to listen on (also the default public URL).
    #[arg(long, env = "HYBRIDSTACK_LISTEN")]
    listen: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Create the store, keys, admin account, roles and catalog. Safe to run again.
    Bootstrap {
        #[command(flatten)]
        common: Common,
        #[arg(long, env = "HYBRIDSTACK_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: String,
    },
    /// Serve every API on one listener.
    Serve {
        #[command(flatten)]
        common: Common,
    },
    /// Register and inspect the clouds servers run on.
    Cloud {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: cloud::CloudCommand,
    },
    /// Apply pending store migrations.
    Migrate {
        #[command(flatten)]
        common: Common,
    },
    /// Write N synthetic server records into the admin project (the list benchmark's data).
    #[command(hide = true)]
    BenchSeedServers {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        count: usize,
    },
    /// Measure raw bcrypt verifications per second on all cores (the token-issue ceiling).
    #[command(hide = true)]
    BenchBcrypt {
        #[arg(long, default_value_t = hybridstack_core::secrets::DEFAULT_BCRYPT_COST)]
        cost: u32,
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
}

fn main() -> Result<()> {
    // Log lines are written by a background thread, so a busy request path never waits on
    // stderr; the guard flushes what is queued when main returns.
    let (writer, _flush_on_exit) = tracing_appender::non_blocking(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(writer)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Bootstrap { common, admin_password } => {
            rt.block_on(bootstrap(Settings::load(&common)?, &admin_password))
        }
        Command::Serve { common } => rt.block_on(serve(Settings::load(&common)?)),
        Command::Cloud { common, command } => rt.block_on(cloud::run(Settings::load(&common)?, command)),
        Command::Migrate { common } => rt.block_on(migrate(Settings::load(&common)?)),
        Command::BenchBcrypt { cost, seconds } => bench::bcrypt_rate(cost, seconds),
        Command::BenchSeedServers { common, count } => {
            rt.block_on(bench::seed_servers(&Settings::load(&common)?, count))
        }
    }
}

pub(crate) async fn open_store(s: &Settings) -> Result<Store> {
    let store = Store::connect(&s.database_url)
        .await
        .with_context(|| format!("cannot open the store at {}", hybridstack_store::redact(&s.database_url)))?;
    Ok(store)
}

pub(crate) async fn migrate_store(store: &Store) -> Result<usize> {
    store.migrate().await.context("migrating the store")
}

async fn migrate(s: Settings) -> Result<()> {
    let store = open_store(&s).await?;
    let n = migrate_store(&store).await?;
    println!("{}", if n == 0 { "store is up to date".to_string() } else { format!("applied {n} migration(s)") });
    Ok(())
}

async fn bootstrap(s: Settings, admin_password: &str) -> Result<()> {
    if admin_password.is_empty() {
        bail!("--admin-password must not be empty");
    }
    std::fs::create_dir_all(&s.data_dir).with_context(|| format!("creating {}", s.data_dir.display()))?;
    let mut changes: Vec<String> = Vec::new();
    let store = open_store(&s).await?;
    let n = migrate_store(&store).await?;
    if n > 0 {
        changes.push(format!("applied {n} migration(s)"));
    }
    for k in Keys::create_missing(&s.data_dir)? {
        changes.push(format!("created key {k}"));
    }
    let hasher = PasswordHasher::new(s.bcrypt_cost)?;
    let report = identity::bootstrap(&store, hasher, admin_password, &s.public_url, &s.region).await?;
    changes.extend(report.changes);
    if changes.is_empty() {
        println!("already bootstrapped: nothing changed");
    } else {
        for c in &changes {
            println!("{c}");
        }
    }
    Ok(())
}

async fn serve(s: Settings) -> Result<()> {
    let store = open_store(&s).await?;
    migrate_store(&store).await?;
    let keys = Keys::load(&s.data_dir).context("loading keys")?;
    for change in identity::ensure_catalog(&store, &s.public_url, &s.region).await? {
        tracing::info!("catalog: {change}");
    }
    let hasher = PasswordHasher::new(s.bcrypt_cost)?;
    let cfg = IdentityConfig {
        token_ttl_secs: s.token_ttl_secs,
        unique_last_password_count: s.unique_last_password_count,
        public_url: s.public_url.clone(),
        region: s.region.clone(),
    };
    let identity = Identity::new(store.clone(), keys, hasher, cfg).await?;
    tokio::spawn(housekeeping(identity.clone()));
    let ring = Keys::load(&s.data_dir)?.credential;
    let clouds = hybridstack_core::clouds::Clouds::with_secrets(store.clone(), Arc::new(drivers::Builtin), ring);
    clouds.refresh().await?;
    for (name, why) in clouds.broken() {
        tracing::warn!(cloud = %name, "cloud unavailable: {why}");
    }
    let images = Images::open(
        store.clone(),
        &s.data_dir,
        ImagesConfig { quota_bytes: s.image_quota_bytes, require_format_match: s.image_require_format_match },
        clouds.clone(),
    )?;
    let rolled_back = images.recover().await?;
    if rolled_back > 0 {
        tracing::warn!("returned {rolled_back} image(s) interrupted mid-transfer to queued");
    }
    let networking = hybridstack_core::network::Networking::new(store.clone(), clouds.clone());
    let compute = start_compute(&s, &store, images.clone(), networking.clone(), clouds).await?;
    let app = hybridstack_api::router(hybridstack_api::AppState::new(identity, images, networking, compute));
    let listener =
        tokio::net::TcpListener::bind(&s.listen).await.with_context(|| format!("cannot listen on {}", s.listen))?;
    let auth_url = format!("{}/identity/v3", s.public_url.trim_end_matches('/'));
    println!("hybridstack is serving on {} (public URL {})", s.listen, s.public_url);
    println!("export OS_AUTH_URL={auth_url}");
    println!("export OS_IDENTITY_API_VERSION=3");
    println!(
        "export OS_USERNAME=admin OS_PROJECT_NAME=admin OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default"
    );
    println!("export OS_REGION_NAME={}", s.region);
    println!("export OS_PASSWORD=<the admin password given to bootstrap>");
    axum::serve(listener, app).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

/// The compute service and the engine that realises it: workers draining the operation
/// queue (first re-claiming what this node held when it last stopped) and the reconciler.
async fn start_compute(
    s: &Settings,
    store: &Store,
    images: Arc<Images>,
    networking: Arc<hybridstack_core::network::Networking>,
    clouds: Arc<hybridstack_core::clouds::Clouds>,
) -> Result<Arc<hybridstack_core::compute::Compute>> {
    use hybridstack_core::compute::{Compute, ComputeConfig};
    let cfg = ComputeConfig { shutdown_timeout_secs: s.shutdown_timeout_secs };
    let compute = Compute::new(store.clone(), images, networking, clouds, cfg);
    let mut engine = hybridstack_engine::Engine::new(store.clone(), s.node_name.clone(), Duration::from_secs(300));
    hybridstack_engine::sagas::register(&mut engine, &compute);
    let reclaimed = engine.reclaim_own().await?;
    if reclaimed > 0 {
        tracing::warn!("resuming {reclaimed} operation(s) this node held when it last stopped");
    }
    let reconciler = Arc::new(hybridstack_engine::reconciler::Reconciler::new(
        compute.clone(),
        Duration::from_secs(s.orphan_grace_secs),
    ));
    let adopted = reconciler.adopt_all().await;
    if adopted.adopted > 0 {
        tracing::info!("adopted {} object(s) made before installation ids", adopted.adopted);
    }
    let engine = Arc::new(engine);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    for _ in 0..s.engine_workers {
        tokio::spawn(engine.clone().run(compute.wake.clone(), stop.clone()));
    }
    tokio::spawn(reconciler.run(Duration::from_secs(s.reconcile_interval_secs), stop));
    Ok(compute)
}

async fn housekeeping(identity: Arc<Identity>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        if let Err(e) = identity.housekeeping().await {
            tracing::warn!(error = %e, "identity housekeeping failed; retrying");
        }
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
