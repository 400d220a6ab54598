//! HTTP-level behaviour of the block-storage API that clients depend on: microversion
//! negotiation and the routes it gates, volume types with extra specs and access lists, and
//! quotas and limits, with the policy on each (no cloud is needed for any of these).

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::testing::{app, call, call_with, token_for, App};

async fn project_id(app: &App, name: &str) -> String {
    let (_, v) = call(app, "GET", &format!("/identity/v3/projects?name={name}"), None).await;
    v["projects"][0]["id"].as_str().expect("project").to_string()
}

/// A member of a new project `other`; returns its token and the project's id.
async fn other_member(app: &App) -> (String, String) {
    let (_, p) = call(app, "POST", "/identity/v3/projects", Some(json!({"project": {"name": "other"}}))).await;
    let pid = p["project"]["id"].as_str().expect("project").to_string();
    let body = json!({"user": {"name": "bob", "password": "pw-bob-1", "default_project_id": pid}});
    let (_, u) = call(app, "POST", "/identity/v3/users", Some(body)).await;
    let uid = u["user"]["id"].as_str().expect("user").to_string();
    let (_, roles) = call(app, "GET", "/identity/v3/roles?name=member", None).await;
    let rid = roles["roles"][0]["id"].as_str().expect("role").to_string();
    let (s, _) = call(app, "PUT", &format!("/identity/v3/projects/{pid}/users/{uid}/roles/{rid}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    (token_for(&app.router, "bob", "pw-bob-1", "other").await, pid)
}

async fn as_user(app: &App, token: &str, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let (s, _, v) = call_with(app, token, method, uri, &[], body).await;
    (s, v)
}

#[tokio::test]
async fn microversions_are_negotiated_echoed_and_gate_their_routes() {
    let app = app().await;
    let p = project_id(&app, "admin").await;
    let get = |uri: String, mv: &'static str| {
        let app = &app;
        async move { call_with(app, &app.token, "GET", &uri, &[("openstack-api-version", mv)], None).await }
    };
    let (s, h, _) = get(format!("/volume/v3/{p}/volumes"), "volume 3.27").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h.get("openstack-api-version").and_then(|v| v.to_str().ok()), Some("volume 3.27"));
    let (s, h, _) = get(format!("/volume/v3/{p}/volumes"), "volume latest").await;
    assert_eq!(
        (s, h.get("openstack-api-version").and_then(|v| v.to_str().ok())),
        (StatusCode::OK, Some("volume 3.27"))
    );
    let (s, _, body) = get(format!("/volume/v3/{p}/volumes"), "volume 3.28").await;
    assert_eq!(s, StatusCode::NOT_ACCEPTABLE, "{body}");
    assert!(body.to_string().contains("maximum is 3.27"), "{body}");
    let (s, _, _) = get(format!("/volume/v3/{p}/volumes"), "volume 4.0").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let (s, _, _) = get(format!("/volume/v3/{p}/attachments"), "volume 3.26").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "the attachments API starts at 3.27");
    let (s, _, body) = get(format!("/volume/v3/{p}/attachments"), "volume 3.27").await;
    assert_eq!((s, body), (StatusCode::OK, json!({"attachments": []})));
    let (s, _, _) = get(format!("/volume/v3/{p}/volumes/summary"), "volume 3.11").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "the summary starts at 3.12");
    let (s, _, body) = get(format!("/volume/v3/{p}/volumes/summary"), "volume 3.12").await;
    assert_eq!((s, body), (StatusCode::OK, json!({"volume-summary": {"total_size": 0, "total_count": 0}})));
    let (_, _, doc) = get("/volume/v3/".into(), "volume 3.0").await;
    assert_eq!(doc["versions"][0]["version"], "3.27", "{doc}");

    // An attachment is to one of our servers: none is named, so it is refused with why.
    let (s, _, body) = call_with(
        &app,
        &app.token,
        "POST",
        &format!("/volume/v3/{p}/attachments"),
        &[("openstack-api-version", "volume 3.27")],
        Some(json!({"attachment": {"volume_uuid": "00000000-0000-4000-8000-000000000001"}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("instance_uuid"), "{body}");
}

#[tokio::test]
async fn volume_types_have_extra_specs_access_lists_and_admin_only_writes() {
    let app = app().await;
    let p = project_id(&app, "admin").await;
    let base = format!("/volume/v3/{p}/types");
    let (s, t) =
        call(&app, "POST", &base, Some(json!({"volume_type": {"name": "gold", "extra_specs": {"tier": 1}}}))).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["volume_type"]["extra_specs"], json!({"tier": "1"}), "numbers are kept as text");
    let id = t["volume_type"]["id"].as_str().expect("id").to_string();
    let (s, _) = call(&app, "POST", &base, Some(json!({"volume_type": {"name": "gold"}}))).await;
    assert_eq!(s, StatusCode::CONFLICT);

    let specs = format!("{base}/{id}/extra_specs");
    let (s, v) = call(&app, "POST", &specs, Some(json!({"extra_specs": {"a": "x", "b": "y"}}))).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"extra_specs": {"a": "x", "b": "y"}})));
    let (s, v) = call(&app, "PUT", &format!("{specs}/a"), Some(json!({"a": "z"}))).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"a": "z"})));
    let (s, _) = call(&app, "PUT", &format!("{specs}/a"), Some(json!({"b": "z"}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "the body must name the key in the URL");
    let (s, _) = call(&app, "DELETE", &format!("{specs}/b"), None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = call(&app, "GET", &format!("{specs}/b"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, v) = call(&app, "GET", &specs, None).await;
    assert_eq!(v, json!({"extra_specs": {"a": "z", "tier": "1"}}));
    let (s, v) = call(&app, "PUT", &format!("{base}/{id}"), Some(json!({"volume_type": {"name": "platinum"}}))).await;
    assert_eq!((s, &v["volume_type"]["name"]), (StatusCode::OK, &json!("platinum")), "{v}");

    // A private type: listed for its projects only, with an access list.
    let (_, t) = call(
        &app,
        "POST",
        &base,
        Some(json!({"volume_type": {"name": "secret", "os-volume-type-access:is_public": false}})),
    )
    .await;
    let secret = t["volume_type"]["id"].as_str().expect("id").to_string();
    let (token, other) = other_member(&app).await;
    let theirs = format!("/volume/v3/{other}/types");
    let (s, v) = as_user(&app, &token, "GET", &theirs, None).await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> =
        v["volume_types"].as_array().expect("list").iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(names.contains(&"platinum") && !names.contains(&"secret"), "{names:?}");
    assert_eq!(v["volume_types"][1]["extra_specs"], json!({}), "extra specs are an admin's: {v}");
    let (s, _) = as_user(&app, &token, "GET", &format!("{theirs}/{secret}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = as_user(&app, &token, "POST", &theirs, Some(json!({"volume_type": {"name": "mine"}}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let add = json!({"addProjectAccess": {"project": other}});
    let (s, _) = call(&app, "POST", &format!("{base}/{secret}/action"), Some(add.clone())).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = call(&app, "POST", &format!("{base}/{secret}/action"), Some(add)).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, v) = call(&app, "GET", &format!("{base}/{secret}/os-volume-type-access"), None).await;
    assert_eq!(v, json!({"volume_type_access": [{"volume_type_id": secret, "project_id": other}]}));
    let (s, _) = as_user(&app, &token, "GET", &format!("{theirs}/{secret}"), None).await;
    assert_eq!(s, StatusCode::OK, "granted access, the project sees it");
    let (s, _) = call(&app, "GET", &format!("{base}/{id}/os-volume-type-access"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a public type has no access list");

    let (s, v) = call(&app, "DELETE", &format!("{base}/00000000-0000-4000-8000-0000000000d7"), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (_, d) = call(&app, "GET", &format!("{base}/default"), None).await;
    assert_eq!(d["volume_type"]["name"], "__DEFAULT__");
    for t in [&id, &secret] {
        let (s, _) = call(&app, "DELETE", &format!("{base}/{t}"), None).await;
        assert_eq!(s, StatusCode::ACCEPTED);
        let (s, _) = call(&app, "GET", &format!("{base}/{t}"), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn quotas_and_limits_show_per_type_keys_and_only_admins_change_them() {
    let app = app().await;
    let p = project_id(&app, "admin").await;
    let quotas = format!("/volume/v3/{p}/os-quota-sets/{p}");
    let (s, q) = call(&app, "GET", &quotas, None).await;
    assert_eq!(s, StatusCode::OK);
    for (k, v) in [("volumes", 10), ("snapshots", 10), ("gigabytes", 1000), ("volumes___DEFAULT__", -1)] {
        assert_eq!(q["quota_set"][k], v, "{k}: {q}");
    }
    let (s, q) = call(&app, "PUT", &quotas, Some(json!({"quota_set": {"gigabytes": 50, "volumes": "4"}}))).await;
    assert_eq!((s, &q["quota_set"]["gigabytes"], &q["quota_set"]["volumes"]), (StatusCode::OK, &json!(50), &json!(4)));
    for bad in [json!({"gigabytes": -2}), json!({"nonsense": 1}), json!({"volumes": "many"})] {
        let (s, v) = call(&app, "PUT", &quotas, Some(json!({"quota_set": bad}))).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    }
    let (_, u) = call(&app, "GET", &format!("{quotas}?usage=True"), None).await;
    assert_eq!(u["quota_set"]["gigabytes"], json!({"limit": 50, "in_use": 0, "reserved": 0, "allocated": 0}));
    let (_, l) = call(&app, "GET", &format!("/volume/v3/{p}/limits"), None).await;
    assert_eq!(l["limits"]["absolute"]["maxTotalVolumeGigabytes"], 50, "{l}");
    assert_eq!(l["limits"]["absolute"]["maxTotalVolumes"], 4, "{l}");
    let (_, d) = call(&app, "GET", &format!("{quotas}/defaults"), None).await;
    assert_eq!(d["quota_set"]["gigabytes"], 1000);
    let (s, _) = call(&app, "DELETE", &quotas, None).await;
    assert_eq!(s, StatusCode::OK);
    let (_, q) = call(&app, "GET", &quotas, None).await;
    assert_eq!(q["quota_set"]["gigabytes"], 1000, "reset to the default");

    let (token, other) = other_member(&app).await;
    let theirs = format!("/volume/v3/{other}/os-quota-sets/{other}");
    let (s, _, _) = call_with(&app, &token, "GET", &theirs, &[], None).await;
    assert_eq!(s, StatusCode::OK, "a project reads its own quotas");
    let (s, _, _) = call_with(&app, &token, "PUT", &theirs, &[], Some(json!({"quota_set": {"volumes": 100}}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = call_with(&app, &token, "GET", &format!("/volume/v3/{other}/os-quota-sets/{p}"), &[], None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "nor another's");
}
