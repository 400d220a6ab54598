//! `/servers`: create, list (brief and detail), show, update, delete.

use std::collections::BTreeMap;

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::compute::model::{RequestedNetwork, Server};
use hybridstack_core::compute::{BlockDeviceRequest, CreateRequest, ListQuery, NetworkRequest, ServerUpdate};
use serde_json::{json, Map, Value};

use super::{bad, json_body, path, views, Mv, Result};
use crate::auth::Call;
use crate::request_id::RequestId;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/servers"), get(list).post(create))
        .route(&path("/servers/detail"), get(detail))
        .route(&path("/servers/{id}"), get(show).put(update).delete(remove))
}

const CREATE_KEYS: &[&str] = &[
    "name",
    "imageRef",
    "flavorRef",
    "networks",
    "key_name",
    "user_data",
    "metadata",
    "availability_zone",
    "security_groups",
    "min_count",
    "max_count",
    "return_reservation_id",
    "accessIPv4",
    "accessIPv6",
    "description",
    "block_device_mapping_v2",
    "config_drive",
    "adminPass",
    "personality",
    "OS-DCF:diskConfig",
];

pub(super) fn string_map(v: Option<&Value>, field: &str) -> Result<BTreeMap<String, String>> {
    match v {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(bad(format!("Invalid input for field/attribute {field}: values must be strings."))),
            })
            .collect(),
        Some(_) => Err(bad(format!("Invalid input for field/attribute {field}: it must be an object."))),
    }
}

fn opt_string(m: &Map<String, Value>, k: &str) -> Result<Option<String>> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!("Invalid input for field/attribute {k}: it must be a string."))),
    }
}

/// An integer sent as a number or a numeric string (Nova accepts both for counts and ids).
fn int_like(m: &Map<String, Value>, k: &str) -> Result<Option<u32>> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n >= 1)
            .map(Some)
            .ok_or_else(|| bad(format!("Invalid input for field/attribute {k}: it must be a positive integer."))),
        Some(Value::String(s)) => s
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .map(Some)
            .ok_or_else(|| bad(format!("Invalid input for field/attribute {k}: it must be a positive integer."))),
        Some(_) => Err(bad(format!("Invalid input for field/attribute {k}: it must be a positive integer."))),
    }
}

fn parse_networks(v: Option<&Value>, mv: Mv) -> Result<NetworkRequest> {
    match v {
        None if mv.at_least(37) => {
            Err(bad("Invalid input for field/attribute server: 'networks' is a required property."))
        }
        None => Ok(NetworkRequest::Auto),
        Some(Value::String(s)) if s == "auto" && mv.at_least(37) => Ok(NetworkRequest::Auto),
        Some(Value::String(s)) if s == "none" && mv.at_least(37) => Ok(NetworkRequest::None),
        // Below 2.37 the SDK sends an empty list for "no preference".
        Some(Value::Array(list)) if list.is_empty() && !mv.at_least(37) => Ok(NetworkRequest::Auto),
        Some(Value::Array(list)) => {
            let mut out = Vec::new();
            for n in list {
                let Value::Object(o) = n else {
                    return Err(bad("Invalid input for field/attribute networks: each entry must be an object."));
                };
                for k in o.keys() {
                    if !["uuid", "port", "fixed_ip", "tag"].contains(&k.as_str()) {
                        return Err(bad(format!("Invalid input for field/attribute networks: unexpected key {k:?}.")));
                    }
                }
                let uuid = opt_string(o, "uuid")?;
                if let Some(u) = &uuid {
                    if uuid::Uuid::parse_str(u).is_err() {
                        return Err(bad(format!("Bad networks format: network uuid is not in proper format ({u})")));
                    }
                }
                out.push(RequestedNetwork {
                    network_id: uuid,
                    port_id: opt_string(o, "port")?,
                    fixed_ip: opt_string(o, "fixed_ip")?,
                });
            }
            Ok(NetworkRequest::List(out))
        }
        Some(_) => Err(bad("Invalid input for field/attribute networks: expected a list or 'auto' or 'none'.")),
    }
}

