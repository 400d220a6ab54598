//! `/limits`: the project's block-storage quotas and what it uses of them, in the absolute
//! shape Cinder gives (no rate limits are applied).

use crate::routes::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::{route, InProject, Result};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(&route("/limits"), get(limits))
}

async fn limits(InProject(st, ctx): InProject, Path(project): Path<String>) -> Result<Response> {
    let vols = &st.compute.volumes;
    let q = vols.volume_quota_show(&ctx, &project).await?;
    let used = vols.volume_quota_usage(&project).await?;
    let limit = |k: &str| q.get(k).copied().unwrap_or(-1);
    let use_of = |k: &str| used.get(k).copied().unwrap_or(0);
    let abs = json!({
        "maxTotalVolumes": limit("volumes"),
        "maxTotalSnapshots": limit("snapshots"),
        "maxTotalVolumeGigabytes": limit("gigabytes"),
        "maxTotalBackups": limit("backups"),
        "maxTotalBackupGigabytes": limit("backup_gigabytes"),
        "totalVolumesUsed": use_of("volumes"),
        "totalSnapshotsUsed": use_of("snapshots"),
        "totalGigabytesUsed": use_of("gigabytes"),
        "totalBackupsUsed": 0,
        "totalBackupGigabytesUsed": 0,
    });
    Ok(axum::Json(json!({"limits": {"absolute": abs, "rate": []}})).into_response())
}
