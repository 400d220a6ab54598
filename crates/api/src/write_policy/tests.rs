//! The reader test, generated from the router's own route table: every route whose method
//! writes (POST, PUT, PATCH, DELETE, read from the route's `Allow` answer), in every service,
//! is called as a reader of the project that owns its target, each target made first by an
//! administrator; every answer is a 403 and the store holds exactly what it held before. A
//! route added later is walked without anyone adding it here; the routes a reader may write
//! by design are `READER_WRITES`, each with its OpenStack policy.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::testing::{app, call_with, token_for, App};

const NOWHERE: &str = "00000000-0000-4000-8000-00000000dead";

/// `POST`/`PUT`/`PATCH`/`DELETE` as the admin (scoped to `m-proj`); panics unless it succeeds.
async fn made(app: &App, token: &str, method: &str, uri: &str, body: Value, key: &str) -> String {
    let (status, _, v) = call_with(app, token, method, uri, &[], Some(body)).await;
    assert!(status.is_success(), "{method} {uri}: {status} {v}");
    v[key]["id"].as_str().map(str::to_string).unwrap_or_default()
}

struct Project {
    id: String,
    admin: String,
    reader: String,
    member: String,
    member_id: String,
}

/// Project `m-proj` with a reader, a member, and the bootstrap admin holding `admin` on it.
async fn project(app: &App) -> Project {
    let t = &app.token;
    let id = made(app, t, "POST", "/identity/v3/projects", json!({"project": {"name": "m-proj"}}), "project").await;
    let role = |name: &'static str| async move {
        let (_, _, v) = call_with(app, t, "GET", &format!("/identity/v3/roles?name={name}"), &[], None).await;
        v["roles"][0]["id"].as_str().expect("role").to_string()
    };
    let (reader_role, member_role, admin_role) = (role("reader").await, role("member").await, role("admin").await);
    let mut users = Vec::new();
    for (name, r) in [("m-reader", &reader_role), ("m-member", &member_role)] {
        let user = json!({"user": {"name": name, "password": "pw-of-the-test", "default_project_id": id}});
        let uid = made(app, t, "POST", "/identity/v3/users", user, "user").await;
        let (s, _, _) =
            call_with(app, t, "PUT", &format!("/identity/v3/projects/{id}/users/{uid}/roles/{r}"), &[], None).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        users.push(uid);
    }
    let (_, _, me) = call_with(app, t, "GET", "/identity/v3/users?name=admin", &[], None).await;
    let admin_id = me["users"][0]["id"].as_str().expect("admin").to_string();
    let grant = format!("/identity/v3/projects/{id}/users/{admin_id}/roles/{admin_role}");
    assert_eq!(call_with(app, t, "PUT", &grant, &[], None).await.0, StatusCode::NO_CONTENT);
    Project {
        admin: token_for(&app.router, "admin", "pw", "m-proj").await,
        reader: token_for(&app.router, "m-reader", "pw-of-the-test", "m-proj").await,
        member: token_for(&app.router, "m-member", "pw-of-the-test", "m-proj").await,
        member_id: users[1].clone(),
        id,
    }
}