/// block_device_mapping_v2, checked for shape; what the mappings may do is core's to say.
fn block_devices(v: Option<&Value>) -> Result<Vec<BlockDeviceRequest>> {
    let list = match v {
        None | Some(Value::Null) => return Ok(vec![]),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(bad("Invalid input for field/attribute block_device_mapping_v2: it must be a list.")),
    };
    list.iter()
        .map(|b| {
            let Value::Object(o) = b else {
                return Err(bad("Invalid input for field/attribute block_device_mapping_v2: each must be an object."));
            };
            let boot_index = match o.get("boot_index") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => n.as_i64(),
                Some(Value::String(s)) => {
                    Some(s.parse().map_err(|_| bad(format!("Invalid input for field/attribute boot_index: {s}.")))?)
                }
                Some(other) => return Err(bad(format!("Invalid input for field/attribute boot_index: {other}."))),
            };
            let volume_size = match o.get("volume_size") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => Some(
                    n.as_u64().ok_or_else(|| bad(format!("Invalid input for field/attribute volume_size: {n}.")))?,
                ),
                Some(Value::String(s)) => {
                    Some(s.parse().map_err(|_| bad(format!("Invalid input for field/attribute volume_size: {s}.")))?)
                }
                Some(other) => return Err(bad(format!("Invalid input for field/attribute volume_size: {other}."))),
            };
            let delete_on_termination = match o.get("delete_on_termination") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(Value::String(x)) => crate::body::query_bool(x).unwrap_or(false),
                Some(other) => {
                    return Err(bad(format!("Invalid input for field/attribute delete_on_termination: {other}.")))
                }
            };
            Ok(BlockDeviceRequest {
                source_type: opt_string(o, "source_type")?.unwrap_or_else(|| "image".into()),
                destination_type: opt_string(o, "destination_type")?.unwrap_or_else(|| "local".into()),
                uuid: opt_string(o, "uuid")?,
                boot_index,
                volume_size,
                delete_on_termination,
                device_name: opt_string(o, "device_name")?,
                volume_type: opt_string(o, "volume_type")?,
            })
        })
        .collect()
}

async fn create(Call(st, ctx): Call, mv: Mv, RequestId(rid): RequestId, body: Bytes) -> Result<Response> {
    let v = json_body(&body)?;
    let Some(Value::Object(s)) = v.get("server") else {
        return Err(bad("Invalid input for field/attribute server: 'server' is a required property."));
    };
    for k in s.keys() {
        let allowed = CREATE_KEYS.contains(&k.as_str()) && (k != "description" || mv.at_least(19));
        if !allowed {
            return Err(bad(format!(
                "Invalid input for field/attribute server. Additional properties are not allowed ('{k}' was unexpected)"
            )));
        }
    }
    let name = match s.get("name") {
        Some(Value::String(n)) => n.clone(),
        Some(_) => return Err(bad("Invalid input for field/attribute name: it must be a string.")),
        None => return Err(bad("Invalid input for field/attribute server: 'name' is a required property.")),
    };
    let flavor_ref = match s.get("flavorRef") {
        Some(Value::String(f)) if !f.is_empty() => f.rsplit('/').next().unwrap_or(f).to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(bad("Invalid input for field/attribute flavorRef: a flavor id is required.")),
    };
    let image_ref = match opt_string(s, "imageRef")? {
        Some(i) if !i.is_empty() => i.rsplit('/').next().unwrap_or(&i).to_string(),
        _ => String::new(),
    };
    let security_groups = match s.get("security_groups") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a
            .iter()
            .map(|g| g.get("name").and_then(Value::as_str).map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("Invalid input for field/attribute security_groups: each needs a name."))?,
        Some(_) => return Err(bad("Invalid input for field/attribute security_groups: it must be a list.")),
    };
    if let Some(ud) = opt_string(s, "user_data")? {
        use base64::Engine;
        if ud.len() > 65535 || base64::engine::general_purpose::STANDARD.decode(ud.trim()).is_err() {
            return Err(bad("Invalid input for field/attribute user_data: it must be base64 of at most 65535 bytes."));
        }
    }
    let config_drive = match s.get("config_drive") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(x)) => crate::body::query_bool(x).unwrap_or(false),
        Some(_) => return Err(bad("Invalid input for field/attribute config_drive.")),
    };
    let hints = v.get("os:scheduler_hints").or_else(|| v.get("OS-SCH-HNT:scheduler_hints"));
    let req = CreateRequest {
        name,
        image_ref,
        flavor_ref,
        networks: parse_networks(s.get("networks"), mv)?,
        key_name: opt_string(s, "key_name")?,
        user_data: opt_string(s, "user_data")?,
        metadata: string_map(s.get("metadata"), "metadata")?,
        availability_zone: opt_string(s, "availability_zone")?,
        security_groups,
        min_count: int_like(s, "min_count")?.unwrap_or(1),
        max_count: int_like(s, "max_count")?.unwrap_or(0),
        tags: vec![],
        access_ipv4: opt_string(s, "accessIPv4")?,
        access_ipv6: opt_string(s, "accessIPv6")?,
        description: opt_string(s, "description")?,
        config_drive,
        server_group: hints.and_then(|h| h.get("group")).and_then(Value::as_str).map(str::to_string),
        block_devices: block_devices(s.get("block_device_mapping_v2"))?,
        request_id: rid,
    };
    let return_reservation = match s.get("return_reservation_id") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(x)) => crate::body::query_bool(x).unwrap_or(false),
        _ => false,
    };
    let created = st.compute.server_create(&ctx, req).await?;
    if return_reservation {
        return Ok(
            (StatusCode::ACCEPTED, axum::Json(json!({"reservation_id": created.reservation_id}))).into_response()
        );
    }
    let first = created.servers.first().ok_or_else(|| bad("No server was created."))?;
    let base = st.public_url().to_string();
    let body = json!({"server": {
        "id": first.id,
        "links": views::links(&base, &format!("/servers/{}", first.id)),
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": first.security_groups.iter().map(|n| json!({"name": n})).collect::<Vec<_>>(),
    }});
    let mut resp = (StatusCode::ACCEPTED, axum::Json(body)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!("{base}{}", path(&format!("/servers/{}", first.id)))) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

