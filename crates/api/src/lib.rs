//! The HTTP face: one router module per OpenStack service, mounted under the path prefixes
//! devstack uses (`/identity`, …), plus the cross-cutting layers every request passes:
//! request ids, access logging and OpenStack-shaped errors.

mod auth;
mod body;
mod error;
pub mod identity;
pub mod images;
pub mod network;
mod request_id;

use std::sync::Arc;

use axum::Router;
use hybridstack_core::identity::Identity;
use hybridstack_core::images::Images;
use hybridstack_core::network::Networking;

pub use error::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub identity: Arc<Identity>,
    pub images: Arc<Images>,
    pub networking: Arc<Networking>,
    token_docs: Arc<identity::TokenDocs>,
}

impl AppState {
    pub fn new(identity: Arc<Identity>, images: Arc<Images>, networking: Arc<Networking>) -> Self {
        Self { identity, images, networking, token_docs: Default::default() }
    }

    /// The externally reachable base URL, without a trailing slash.
    pub fn public_url(&self) -> &str {
        self.identity.config().public_url.trim_end_matches('/')
    }
}

/// Every API this binary serves, on one listener.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(identity::router())
        .merge(images::router())
        .merge(network::router())
        .fallback(error::not_found_fallback)
        .layer(axum::middleware::from_fn(request_id::layer))
        .with_state(state)
}
