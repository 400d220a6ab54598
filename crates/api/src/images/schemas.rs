//! `/v2/schemas/*`: JSON Schemas of the image and member documents, as clients (and
//! glanceclient's validation) read them.

use crate::routes::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Value};

use super::path;
use crate::AppState;

fn nullable(t: &str) -> Value {
    json!({"type": [t, "null"]})
}

pub(crate) fn image_schema() -> Value {
    let enum_of = |v: &[&str]| {
        let mut all: Vec<Value> = v.iter().map(|s| json!(s)).collect();
        all.push(Value::Null);
        json!({"type": ["null", "string"], "enum": all})
    };
    json!({
        "name": "image",
        "properties": {
            "id": {"type": "string", "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$", "description": "An identifier for the image"},
            "name": {"type": ["null", "string"], "maxLength": 255, "description": "Descriptive name for the image"},
            "status": {"type": "string", "readOnly": true, "enum": ["queued", "saving", "active", "killed", "deleted", "uploading", "importing", "pending_delete", "deactivated"]},
            "visibility": {"type": "string", "enum": hybridstack_core::images::VISIBILITIES},
            "protected": {"type": "boolean"},
            "os_hidden": {"type": "boolean"},
            "checksum": {"type": ["null", "string"], "readOnly": true, "maxLength": 32},
            "os_hash_algo": {"type": ["null", "string"], "readOnly": true, "maxLength": 64},
            "os_hash_value": {"type": ["null", "string"], "readOnly": true, "maxLength": 128},
            "owner": {"type": ["null", "string"], "maxLength": 255},
            "size": {"type": ["null", "integer"], "readOnly": true},
            "virtual_size": {"type": ["null", "integer"], "readOnly": true},
            "container_format": enum_of(hybridstack_core::images::CONTAINER_FORMATS),
            "disk_format": enum_of(hybridstack_core::images::DISK_FORMATS),
            "created_at": {"type": "string", "readOnly": true},
            "updated_at": {"type": "string", "readOnly": true},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
            "min_ram": {"type": "integer"},
            "min_disk": {"type": "integer"},
            "self": {"type": "string", "readOnly": true},
            "file": {"type": "string", "readOnly": true},
            "stores": {"type": "string", "readOnly": true},
            "schema": {"type": "string", "readOnly": true},
            "locations": {"type": "array", "items": {"type": "object"}},
            "direct_url": nullable("string"),
        },
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    })
}

fn member_schema() -> Value {
    json!({
        "name": "member",
        "properties": {
            "member_id": {"type": "string"},
            "image_id": {"type": "string"},
            "created_at": {"type": "string"},
            "updated_at": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "accepted", "rejected"]},
            "schema": {"type": "string", "readOnly": true},
        },
    })
}

async fn image() -> Response {
    axum::Json(image_schema()).into_response()
}

async fn images() -> Response {
    axum::Json(json!({
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": image_schema()},
            "first": {"type": "string"}, "next": {"type": "string"}, "schema": {"type": "string"},
        },
        "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, {"rel": "describedby", "href": "{schema}"}],
    }))
    .into_response()
}

async fn member() -> Response {
    axum::Json(member_schema()).into_response()
}

async fn members() -> Response {
    axum::Json(json!({
        "name": "members",
        "properties": {"members": {"type": "array", "items": member_schema()}, "schema": {"type": "string"}},
        "links": [{"rel": "describedby", "href": "{schema}"}],
    }))
    .into_response()
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/schemas/image"), get(image))
        .route(&path("/schemas/images"), get(images))
        .route(&path("/schemas/member"), get(member))
        .route(&path("/schemas/members"), get(members))
}