const STATUSES: &[&str] = &[
    "ACTIVE",
    "BUILD",
    "DELETED",
    "ERROR",
    "HARD_REBOOT",
    "MIGRATING",
    "PASSWORD",
    "PAUSED",
    "REBOOT",
    "REBUILD",
    "RESCUE",
    "RESIZE",
    "REVERT_RESIZE",
    "SHELVED",
    "SHELVED_OFFLOADED",
    "SHUTOFF",
    "SOFT_DELETED",
    "SUSPENDED",
    "UNKNOWN",
    "VERIFY_RESIZE",
];

fn split_list(v: &str) -> Vec<String> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn parse_query(raw: Option<&str>, mv: Mv) -> Result<(ListQuery, Vec<(String, String)>)> {
    let pairs: Vec<(String, String)> = raw
        .map(|q| form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        .unwrap_or_default();
    let mut q = ListQuery::default();
    for (k, v) in &pairs {
        match k.as_str() {
            "name" => q.name = Some(v.clone()),
            "status" => {
                let up = v.to_ascii_uppercase();
                if !STATUSES.contains(&up.as_str()) && mv.at_least(38) {
                    return Err(bad(format!("Invalid status value: {v}")));
                }
                if up == "DELETED" {
                    q.deleted = true;
                }
                q.status = Some(up);
            }
            "flavor" => q.flavor = Some(v.rsplit('/').next().unwrap_or(v).to_string()),
            "image" => q.image = Some(v.rsplit('/').next().unwrap_or(v).to_string()),
            "ip" => q.ip = Some(v.clone()),
            "ip6" => q.ip6 = Some(v.clone()),
            "changes-since" => q.changes_since = Some(v.clone()),
            "changes-before" => q.changes_before = Some(v.clone()),
            "availability_zone" => q.availability_zone = Some(v.clone()),
            "tags" => q.tags = split_list(v),
            "tags-any" => q.tags_any = split_list(v),
            "not-tags" => q.not_tags = split_list(v),
            "not-tags-any" => q.not_tags_any = split_list(v),
            "all_tenants" => q.all_tenants = crate::body::query_bool(v).unwrap_or(true),
            "project_id" | "tenant_id" => q.project_id = Some(v.clone()),
            "deleted" => q.deleted = crate::body::query_bool(v).unwrap_or(false),
            "limit" => {
                q.limit =
                    Some(v.parse::<i64>().map_err(|_| {
                        bad(format!("Invalid input for query parameters limit: '{v}' is not an integer."))
                    })?)
            }
            "marker" => q.marker = Some(v.clone()),
            _ => {}
        }
    }
    Ok((q, pairs))
}

async fn listing(
    st: AppState,
    ctx: &hybridstack_core::policy::RequestContext,
    raw: Option<String>,
    mv: Mv,
    detail: bool,
) -> Result<Response> {
    let (q, pairs) = parse_query(raw.as_deref(), mv)?;
    let servers = st.compute.server_list(ctx, &q).await?;
    let base = st.public_url().to_string();
    let key = if detail { "/servers/detail" } else { "/servers" };
    let limit = q.limit.unwrap_or(hybridstack_core::compute::SERVERS_MAX_LIMIT);
    let mut servers_links = None;
    if let Some(last) = servers.last() {
        if i64::try_from(servers.len()).unwrap_or(0) >= limit && limit > 0 {
            let mut next: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k != "marker").collect();
            next.push(("marker".into(), last.id.clone()));
            let qs = form_urlencoded::Serializer::new(String::new()).extend_pairs(next).finish();
            servers_links = Some(json!([{"rel": "next", "href": format!("{base}{}?{qs}", path(key))}]));
        }
    }
    if detail {
        let zone = |s: &Server| st.compute.clouds.zone_of(&s.cloud);
        let servers = servers.iter().map(|s| views::server(&base, s, zone(s), ctx, mv)).collect();
        Ok(axum::Json(Page { servers, servers_links }).into_response())
    } else {
        let servers = servers.iter().map(|s| views::server_brief(&base, s)).collect();
        Ok(axum::Json(Page { servers, servers_links }).into_response())
    }
}

