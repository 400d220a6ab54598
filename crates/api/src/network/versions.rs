//! `GET /network/` and `GET /network/v2.0/` (the resource list) and `/v2.0/extensions`.

use crate::routes::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::CoreError;
use serde_json::{json, Value};

use super::{path, NeutronError, PREFIX};
use crate::auth::{Call, Caller};
use crate::AppState;

async fn versions(State(state): State<AppState>) -> Response {
    let href = format!("{}{PREFIX}/v2.0/", state.public_url());
    axum::Json(json!({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": href}]}]}))
        .into_response()
}

const RESOURCES: &[(&str, &str)] = &[
    ("network", "networks"),
    ("subnet", "subnets"),
    ("port", "ports"),
    ("router", "routers"),
    ("floatingip", "floatingips"),
    ("security_group", "security-groups"),
    ("security_group_rule", "security-group-rules"),
    ("subnetpool", "subnetpools"),
];

async fn resources(Call(state, _): Call) -> Response {
    let items: Vec<Value> = RESOURCES
        .iter()
        .map(|(name, coll)| {
            json!({"name": name, "collection": coll,
            "links": [{"rel": "self", "href": format!("{}{}", state.public_url(), path(&format!("/{coll}")))}]})
        })
        .collect();
    axum::Json(json!({ "resources": items })).into_response()
}

/// Exactly what this server implements; Tempest and clients decide what to try from it.
pub(crate) const EXTENSIONS: &[(&str, &str, &str)] = &[
    ("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."),
    ("ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway"),
    ("external-net", "Neutron external network", "Adds external network attribute to network resource."),
    ("security-group", "security-group", "The security groups extension."),
    ("subnet_allocation", "Subnet Allocation", "Enables allocation of subnets from a subnet pool"),
    ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
    ("port-security", "Port Security", "Provides port security"),
    ("allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"),
    ("project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled."),
    ("standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard attributes"),
    ("standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes."),
    ("standard-attr-revisions", "Resource revision numbers", "This extension will display the revision number of neutron resources."),
    ("pagination", "Pagination support", "Extension that indicates that pagination is enabled."),
    ("sorting", "Sorting support", "Extension that indicates that sorting is enabled."),
    ("fip-port-details", "Floating IP Port Details Extension", "Add port_details attribute to Floating IP resource"),
    ("standard-attr-tag", "Tag support for resources with standard attribute: subnet, trunk, network_segment_range, router, network, policy, subnetpool, port, security_group, floatingip", "Enables to set tag on resources with standard attribute."),
    ("quotas", "Quota management support", "Expose functions for quotas management per project"),
    ("quota_details", "Quota details management support", "Expose functions for quotas usage statistics per project"),
];

fn render(e: &(&str, &str, &str)) -> Value {
    json!({"alias": e.0, "name": e.1, "description": e.2, "updated": "2012-10-05T10:00:00-00:00", "links": []})
}

async fn extensions(Caller(_): Caller) -> Response {
    axum::Json(json!({"extensions": EXTENSIONS.iter().map(render).collect::<Vec<_>>()})).into_response()
}

async fn extension(Caller(_): Caller, Path(alias): Path<String>) -> Result<Response, NeutronError> {
    let e = EXTENSIONS
        .iter()
        .find(|e| e.0 == alias)
        .ok_or_else(|| NeutronError(CoreError::NotFound(format!("Extension with alias {alias} does not exist"))))?;
    Ok(axum::Json(json!({"extension": render(e)})).into_response())
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(PREFIX, get(versions))
        .route(&format!("{PREFIX}/"), get(versions))
        .route(&path(""), get(resources))
        .route(&path("/"), get(resources))
        .route(&path("/extensions"), get(extensions))
        .route(&path("/extensions/{alias}"), get(extension))
}
