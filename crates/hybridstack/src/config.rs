//! Settings: command-line flags and `HYBRIDSTACK_*` environment variables override the TOML
//! config file, which overrides the defaults.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::Common;

pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8770";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    database_url: Option<String>,
    listen: Option<String>,
    public_url: Option<String>,
    region: Option<String>,
    bcrypt_cost: Option<u32>,
    token_ttl_secs: Option<i64>,
    unique_last_password_count: Option<usize>,
    image_quota_bytes: Option<i64>,
    image_require_format_match: Option<bool>,
    node_name: Option<String>,
    engine_workers: Option<usize>,
    reconcile_interval_secs: Option<u64>,
    orphan_grace_secs: Option<u64>,
    shutdown_timeout_secs: Option<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub listen: String,
    pub public_url: String,
    pub region: String,
    pub bcrypt_cost: u32,
    pub token_ttl_secs: i64,
    pub unique_last_password_count: usize,
    pub image_quota_bytes: i64,
    pub image_require_format_match: bool,
    /// This control-plane node's name: it owns the leases its engine takes, so after a crash
    /// the restarted node reclaims its own operations at once.
    pub node_name: String,
    /// Operations driven at once. Most of a step's time is spent waiting on a cloud (an
    /// instance to run, a volume to attach), so this is well above the core count.
    pub engine_workers: usize,
    pub reconcile_interval_secs: u64,
    /// How long a backend object must stay unowned before the reconciler deletes it.
    pub orphan_grace_secs: u64,
    pub shutdown_timeout_secs: u64,
}

fn env_parse<T: std::str::FromStr>(name: &str) -> Result<Option<T>> {
    match std::env::var(name) {
        Ok(v) => v.parse().map(Some).map_err(|_| anyhow::anyhow!("{name}={v:?} is not valid")),
        Err(_) => Ok(None),
    }
}

fn read_file(path: &Path, required: bool) -> Result<File> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).with_context(|| format!("parsing {}", path.display())),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(File::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

impl Settings {
    pub(crate) fn load(c: &Common) -> Result<Self> {
        let file = match &c.config {
            Some(p) => read_file(p, true)?,
            None => read_file(&c.data_dir.join("hybridstack.toml"), false)?,
        };
        let listen = c.listen.clone().or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let public_url = c.public_url.clone().or(file.public_url).unwrap_or_else(|| format!("http://{listen}"));
        let database_url = c
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", c.data_dir.join("hybridstack.db").display()));
        Ok(Self {
            data_dir: c.data_dir.clone(),
            database_url,
            listen,
            public_url: public_url.trim_end_matches('/').to_string(),
            region: env_parse("HYBRIDSTACK_REGION")?.or(file.region).unwrap_or_else(|| "RegionOne".into()),
            bcrypt_cost: env_parse("HYBRIDSTACK_BCRYPT_COST")?
                .or(file.bcrypt_cost)
                .unwrap_or(hybridstack_core::secrets::DEFAULT_BCRYPT_COST),
            token_ttl_secs: env_parse("HYBRIDSTACK_TOKEN_TTL_SECS")?.or(file.token_ttl_secs).unwrap_or(3600),
            unique_last_password_count: env_parse("HYBRIDSTACK_UNIQUE_LAST_PASSWORD_COUNT")?
                .or(file.unique_last_password_count)
                .unwrap_or(2),
            image_quota_bytes: env_parse("HYBRIDSTACK_IMAGE_QUOTA_BYTES")?
                .or(file.image_quota_bytes)
                .unwrap_or(1 << 40),
            image_require_format_match: env_parse("HYBRIDSTACK_IMAGE_REQUIRE_FORMAT_MATCH")?
                .or(file.image_require_format_match)
                .unwrap_or(true),
            node_name: env_parse("HYBRIDSTACK_NODE_NAME")?
                .or(file.node_name)
                .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_string()))
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "hybridstack".into()),
            engine_workers: env_parse("HYBRIDSTACK_ENGINE_WORKERS")?.or(file.engine_workers).unwrap_or(32).max(1),
            reconcile_interval_secs: env_parse("HYBRIDSTACK_RECONCILE_INTERVAL_SECS")?
                .or(file.reconcile_interval_secs)
                .unwrap_or(15)
                .max(1),
            orphan_grace_secs: env_parse("HYBRIDSTACK_ORPHAN_GRACE_SECS")?.or(file.orphan_grace_secs).unwrap_or(600),
            shutdown_timeout_secs: env_parse("HYBRIDSTACK_SHUTDOWN_TIMEOUT_SECS")?
                .or(file.shutdown_timeout_secs)
                .unwrap_or(60),
        })
    }
}
