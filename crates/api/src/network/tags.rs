//! `/v2.0/{resources}/{id}/tags[/{tag}]` for every taggable resource.

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use hybridstack_core::network::TagOp;
use hybridstack_core::CoreError;
use serde_json::{json, Value};

use super::{path, NeutronError, Result};
use crate::auth::Call;
use crate::AppState;

const TAGGABLE: &[&str] = &["networks", "subnets", "ports", "routers", "floatingips", "security-groups", "subnetpools"];

fn tags_body(body: &Bytes) -> Result<Vec<String>> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        NeutronError(CoreError::BadRequest(format!("InvalidInput: The request body is not valid JSON: {e}")))
    })?;
    v.get("tags")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().map(|t| t.as_str().map(str::to_string)).collect::<Option<Vec<_>>>())
        .ok_or_else(|| {
            NeutronError(CoreError::BadRequest(
                "InvalidInput: Invalid input for tags. Reason: a list of strings is required.".into(),
            ))
        })
}

pub(super) fn router() -> Router<AppState> {
    let mut r = Router::new();
    for kind in TAGGABLE {
        let all = path(&format!("/{kind}/{{id}}/tags"));
        let one = path(&format!("/{kind}/{{id}}/tags/{{tag}}"));
        r = r
            .route(
                &all,
                get(move |Call(s, c): Call, Path(id): Path<String>| async move {
                    Ok::<_, NeutronError>(
                        axum::Json(json!({"tags": s.networking.tags(&c, kind, &id, TagOp::Read).await?}))
                            .into_response(),
                    )
                })
                .put(move |Call(s, c): Call, Path(id): Path<String>, body: Bytes| async move {
                    let list = tags_body(&body)?;
                    Ok::<_, NeutronError>(
                        axum::Json(json!({"tags": s.networking.tags(&c, kind, &id, TagOp::Replace(list)).await?}))
                            .into_response(),
                    )
                })
                .delete(move |Call(s, c): Call, Path(id): Path<String>| async move {
                    s.networking.tags(&c, kind, &id, TagOp::Clear).await?;
                    Ok::<_, NeutronError>(StatusCode::NO_CONTENT.into_response())
                }),
            )
            .route(
                &one,
                get(move |Call(s, c): Call, Path((id, tag)): Path<(String, String)>| async move {
                    let tags = s.networking.tags(&c, kind, &id, TagOp::Read).await?;
                    if tags.contains(&tag) {
                        Ok::<_, NeutronError>(StatusCode::NO_CONTENT.into_response())
                    } else {
                        Err(NeutronError(CoreError::NotFound(format!(
                            "TagNotFound: Tag {tag} could not be found for {kind} {id}."
                        ))))
                    }
                })
                .put(move |Call(s, c): Call, Path((id, tag)): Path<(String, String)>| async move {
                    s.networking.tags(&c, kind, &id, TagOp::Add(tag)).await?;
                    Ok::<_, NeutronError>(StatusCode::CREATED.into_response())
                })
                .delete(move |Call(s, c): Call, Path((id, tag)): Path<(String, String)>| async move {
                    s.networking.tags(&c, kind, &id, TagOp::Remove(tag)).await?;
                    Ok::<_, NeutronError>(StatusCode::NO_CONTENT.into_response())
                }),
            );
    }
    r
}
