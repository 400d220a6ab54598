//! Glance v2 at `/image`. One module per resource.

mod data;
mod error;
mod image;
mod import;
mod members;
mod schemas;
mod tags;
mod versions;

#[cfg(test)]
mod tests;

use crate::routes::Router;

use crate::AppState;

pub(crate) const PREFIX: &str = "/image";

pub use error::GlanceError;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(versions::router())
        .merge(image::router())
        .merge(data::router())
        .merge(import::router())
        .merge(members::router())
        .merge(tags::router())
        .merge(schemas::router())
}

/// `/image/v2` + `rest`.
pub(crate) fn path(rest: &str) -> String {
    format!("{PREFIX}/v2{rest}")
}

/// Glance's timestamps: whole seconds, `Z`.
pub(crate) fn ts(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}
