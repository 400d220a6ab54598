//! `/extensions`: the Cinder extensions this API implements, and only those.

use crate::routes::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::{route, Result};
use crate::auth::Caller;
use crate::AppState;

/// (alias, name, description)
pub(crate) const EXTENSIONS: &[(&str, &str, &str)] = &[
    ("os-admin-actions", "AdminActions", "Enable admin actions."),
    ("os-availability-zone", "AvailabilityZones", "Describe Availability Zones."),
    ("os-extended-snapshot-attributes", "ExtendedSnapshotAttributes", "Extended SnapshotAttributes support."),
    ("os-quota-sets", "Quotas", "Quota management support."),
    ("os-types-extra-specs", "TypesExtraSpecs", "Type extra specs support."),
    ("os-types-manage", "TypesManage", "Types manage support."),
    ("os-used-limits", "UsedLimits", "Provide data on limited resources that are being used."),
    ("os-vol-tenant-attr", "VolumeTenantAttribute", "Expose the internal project_id as an attribute of a volume."),
    ("os-volume-actions", "VolumeActions", "Enable volume actions."),
    ("os-volume-type-access", "VolumeTypeAccess", "Volume type access support."),
];

pub(super) fn router() -> Router<AppState> {
    Router::new().route(&route("/extensions"), get(list))
}

async fn list(Caller(_ctx): Caller, Path(_project): Path<String>) -> Result<Response> {
    let items: Vec<_> = EXTENSIONS
        .iter()
        .map(|(alias, name, description)| {
            json!({"alias": alias, "name": name, "description": description, "links": [], "updated": "2013-02-19T00:00:00+00:00"})
        })
        .collect();
    Ok(axum::Json(json!({"extensions": items})).into_response())
}
