//! `POST /servers/{id}/action`: one body key names the action.

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hybridstack_core::compute::ServerAction;
use serde_json::{json, Map, Value};

use super::servers::string_map;
use super::{accepted, bad, json_body, path, views, Mv, Result};
use crate::auth::Call;
use crate::request_id::RequestId;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(&path("/servers/{id}/action"), post(action))
}

fn args(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn opt_str(m: &Map<String, Value>, k: &str) -> Result<Option<String>> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!("Invalid input for field/attribute {k}: it must be a string."))),
    }
}

fn reference(m: &Map<String, Value>, k: &str) -> Result<String> {
    match m.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.rsplit('/').next().unwrap_or(s).to_string()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(bad(format!("Invalid input for field/attribute {k}: it is required."))),
    }
}

async fn action(
    Call(st, ctx): Call,
    mv: Mv,
    RequestId(rid): RequestId,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let v = json_body(&body)?;
    let Some(obj) = v.as_object().filter(|o| o.len() == 1) else {
        return Err(bad("The action body must hold exactly one action."));
    };
    let Some((name, a)) = obj.iter().next() else { return Err(bad("The action body must hold exactly one action.")) };
    let a = args(a);
    let act = match name.as_str() {
        "os-start" => ServerAction::Start,
        "os-stop" => ServerAction::Stop,
        "reboot" => match a.get("type").and_then(Value::as_str).map(str::to_ascii_uppercase).as_deref() {
            Some("HARD") => ServerAction::Reboot { hard: true },
            Some("SOFT") => ServerAction::Reboot { hard: false },
            _ => return Err(bad("Invalid input for field/attribute type: use SOFT or HARD.")),
        },
        "pause" => ServerAction::Pause,
        "unpause" => ServerAction::Unpause,
        "suspend" => ServerAction::Suspend,
        "resume" => ServerAction::Resume,
        "lock" => ServerAction::Lock { reason: if mv.at_least(73) { opt_str(&a, "locked_reason")? } else { None } },
        "unlock" => ServerAction::Unlock,
        "rebuild" => {
            let description =
                if mv.at_least(19) && a.contains_key("description") { Some(opt_str(&a, "description")?) } else { None };
            ServerAction::Rebuild {
                image_ref: reference(&a, "imageRef")?,
                name: match a.get("name") {
                    None => None,
                    Some(Value::String(n)) => Some(n.clone()),
                    Some(_) => return Err(bad("Invalid input for field/attribute name: it must be a string.")),
                },
                metadata: if a.contains_key("metadata") {
                    Some(string_map(a.get("metadata"), "metadata")?)
                } else {
                    None
                },
                access_ipv4: opt_str(&a, "accessIPv4")?,
                access_ipv6: opt_str(&a, "accessIPv6")?,
                description,
            }
        }
        "resize" => match a.get("flavorRef") {
            None | Some(Value::Null) => {
                return Err(bad("Invalid input for field/attribute flavorRef: it is required."))
            }
            _ => ServerAction::Resize { flavor_ref: reference(&a, "flavorRef")? },
        },
        "confirmResize" => {
            st.compute.server_action(&ctx, &id, ServerAction::ConfirmResize, &rid).await?;
            return Ok(axum::http::StatusCode::NO_CONTENT.into_response());
        }
        "addSecurityGroup" | "removeSecurityGroup" => {
            let group = a.get("name").and_then(Value::as_str).ok_or_else(|| bad("Security group name is required."))?;
            st.compute.server_security_group(&ctx, &id, group, name == "addSecurityGroup").await?;
            return Ok(accepted());
        }
        "revertResize" => ServerAction::RevertResize,
        "createImage" => ServerAction::CreateImage {
            name: match a.get("name") {
                Some(Value::String(n)) => n.clone(),
                _ => return Err(bad("Invalid input for field/attribute name: it is required.")),
            },
            metadata: string_map(a.get("metadata"), "metadata")?,
        },
        "os-getConsoleOutput" => {
            let length = match a.get("length") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => match n.as_i64() {
                    Some(-1) => None,
                    Some(l) if l >= 0 => usize::try_from(l).ok(),
                    _ => return Err(bad("Invalid input for field/attribute length.")),
                },
                Some(Value::String(s)) => match s.parse::<i64>() {
                    Ok(-1) => None,
                    Ok(l) if l >= 0 => usize::try_from(l).ok(),
                    _ => return Err(bad("Invalid input for field/attribute length.")),
                },
                Some(_) => return Err(bad("Invalid input for field/attribute length.")),
            };
            let out = st.compute.console_output(&ctx, &id, length).await?;
            return Ok(axum::Json(json!({"output": out})).into_response());
        }
        other => {
            return Err(bad(format!("There is no such action: {other}")));
        }
    };
    let rebuild = matches!(act, ServerAction::Rebuild { .. });
    let image = st.compute.server_action(&ctx, &id, act, &rid).await?;
    if rebuild {
        let s = st.compute.server_get(&ctx, &id).await?;
        let body = json!({"server": views::server_short(st.public_url(), &s, mv)});
        return Ok((axum::http::StatusCode::ACCEPTED, axum::Json(body)).into_response());
    }
    let mut resp = accepted();
    if let Some(image_id) = image {
        let loc = format!("{}/image/v2/images/{image_id}", st.public_url());
        if let Ok(h) = HeaderValue::from_str(&loc) {
            resp.headers_mut().insert(header::LOCATION, h);
        }
    }
    Ok(resp)
}