/// Targets for every kind of resource a write route names, made by the admin in `m-proj`;
/// keyed by the path segment before the parameter that names them.
async fn targets(app: &App, p: &Project) -> std::collections::HashMap<&'static str, String> {
    let a = &p.admin;
    let mut ids = std::collections::HashMap::new();
    let id3 = |k: &str| format!("/identity/v3/{k}");
    ids.insert("projects", p.id.clone());
    ids.insert("v3", p.id.clone());
    ids.insert("quotas", p.id.clone());
    ids.insert("os-quota-sets", p.id.clone());
    ids.insert("members", p.id.clone());
    ids.insert("users", p.member_id.clone());
    ids.insert("domains", made(app, a, "POST", &id3("domains"), json!({"domain": {"name": "d-t"}}), "domain").await);
    ids.insert("groups", made(app, a, "POST", &id3("groups"), json!({"group": {"name": "g-t"}}), "group").await);
    ids.insert("roles", made(app, a, "POST", &id3("roles"), json!({"role": {"name": "r-t"}}), "role").await);
    ids.insert("implies", made(app, a, "POST", &id3("roles"), json!({"role": {"name": "r-i"}}), "role").await);
    ids.insert("regions", made(app, a, "POST", &id3("regions"), json!({"region": {"id": "reg-t"}}), "region").await);
    let service =
        made(app, a, "POST", &id3("services"), json!({"service": {"type": "t", "name": "svc-t"}}), "service").await;
    let ep = json!({"endpoint": {"service_id": service, "interface": "public", "url": "http://t"}});
    ids.insert("endpoints", made(app, a, "POST", &id3("endpoints"), ep, "endpoint").await);
    ids.insert("services", service);

    let image = json!({"name": "img-t", "disk_format": "raw", "container_format": "bare"});
    let (status, _, v) = call_with(app, a, "POST", "/image/v2/images", &[], Some(image)).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let image = v["id"].as_str().expect("image").to_string();
    let upload = axum::http::Request::put(format!("/image/v2/images/{image}/file"))
        .header("x-auth-token", a.as_str())
        .header("content-type", "application/octet-stream")
        .body(axum::body::Body::from(vec![0u8; 4096]))
        .expect("request");
    let up = tower::ServiceExt::oneshot(app.router.clone(), upload).await.expect("infallible");
    assert_eq!(up.status(), StatusCode::NO_CONTENT, "image upload");
    ids.insert("images", image.clone());

    let net = |k: &str| format!("/network/v2.0/{k}");
    let public = json!({"network": {"name": "public", "router:external": true}});
    let public = made(app, a, "POST", &net("networks"), public, "network").await;
    let sub = json!({"subnet": {"network_id": public, "cidr": "172.24.4.0/24", "ip_version": 4}});
    made(app, a, "POST", &net("subnets"), sub, "subnet").await;
    let n = made(app, a, "POST", &net("networks"), json!({"network": {"name": "n-t"}}), "network").await;
    let sub = json!({"subnet": {"network_id": n, "cidr": "10.0.0.0/24", "ip_version": 4}});
    ids.insert("subnets", made(app, a, "POST", &net("subnets"), sub, "subnet").await);
    ids.insert("ports", made(app, a, "POST", &net("ports"), json!({"port": {"network_id": n}}), "port").await);
    ids.insert("routers", made(app, a, "POST", &net("routers"), json!({"router": {"name": "r-t"}}), "router").await);
    let fip = json!({"floatingip": {"floating_network_id": public}});
    ids.insert("floatingips", made(app, a, "POST", &net("floatingips"), fip, "floatingip").await);
    let sg =
        made(app, a, "POST", &net("security-groups"), json!({"security_group": {"name": "sg-t"}}), "security_group")
            .await;
    let rule = json!({"security_group_rule": {"security_group_id": sg, "direction": "ingress", "protocol": "tcp"}});
    let rule = made(app, a, "POST", &net("security-group-rules"), rule, "security_group_rule").await;
    let pool = json!({"subnetpool": {"name": "sp-t", "prefixes": ["10.100.0.0/16"]}});
    ids.insert("subnetpools", made(app, a, "POST", &net("subnetpools"), pool, "subnetpool").await);
    ids.insert("networks", n);
    ids.insert("security-groups", sg.clone());
    ids.insert("os-security-groups", sg);
    ids.insert("security-group-rules", rule.clone());
    ids.insert("os-security-group-rules", rule);

    let c = |k: &str| format!("/compute/v2.1/{k}");
    let flavor = json!({"flavor": {"name": "f-t", "ram": 64, "vcpus": 1, "disk": 1}});
    let flavor = made(app, a, "POST", &c("flavors"), flavor, "flavor").await;
    let group = json!({"server_group": {"name": "sg", "policies": ["anti-affinity"]}});
    ids.insert("os-server-groups", made(app, a, "POST", &c("os-server-groups"), group, "server_group").await);
    // Queued for a cloud (no engine runs here): the server exists, in BUILD.
    let server = json!({"server": {"name": "s-t", "imageRef": image, "flavorRef": flavor, "networks": "none"}});
    let v237 = [("openstack-api-version", "compute 2.37")];
    let (status, _, v) = call_with(app, a, "POST", &c("servers"), &v237, Some(server)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    ids.insert("servers", v["server"]["id"].as_str().expect("server").to_string());
    ids.insert("flavors", flavor);
    made(app, a, "POST", &c("os-keypairs"), json!({"keypair": {"name": "kp-t"}}), "keypair").await;
    ids.insert("os-keypairs", "kp-t".into());

    let vol = |k: &str| format!("/volume/v3/{}/{k}", p.id);
    // A volume needs a cloud to be placed on, and this API has none: its routes are walked
    // with an id that names nothing, which a reader is refused all the same.
    let (status, _, v) = call_with(app, a, "POST", &vol("volumes"), &[], Some(json!({"volume": {"size": 1}}))).await;
    if status == StatusCode::ACCEPTED {
        let volume = v["volume"]["id"].as_str().expect("volume").to_string();
        ids.insert("os-volume_attachments", volume.clone());
        ids.insert("volumes", volume);
    }
    ids.insert(
        "types",
        made(app, a, "POST", &vol("types"), json!({"volume_type": {"name": "vt-t"}}), "volume_type").await,
    );
    ids
}

/// A route's path with each parameter filled from the targets, by the segment before it.
fn fill(pattern: &str, ids: &std::collections::HashMap<&'static str, String>) -> String {
    let segs: Vec<&str> = pattern.split('/').collect();
    let mut out = Vec::with_capacity(segs.len());
    for (i, s) in segs.iter().enumerate() {
        if !(s.starts_with('{') && s.ends_with('}')) {
            out.push(s.to_string());
            continue;
        }
        let before = if i > 0 { segs[i - 1] } else { "" };
        let literal = match *s {
            "{tag}" => Some("t"),
            "{key}" => Some("k"),
            "{alias}" => Some("router"),
            "{request_id}" => Some("req-t"),
            _ => None,
        };
        out.push(match literal {
            Some(l) => l.to_string(),
            None => ids.get(before).cloned().unwrap_or_else(|| NOWHERE.to_string()),
        });
    }
    out.join("/")
}

