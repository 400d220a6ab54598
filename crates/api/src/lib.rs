//! The HTTP face: one router module per OpenStack service, mounted under the path prefixes
//! devstack uses (`/identity`, …), plus the cross-cutting layers every request passes:
//! request ids, access logging, OpenStack-shaped errors and the reader-writes refusal
//! (`write_policy`). `toolkit` is the one list/show/create/update/delete skeleton resources
//! share (Keystone's and Neutron's, Cinder's volumes, snapshots and types, Nova's flavors and
//! server groups); each service keeps its own error body, microversion and list shape. It
//! names core's types only, though the identity and image ones are still the store's rows
//! re-exported by core.

mod auth;
mod body;
pub mod compute;
mod error;
pub mod identity;
pub mod images;
pub mod network;
mod request_id;
mod routes;
#[cfg(test)]
mod testing;
mod toolkit;
pub mod volume;
mod write_policy;

use std::sync::Arc;

use hybridstack_core::compute::Compute;
use hybridstack_core::identity::Identity;
use hybridstack_core::images::Images;
use hybridstack_core::network::Networking;

pub use error::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub identity: Arc<Identity>,
    pub images: Arc<Images>,
    pub networking: Arc<Networking>,
    pub compute: Arc<Compute>,
    token_docs: Arc<identity::TokenDocs>,
    /// The v2.1 compute router as the legacy v2.0 endpoint dispatches to it, built once.
    legacy_compute: Arc<std::sync::OnceLock<axum::Router>>,
}

impl AppState {
    pub fn new(
        identity: Arc<Identity>,
        images: Arc<Images>,
        networking: Arc<Networking>,
        compute: Arc<Compute>,
    ) -> Self {
        Self {
            identity,
            images,
            networking,
            compute,
            token_docs: Default::default(),
            legacy_compute: Default::default(),
        }
    }

    /// The externally reachable base URL, without a trailing slash.
    pub fn public_url(&self) -> &str {
        self.identity.config().public_url.trim_end_matches('/')
    }
}

/// Every API this binary serves, on one listener.
pub fn router(state: AppState) -> axum::Router {
    let (routes, _) = routes().into_parts();
    routes
        // Before every route (and only routes): a reader's write is refused here.
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), write_policy::layer))
        .fallback(error::not_found_fallback)
        .layer(axum::middleware::from_fn(request_id::layer))
        .with_state(state)
}

fn routes() -> routes::Router {
    routes::Router::new()
        .merge(identity::router())
        .merge(images::router())
        .merge(network::router())
        .merge(compute::router())
        .merge(volume::router())
}

/// The path pattern of every route `router` serves.
#[cfg(test)]
pub(crate) fn route_paths() -> Vec<String> {
    routes().into_parts().1
}