#[derive(serde::Serialize)]
struct Page<T> {
    servers: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    servers_links: Option<Value>,
}

async fn list(Call(st, ctx): Call, mv: Mv, RawQuery(raw): RawQuery) -> Result<Response> {
    listing(st, &ctx, raw, mv, false).await
}

async fn detail(Call(st, ctx): Call, mv: Mv, RawQuery(raw): RawQuery) -> Result<Response> {
    listing(st, &ctx, raw, mv, true).await
}

async fn show(Call(st, ctx): Call, mv: Mv, Path(id): Path<String>) -> Result<Response> {
    let s = st.compute.server_get(&ctx, &id).await?;
    let zone = st.compute.clouds.zone_of(&s.cloud);
    Ok(axum::Json(json!({"server": views::server(st.public_url(), &s, zone, &ctx, mv)})).into_response())
}

async fn update(Call(st, ctx): Call, mv: Mv, Path(id): Path<String>, body: Bytes) -> Result<Response> {
    let v = json_body(&body)?;
    let Some(Value::Object(s)) = v.get("server") else {
        return Err(bad("Invalid input for field/attribute server: 'server' is a required property."));
    };
    let mut u = ServerUpdate::default();
    for (k, val) in s {
        match k.as_str() {
            "name" => match val {
                Value::String(n) => u.name = Some(n.clone()),
                _ => return Err(bad("Invalid input for field/attribute name: it must be a string.")),
            },
            "accessIPv4" => u.access_ipv4 = opt_string(s, k)?,
            "accessIPv6" => u.access_ipv6 = opt_string(s, k)?,
            "description" if mv.at_least(19) => u.description = Some(opt_string(s, k)?),
            "OS-DCF:diskConfig" => {}
            other => {
                return Err(bad(format!(
                    "Invalid input for field/attribute server. Additional properties are not allowed ('{other}' was unexpected)"
                )))
            }
        }
    }
    let s = st.compute.server_update(&ctx, &id, u).await?;
    Ok(axum::Json(json!({"server": views::server_short(st.public_url(), &s, mv)})).into_response())
}

async fn remove(Call(st, ctx): Call, RequestId(rid): RequestId, Path(id): Path<String>) -> Result<Response> {
    st.compute.server_delete(&ctx, &id, &rid).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