/// Every route pattern with the write methods it answers to.
async fn write_routes(app: &App) -> Vec<(String, Method)> {
    let mut out = Vec::new();
    for path in crate::route_paths() {
        if path.contains("{*") {
            continue; // the legacy compute endpoint: walked below under each v2.1 route
        }
        let (status, headers, _) = call_with(app, &app.token, "TRACE", &path, &[], None).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{path} answers TRACE");
        let allow = headers.get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        for m in allow.split(',').filter_map(|m| Method::from_bytes(m.trim().as_bytes()).ok()) {
            if is_write(&m) {
                out.push((path.clone(), m));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_route_refuses_a_reader_of_the_owning_project_and_changes_nothing() {
    let app = app().await;
    let p = project(&app).await;
    let ids = targets(&app, &p).await;
    let routes = write_routes(&app).await;

    // What a reader may write by design is served, and named with its policy.
    for (m, pattern, policy) in READER_WRITES {
        assert!(!policy.is_empty());
        assert!(routes.iter().any(|(p, rm)| p == pattern && rm.as_str() == *m), "{m} {pattern} is not a route");
    }

    let before = hybridstack_store::testing::contents(&app.store.store).await;
    let mut walked = 0;
    for (pattern, method) in &routes {
        let mut uris = vec![fill(pattern, &ids)];
        if let Some(rest) = pattern.strip_prefix("/compute/v2.1/") {
            uris.push(format!("/compute/v2/{}", fill(rest, &ids))); // the legacy endpoint
        }
        for uri in uris {
            if reader_may(method, &uri) {
                continue;
            }
            let (status, _, body) =
                call_with(&app, &p.reader, method.as_str(), &uri, &[], Some(json!({"x": {}}))).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "a reader's {method} {uri} ({pattern}): {body}");
            assert!(body.as_object().is_some_and(|o| !o.is_empty()), "{method} {uri}: an error body: {body}");
            walked += 1;
        }
    }
    let after = hybridstack_store::testing::contents(&app.store.store).await;
    assert!(before == after, "a refused write changed the store");
    let distinct = routes.iter().filter(|(p, m)| !reader_may(m, &fill(p, &ids))).count();
    println!("reader writes refused: {distinct} write routes ({walked} calls with the legacy compute endpoint)");
    assert!(distinct >= 150, "the walk covers the API's write routes, not a handful: {distinct}");

    // The same layer lets a member write.
    let n = json!({"network": {"name": "by-member"}});
    let (status, _, v) = call_with(&app, &p.member, "POST", "/network/v2.0/networks", &[], Some(n)).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
}

#[tokio::test]
async fn a_reader_writes_its_own_keypairs_and_password_as_openstack_allows() {
    let app = app().await;
    let p = project(&app).await;
    let kp = json!({"keypair": {"name": "mine"}});
    let (status, _, v) = call_with(&app, &p.reader, "POST", "/compute/v2.1/os-keypairs", &[], Some(kp)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, _, _) = call_with(&app, &p.reader, "DELETE", "/compute/v2.1/os-keypairs/mine", &[], None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn provider_attributes_and_user_lists_are_refused_as_neutron_and_keystone_do() {
    let app = app().await;
    let p = project(&app).await;
    let flat = json!({"network": {"name": "x", "provider:network_type": "flat", "provider:physical_network": "x"}});
    let (status, _, v) = call_with(&app, &p.member, "POST", "/network/v2.0/networks", &[], Some(flat.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert!(v["NeutronError"]["message"].as_str().unwrap_or_default().contains("provider:"), "{v}");
    // An administrator is told plainly that they are not realised, not ignored.
    let (status, _, v) = call_with(&app, &app.token, "POST", "/network/v2.0/networks", &[], Some(flat)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (_, _, listed) = call_with(&app, &app.token, "GET", "/network/v2.0/networks", &[], None).await;
    assert!(!listed.to_string().contains("\"x\""), "nothing was made: {listed}");

    let (status, _, v) = call_with(&app, &p.member, "GET", "/identity/v3/users", &[], None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a project member does not list users: {v}");
    let (status, _, v) =
        call_with(&app, &p.member, "GET", &format!("/identity/v3/users/{}", p.member_id), &[], None).await;
    assert_eq!(status, StatusCode::OK, "but sees itself: {v}");
    let (status, _, v) = call_with(&app, &app.token, "GET", "/identity/v3/users", &[], None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(v["users"].as_array().is_some_and(|u| u.len() >= 3), "{v}");
}

#[test]
fn legacy_compute_paths_match_the_routes_they_serve() {
    assert!(reader_may(&Method::POST, "/compute/v2/os-keypairs"));
    assert!(reader_may(&Method::DELETE, "/compute/v2.1/os-keypairs/k1/"));
    assert!(!reader_may(&Method::POST, "/compute/v2/servers"));
    assert!(!reader_may(&Method::DELETE, "/compute/v2.1/os-keypairs/k1/extra"));
    assert!(matches("/a/{x}/b", "/a/1/b") && !matches("/a/{x}/b", "/a/1/c"));
}
