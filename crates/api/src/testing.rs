//! An in-process API over a fresh SQLite store with the bootstrap admin's token, for the
//! HTTP-level tests of each service.

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use axum::Router;
use hybridstack_core::identity::{bootstrap, Identity, IdentityConfig};
use hybridstack_core::images::Images;
use hybridstack_core::keys::Keys;
use hybridstack_core::network::Networking;
use hybridstack_core::secrets::PasswordHasher;
use hybridstack_store::testing;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::{router, AppState};

pub(crate) struct App {
    pub router: Router,
    pub token: String,
    pub store: testing::TestStore,
    _dir: tempfile::TempDir,
}

pub(crate) async fn app() -> App {
    let t = testing::sqlite().await;
    let dir = tempfile::tempdir().expect("tempdir");
    Keys::create_missing(dir.path()).expect("keys");
    let h = PasswordHasher::new(4).expect("cost");
    bootstrap(&t.store, h, "pw", "http://test", "RegionOne").await.expect("bootstrap");
    let cfg = IdentityConfig { public_url: "http://test".into(), ..Default::default() };
    let identity =
        Identity::new(t.store.clone(), Keys::load(dir.path()).expect("load"), h, cfg).await.expect("identity");
    let images = {
        let clouds = hybridstack_core::clouds::Clouds::new(
            t.store.clone(),
            std::sync::Arc::new(hybridstack_core::clouds::NoDrivers),
        );
        Images::open(t.store.clone(), dir.path(), Default::default(), clouds)
    }
    .expect("images");
    let router = router({
        let networking = Networking::new(t.store.clone(), images.clouds().clone());
        let compute =
            hybridstack_core::compute::Compute::without_clouds(t.store.clone(), images.clone(), networking.clone());
        AppState::new(identity, images, networking, compute)
    });
    let token = token_for(&router, "admin", "pw", "admin").await;
    App { router, token, store: t, _dir: dir }
}

/// A project-scoped token for a user of the default domain.
pub(crate) async fn token_for(router: &Router, user: &str, password: &str, project: &str) -> String {
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": user,
        "domain": {"id": "default"}, "password": password}}}, "scope": {"project": {"name": project, "domain": {"id": "default"}}}}});
    let resp = router
        .clone()
        .oneshot(Request::post("/identity/v3/auth/tokens").body(Body::from(body.to_string())).expect("req"))
        .await
        .expect("infallible");
    resp.headers().get("x-subject-token").and_then(|v| v.to_str().ok()).expect("token").to_string()
}

pub(crate) async fn call(app: &App, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let (s, _, v) = call_with(app, &app.token, method, uri, &[], body).await;
    (s, v)
}

/// A request with the given token and extra headers; the status, the response's headers and
/// its JSON body (`Null` when it has none).
pub(crate) async fn call_with(
    app: &App,
    token: &str,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("x-auth-token", token)
        .header("content-type", "application/json");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let resp = app
        .router
        .clone()
        .oneshot(b.body(body.map(|v| Body::from(v.to_string())).unwrap_or_default()).expect("req"))
        .await
        .expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = to_bytes(resp.into_body(), 1 << 20).await.expect("body");
    (status, headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}
