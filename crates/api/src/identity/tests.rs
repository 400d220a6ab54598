//! HTTP-level behaviour clients depend on: status codes, Keystone's error body, empty HEAD
//! and 204 bodies, request ids, and `GET` echoing exactly what `POST` issued.

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::testing::{app, App};

async fn call(app: &App, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let resp = app.router.clone().oneshot(req).await.expect("infallible");
    let (parts, body) = resp.into_parts();
    (parts.status, parts.headers, to_bytes(body, 1 << 20).await.expect("body").to_vec())
}

fn req(method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri).header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("x-auth-token", t);
    }
    b.body(body.map(|v| Body::from(v.to_string())).unwrap_or_default()).expect("request")
}

async fn admin_token(app: &App) -> (String, Value) {
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
        "domain": {"id": "default"}, "password": "pw"}}}, "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}});
    let (status, headers, bytes) = call(app, req("POST", "/identity/v3/auth/tokens", None, Some(body))).await;
    assert_eq!(status, StatusCode::CREATED);
    let token = headers.get("x-subject-token").and_then(|v| v.to_str().ok()).expect("subject token").to_string();
    (token, serde_json::from_slice(&bytes).expect("json"))
}

#[tokio::test]
async fn discovery_documents_have_keystones_shape() {
    let app = app().await;
    let (status, headers, bytes) = call(&app, req("GET", "/identity", None, None)).await;
    assert_eq!(status, StatusCode::MULTIPLE_CHOICES);
    assert!(headers.contains_key("x-openstack-request-id"));
    let v: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(v["versions"]["values"][0]["links"][0]["href"], "http://test/identity/v3/");
    let (status, _, bytes) = call(&app, req("GET", "/identity/v3/", None, None)).await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(v["version"]["media-types"][0]["type"], "application/vnd.openstack.identity-v3+json");
}

#[tokio::test]
async fn errors_use_keystones_body_and_carry_request_ids() {
    let app = app().await;
    let (status, headers, bytes) = call(&app, req("GET", "/identity/v3/projects", None, None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let id = headers.get("x-openstack-request-id").and_then(|v| v.to_str().ok()).expect("request id");
    assert!(id.starts_with("req-"));
    let v: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(v["error"]["code"], 401);
    assert_eq!(v["error"]["title"], "Unauthorized");

    let (token, _) = admin_token(&app).await;
    let bad = Request::builder()
        .method("POST")
        .uri("/identity/v3/projects")
        .header("x-auth-token", &token)
        .body(Body::from("{not json"))
        .expect("request");
    let (status, _, bytes) = call(&app, bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(serde_json::from_slice::<Value>(&bytes).expect("json")["error"]["code"], 400);

    let (status, _, bytes) = call(&app, req("GET", "/identity/v3/nowhere", Some(&token), None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(serde_json::from_slice::<Value>(&bytes).expect("json")["error"]["code"], 404);

    let (status, _, _) =
        call(&app, req("POST", "/identity/v3/projects", Some(&token), Some(json!({"project": {"name": 5}})))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn validation_echoes_the_issued_token_and_head_is_empty() {
    let app = app().await;
    let (token, issued) = admin_token(&app).await;
    let mut get = req("GET", "/identity/v3/auth/tokens", Some(&token), None);
    get.headers_mut().insert("x-subject-token", token.parse().expect("header"));
    let (status, headers, bytes) = call(&app, get).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get("x-subject-token").and_then(|v| v.to_str().ok()), Some(token.as_str()));
    assert_eq!(serde_json::from_slice::<Value>(&bytes).expect("json"), issued);

    let mut head = req("HEAD", "/identity/v3/auth/tokens", Some(&token), None);
    head.headers_mut().insert("x-subject-token", "garbage".parse().expect("header"));
    let (status, _, bytes) = call(&app, head).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(bytes.is_empty());

    let (status, _, bytes) =
        call(&app, req("PUT", "/identity/v3/projects/x/users/y/roles/z", Some(&token), None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{}", String::from_utf8_lossy(&bytes));
}

#[tokio::test]
async fn grants_made_over_http_show_in_effective_assignments() {
    let app = app().await;
    let (token, _) = admin_token(&app).await;
    let (_, _, b) =
        call(&app, req("POST", "/identity/v3/projects", Some(&token), Some(json!({"project": {"name": "p"}})))).await;
    let project = serde_json::from_slice::<Value>(&b).expect("json")["project"]["id"].as_str().expect("id").to_string();
    let (_, _, b) =
        call(&app, req("POST", "/identity/v3/groups", Some(&token), Some(json!({"group": {"name": "g"}})))).await;
    let group = serde_json::from_slice::<Value>(&b).expect("json")["group"]["id"].as_str().expect("id").to_string();
    let (_, _, b) = call(
        &app,
        req("POST", "/identity/v3/users", Some(&token), Some(json!({"user": {"name": "u", "password": "x"}}))),
    )
    .await;
    let user = serde_json::from_slice::<Value>(&b).expect("json")["user"]["id"].as_str().expect("id").to_string();
    let (_, _, b) = call(&app, req("GET", "/identity/v3/roles?name=member", Some(&token), None)).await;
    let roles = serde_json::from_slice::<Value>(&b).expect("json");
    assert_eq!(roles["roles"].as_array().map(Vec::len), Some(1));
    let member = roles["roles"][0]["id"].as_str().expect("id").to_string();
    let (s, _, _) =
        call(&app, req("PUT", &format!("/identity/v3/groups/{group}/users/{user}"), Some(&token), None)).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = call(
        &app,
        req("PUT", &format!("/identity/v3/projects/{project}/groups/{group}/roles/{member}"), Some(&token), None),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let uri = format!("/identity/v3/role_assignments?effective&user.id={user}&include_names");
    let (s, _, b) = call(&app, req("GET", &uri, Some(&token), None)).await;
    assert_eq!(s, StatusCode::OK);
    let v: Value = serde_json::from_slice(&b).expect("json");
    let mut names: Vec<&str> =
        v["role_assignments"].as_array().expect("list").iter().filter_map(|a| a["role"]["name"].as_str()).collect();
    names.sort();
    assert_eq!(names, ["member", "reader"], "the group grant reaches the user, with implied roles: {v}");
    assert!(v["role_assignments"][0]["links"]["membership"].is_string());
}

#[tokio::test]
async fn cached_validation_documents_follow_identity_changes() {
    let app = app().await;
    let (token, issued) = admin_token(&app).await;
    let validate = || {
        let mut r = req("GET", "/identity/v3/auth/tokens", Some(&token), None);
        r.headers_mut().insert("x-subject-token", token.parse().expect("header"));
        r
    };
    for _ in 0..2 {
        let (status, _, bytes) = call(&app, validate()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            serde_json::from_slice::<Value>(&bytes).expect("json"),
            issued,
            "first render and cached copy agree"
        );
    }
    let user = issued["token"]["user"]["id"].as_str().expect("user id").to_string();
    let body = json!({"user": {"description": "renamed below", "name": "root"}});
    let (status, _, _) =
        call(&app, req("PATCH", &format!("/identity/v3/users/{user}"), Some(&token), Some(body))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, bytes) = call(&app, validate()).await;
    let after: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(after["token"]["user"]["name"], "root", "a rename reaches the cached document");
}
