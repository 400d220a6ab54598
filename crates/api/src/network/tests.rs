//! HTTP-level behaviour of the network API that clients depend on.

use axum::http::StatusCode;
use serde_json::json;

use crate::testing::{app, call};

#[tokio::test]
async fn errors_carry_neutrons_fault_types() {
    let app = app().await;
    let (s, v) = call(&app, "GET", "/network/v2.0/networks/nope", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["NeutronError"]["type"], "NetworkNotFound");
    assert_eq!(v["NeutronError"]["message"], "Network nope could not be found.");
    let (_, net) = call(&app, "POST", "/network/v2.0/networks", Some(json!({"network": {"name": "n"}}))).await;
    let net = net["network"]["id"].as_str().expect("id").to_string();
    let (_, sub) = call(
        &app,
        "POST",
        "/network/v2.0/subnets",
        Some(json!({"subnet": {"network_id": net, "cidr": "10.0.0.0/28", "ip_version": 4}})),
    )
    .await;
    let sub = sub["subnet"]["id"].as_str().expect("id").to_string();
    let port = json!({"port": {"network_id": net, "fixed_ips": [{"subnet_id": sub, "ip_address": "10.0.0.9"}]}});
    let (s, _) = call(&app, "POST", "/network/v2.0/ports", Some(port.clone())).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = call(&app, "POST", "/network/v2.0/ports", Some(port)).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["NeutronError"]["type"], "IpAddressAlreadyAllocated");
}

#[tokio::test]
async fn fields_select_exactly_and_lists_page() {
    let app = app().await;
    for i in 0..3 {
        call(&app, "POST", "/network/v2.0/networks", Some(json!({"network": {"name": format!("n{i}")}}))).await;
    }
    let (s, v) = call(&app, "GET", "/network/v2.0/networks?fields=id&fields=name", None).await;
    assert_eq!(s, StatusCode::OK);
    for n in v["networks"].as_array().expect("list") {
        let mut keys: Vec<&str> = n.as_object().expect("object").keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["id", "name"]);
    }
    let (_, v) = call(&app, "GET", "/network/v2.0/networks?limit=2&sort_key=name&sort_dir=asc", None).await;
    assert_eq!(v["networks"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["networks"][0]["name"], "n0");
    assert_eq!(v["networks_links"][0]["rel"], "next");
    let (s, v) = call(&app, "GET", "/network/", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["versions"][0]["id"], "v2.0");
    let (s, v) = call(&app, "GET", "/network/v2.0/quotas/anything/default", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["quota"]["port"], 500);
}

#[tokio::test]
async fn network_resources_take_tags() {
    let app = app().await;
    let (_, net) = call(&app, "POST", "/network/v2.0/networks", Some(json!({"network": {"name": "n"}}))).await;
    let id = net["network"]["id"].as_str().expect("id").to_string();
    let base = format!("/network/v2.0/networks/{id}/tags");
    let (s, _) = call(&app, "PUT", &format!("{base}/red"), None).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = call(&app, "PUT", &base, Some(json!({"tags": ["blue", "green"]}))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["tags"], json!(["blue", "green"]));
    let (s, _) = call(&app, "GET", &format!("{base}/red"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "replacing dropped red");
    let (_, v) = call(&app, "GET", &format!("/network/v2.0/networks/{id}"), None).await;
    assert_eq!(v["network"]["tags"], json!(["blue", "green"]));
    let (s, _) = call(&app, "DELETE", &format!("{base}/blue"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(&app, "DELETE", &format!("{base}/blue"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(&app, "DELETE", &base, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = call(&app, "GET", &base, None).await;
    assert_eq!(v["tags"], json!([]));
}
