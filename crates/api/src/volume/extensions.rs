//! `/extensions`: the Cinder extensions this API implements, and only those.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;

use super::{check_project, route, Result};
use crate::auth::Caller;
use crate::AppState;

/// (alias, name, description)
pub(crate) const EXTENSIONS: &[(&str, &str, &str)] = &[
    ("os-availability-zone", "AvailabilityZones", "Describe Availability Zones."),
    ("os-extended-snapshot-attributes", "ExtendedSnapshotAttributes", "Extended SnapshotAttributes support."),
    ("os-vol-tenant-attr", "VolumeTenantAttribute", "Expose the internal project_id as an attribute of a volume."),
    ("os-volume-actions", "VolumeActions", "Enable volume actions."),
];

pub(super) fn router() -> Router<AppState> {
    Router::new().route(&route("/extensions"), get(list))
}

async fn list(Caller(ctx): Caller, Path(project): Path<String>) -> Result<Response> {
    check_project(&ctx, &project)?;
    let items: Vec<_> = EXTENSIONS
        .iter()
        .map(|(alias, name, description)| {
            json!({"alias": alias, "name": name, "description": description, "links": [], "updated": "2013-02-19T00:00:00+00:00"})
        })
        .collect();
    Ok(axum::Json(json!({"extensions": items})).into_response())
}
