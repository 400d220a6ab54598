//! `…/{id}/metadata` and `…/{id}/metadata/{key}` for volumes and snapshots alike: show,
//! merge (POST), replace (PUT), and one item's show, set and delete. Also the body parsing
//! both resources share (a metadata object of strings, Cinder's boolean forms).

use std::collections::BTreeMap;

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::policy::RequestContext;
use hybridstack_core::volume::Edit;
use hybridstack_core::CoreError;
use serde_json::{json, Value};

use super::{route, InProject, Result};
use crate::compute::{bad, json_body, NovaError};
use crate::AppState;

/// Whose metadata a route serves.
#[derive(Debug, Clone, Copy)]
pub(super) enum Owner {
    Volume,
    Snapshot,
}

impl Owner {
    fn path(self) -> &'static str {
        match self {
            Owner::Volume => "/volumes",
            Owner::Snapshot => "/snapshots",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Owner::Volume => "Volume",
            Owner::Snapshot => "Snapshot",
        }
    }

    async fn get(self, st: &AppState, ctx: &RequestContext, id: &str) -> Result<BTreeMap<String, String>> {
        let v = &st.compute.volumes;
        Ok(match self {
            Owner::Volume => v.volume_get(ctx, id).await?.metadata,
            Owner::Snapshot => v.snapshot_get(ctx, id).await?.metadata,
        })
    }

    async fn set(
        self,
        st: &AppState,
        ctx: &RequestContext,
        id: &str,
        m: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>> {
        let v = &st.compute.volumes;
        Ok(match self {
            Owner::Volume => v.volume_update(ctx, id, Edit { metadata: Some(m), ..Edit::default() }).await?.metadata,
            Owner::Snapshot => {
                v.snapshot_update(ctx, id, Edit { metadata: Some(m), ..Edit::default() }).await?.metadata
            }
        })
    }

    fn no_key(self, id: &str, key: &str) -> NovaError {
        NovaError(CoreError::NotFound(format!("{} {id} has no metadata with key {key}.", self.what())))
    }
}

pub(super) fn router(owner: Owner) -> Router<AppState> {
    let base = owner.path();
    Router::new()
        .route(
            &route(&format!("{base}/{{id}}/metadata")),
            get(move |c, p| show(owner, c, p))
                .post(move |c, p, b| set::<true>(owner, c, p, b))
                .put(move |c, p, b| set::<false>(owner, c, p, b)),
        )
        .route(
            &route(&format!("{base}/{{id}}/metadata/{{key}}")),
            get(move |c, p| item(owner, c, p))
                .put(move |c, p, b| item_set(owner, c, p, b))
                .delete(move |c, p| item_delete(owner, c, p)),
        )
}

/// A metadata object of strings under `key` in a body value; `None` when absent or null.
pub(super) fn parse(v: &Value, key: &str) -> Result<Option<BTreeMap<String, String>>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => {
                    Err(bad(format!("Invalid input received: metadata value of {k} must be a string, not {other}.")))
                }
            })
            .collect::<Result<BTreeMap<_, _>>>()
            .map(Some),
        Some(_) => Err(bad(format!("Invalid input received: {key} must be an object."))),
    }
}

/// Cinder's boolean arguments, as JSON booleans or their string forms; `None` when absent.
pub(super) fn boolean(v: &Value, key: &str) -> Result<Option<bool>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "y" | "t" => Ok(Some(true)),
            "false" | "0" | "no" | "off" | "n" | "f" => Ok(Some(false)),
            _ => Err(bad(format!("Invalid input received: {key} {s:?} is not a boolean."))),
        },
        Some(other) => Err(bad(format!("Invalid input received: {key} {other} is not a boolean."))),
    }
}

fn body_map(body: &[u8], key: &str) -> Result<BTreeMap<String, String>> {
    parse(&json_body(body)?, key)?.ok_or_else(|| bad(format!("The request body must hold a {key} object.")))
}

async fn show(owner: Owner, InProject(st, ctx): InProject, Path((_, id)): Path<(String, String)>) -> Result<Response> {
    Ok(axum::Json(json!({"metadata": owner.get(&st, &ctx, &id).await?})).into_response())
}

/// POST merges the body's keys into the metadata (`MERGE`); PUT replaces it whole.
async fn set<const MERGE: bool>(
    owner: Owner,
    InProject(st, ctx): InProject,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    let mut m = body_map(&body, "metadata")?;
    if MERGE {
        let mut all = owner.get(&st, &ctx, &id).await?;
        all.extend(m);
        m = all;
    }
    Ok(axum::Json(json!({"metadata": owner.set(&st, &ctx, &id, m).await?})).into_response())
}

async fn item(
    owner: Owner,
    InProject(st, ctx): InProject,
    Path((_, id, key)): Path<(String, String, String)>,
) -> Result<Response> {
    let m = owner.get(&st, &ctx, &id).await?;
    let val = m.get(&key).ok_or_else(|| owner.no_key(&id, &key))?;
    Ok(axum::Json(json!({"meta": {key: val}})).into_response())
}

async fn item_set(
    owner: Owner,
    InProject(st, ctx): InProject,
    Path((_, id, key)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response> {
    let item = body_map(&body, "meta")?;
    if item.len() != 1 || !item.contains_key(&key) {
        return Err(bad("Request body and URI mismatch"));
    }
    let mut m = owner.get(&st, &ctx, &id).await?;
    m.extend(item.clone());
    owner.set(&st, &ctx, &id, m).await?;
    Ok(axum::Json(json!({"meta": item})).into_response())
}

async fn item_delete(
    owner: Owner,
    InProject(st, ctx): InProject,
    Path((_, id, key)): Path<(String, String, String)>,
) -> Result<Response> {
    let mut m = owner.get(&st, &ctx, &id).await?;
    m.remove(&key).ok_or_else(|| owner.no_key(&id, &key))?;
    owner.set(&st, &ctx, &id, m).await?;
    Ok(StatusCode::OK.into_response())
}
