//! HTTP-level behaviour of the image API that clients depend on.

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::testing::{app, App};

async fn call(
    app: &App,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut b = Request::builder().method(method).uri(uri).header("x-auth-token", &app.token);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let resp = app.router.clone().oneshot(b.body(Body::from(body)).expect("req")).await.expect("infallible");
    let (parts, body) = resp.into_parts();
    (parts.status, parts.headers, to_bytes(body, 1 << 24).await.expect("body").to_vec())
}

async fn create(app: &App) -> String {
    let body = json!({"name": "x", "disk_format": "raw", "container_format": "bare"}).to_string().into_bytes();
    let (s, _, b) = call(app, "POST", "/image/v2/images", &[("content-type", "application/json")], body).await;
    assert_eq!(s, StatusCode::CREATED);
    serde_json::from_slice::<Value>(&b).expect("json")["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn data_round_trips_with_ranges_and_no_data_is_204() {
    let app = app().await;
    let id = create(&app).await;
    let file = format!("/image/v2/images/{id}/file");
    let (s, _, b) = call(&app, "GET", &file, &[], vec![]).await;
    assert_eq!((s, b.len()), (StatusCode::NO_CONTENT, 0));
    let data: Vec<u8> = (0..5000u32).map(|n| n as u8).collect();
    let (s, _, _) = call(&app, "PUT", &file, &[("content-type", "application/json")], data.clone()).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (s, _, _) = call(&app, "PUT", &file, &[("content-type", "application/octet-stream")], data.clone()).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, h, b) = call(&app, "GET", &file, &[], vec![]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, data);
    assert!(h.get("content-md5").is_some());
    let (s, h, b) = call(&app, "GET", &file, &[("range", "bytes=10-19")], vec![]).await;
    assert_eq!(s, StatusCode::PARTIAL_CONTENT);
    assert_eq!(b, &data[10..20]);
    assert_eq!(h.get("content-range").and_then(|v| v.to_str().ok()), Some("bytes 10-19/5000"));
    let (s, _, _) = call(&app, "GET", &file, &[("range", "bytes=9000-")], vec![]).await;
    assert_eq!(s, StatusCode::RANGE_NOT_SATISFIABLE);
}

#[tokio::test]
async fn patches_need_a_patch_media_type_and_errors_are_glance_shaped() {
    let app = app().await;
    let id = create(&app).await;
    let uri = format!("/image/v2/images/{id}");
    let op = json!([{"op": "replace", "path": "/name", "value": "y"}]).to_string().into_bytes();
    let (s, h, b) = call(&app, "PATCH", &uri, &[("content-type", "application/json")], op.clone()).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(h.get("accept-patch").is_some());
    assert_eq!(serde_json::from_slice::<Value>(&b).expect("json")["code"], "415 Unsupported Media Type");
    let (s, _, b) =
        call(&app, "PATCH", &uri, &[("content-type", "application/openstack-images-v2.1-json-patch")], op).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(serde_json::from_slice::<Value>(&b).expect("json")["name"], "y");
    let draft4 = json!([{"replace": "/name", "value": "z"}]).to_string().into_bytes();
    let (s, _, b) =
        call(&app, "PATCH", &uri, &[("content-type", "application/openstack-images-v2.0-json-patch")], draft4).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(serde_json::from_slice::<Value>(&b).expect("json")["name"], "z");
    for m in ["GET", "DELETE"] {
        let (s, _, _) = call(&app, m, "/image/v2/images/", &[], vec![]).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{m} on an empty id is a 404, not the list");
    }
    let (s, _, b) = call(&app, "GET", "/image/v2/images?sort_key=nonsense", &[], vec![]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(serde_json::from_slice::<Value>(&b).expect("json")["title"], "Bad Request");
}

#[tokio::test]
async fn versions_and_stores_are_discoverable() {
    let app = app().await;
    let (s, _, b) = call(&app, "GET", "/image/", &[], vec![]).await;
    assert_eq!(s, StatusCode::MULTIPLE_CHOICES);
    let v: Value = serde_json::from_slice(&b).expect("json");
    assert_eq!(v["versions"][0]["status"], "CURRENT");
    assert_eq!(v["versions"][0]["links"][0]["href"], "http://test/image/v2/");
    let (s, _, b) = call(&app, "GET", "/image/v2/info/stores", &[], vec![]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(serde_json::from_slice::<Value>(&b).expect("json")["stores"][0]["id"], "local");
    let (_, _, b) = call(&app, "GET", "/image/v2/info/import", &[], vec![]).await;
    let methods = serde_json::from_slice::<Value>(&b).expect("json")["import-methods"]["value"].clone();
    assert_eq!(methods, json!(["glance-direct", "copy-image"]));
}
