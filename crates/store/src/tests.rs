//! Repository tests, run on every store the environment offers (SQLite always; PostgreSQL
//! when `HYBRIDSTACK_TEST_POSTGRES_URL` is set, which CI requires).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::testing;
use crate::{Store, StoreError};

/// What the tests read back: the fields of any row they check. Records are core's types,
/// which the store does not know; one loose type serves every table here.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct Seen {
    id: String,
    name: Option<String>,
    domain_id: Option<String>,
    description: String,
    enabled: bool,
    status: String,
    size: Option<i64>,
    tags: Vec<String>,
    role_ids: Vec<String>,
    extra: Map<String, Value>,
    properties: Map<String, Value>,
    actor_type: String,
    inherited: bool,
}

/// What a row written as `v` reads back as.
fn seen(v: &Value) -> Seen {
    Seen::deserialize(v).unwrap_or_default()
}

/// `base` with the fields of `over` replaced.
fn with(mut base: Value, over: Value) -> Value {
    if let (Some(b), Value::Object(o)) = (base.as_object_mut(), over) {
        b.extend(o);
    }
    base
}

fn domain(id: &str) -> Value {
    json!({"id": id, "name": format!("name-{id}"), "description": "", "enabled": true, "extra": {}})
}

fn project(id: &str, domain_id: &str) -> Value {
    json!({
        "id": id, "name": format!("p-{id}"), "domain_id": domain_id, "parent_id": null, "description": "d",
        "enabled": true, "tags": ["a", "b"], "extra": {},
    })
}

fn user(id: &str, domain_id: &str) -> Value {
    json!({
        "id": id, "name": format!("u-{id}"), "domain_id": domain_id, "enabled": true, "default_project_id": null,
        "description": "", "extra": {"email": "x@example.org"}, "password_expires_at": null, "created_at": 1,
    })
}

async fn each(f: impl AsyncFn(&Store)) {
    for (name, t) in testing::all().await {
        eprintln!("store backend: {name}");
        f(&t.store).await;
    }
}

#[tokio::test]
async fn migrations_are_idempotent() {
    each(async |s| {
        assert_eq!(s.migrate().await.expect("re-migrate"), 0);
    })
    .await;
}

#[tokio::test]
async fn domains_round_trip_and_names_are_unique() {
    each(async |s| {
        s.domain_create(&domain("d1")).await.expect("create");
        assert_eq!(s.domain_get::<Seen>("d1").await.expect("get"), seen(&domain("d1")));
        assert_eq!(s.domain_by_name::<Seen>("name-d1").await.expect("by name").id, "d1");
        let dup = with(domain("d2"), json!({"name": "name-d1"}));
        assert!(matches!(s.domain_create(&dup).await, Err(StoreError::Conflict(_))));
        let d = with(domain("d1"), json!({"enabled": false, "description": "changed", "extra": {"k": 1}}));
        s.domain_update(&d).await.expect("update");
        assert_eq!(s.domain_get::<Seen>("d1").await.expect("get"), seen(&d));
        assert!(matches!(s.domain_get::<Seen>("nope").await, Err(StoreError::NotFound)));
    })
    .await;
}

#[tokio::test]
async fn a_domain_that_owns_projects_is_not_deleted() {
    each(async |s| {
        s.domain_create(&domain("d1")).await.expect("domain");
        s.project_create(&project("p1", "d1")).await.expect("project");
        assert!(matches!(s.domain_delete("d1").await, Err(StoreError::Conflict(_))));
        s.project_delete("p1").await.expect("delete project");
        s.domain_delete("d1").await.expect("delete domain");
        assert!(matches!(s.domain_delete("d1").await, Err(StoreError::NotFound)));
    })
    .await;
}

#[tokio::test]
async fn projects_keep_tags_and_unique_names_per_domain() {
    each(async |s| {
        s.domain_create(&domain("d1")).await.expect("domain");
        s.domain_create(&domain("d2")).await.expect("domain");
        s.project_create(&project("p1", "d1")).await.expect("create");
        assert_eq!(s.project_get::<Seen>("p1").await.expect("get"), seen(&project("p1", "d1")));
        let same_name = with(project("p1", "d1"), json!({"id": "p2"}));
        assert!(matches!(s.project_create(&same_name).await, Err(StoreError::Conflict(_))));
        s.project_create(&with(project("p1", "d2"), json!({"id": "p3"}))).await.expect("same name elsewhere");
        assert_eq!(s.project_by_name::<Seen>("d2", "p-p1").await.expect("by name").id, "p3");
        s.project_update(&with(project("p1", "d1"), json!({"tags": ["z"]}))).await.expect("update");
        assert_eq!(s.project_get::<Seen>("p1").await.expect("get").tags, vec!["z".to_string()]);
        let listed = s.project_list::<Seen>().await.expect("list");
        assert_eq!(listed.len(), 2);
        assert_eq!(listed.iter().find(|p| p.id == "p1").map(|p| p.tags.clone()), Some(vec!["z".to_string()]));
        let orphan = project("p4", "missing-domain");
        assert!(matches!(s.project_create(&orphan).await, Err(StoreError::Conflict(_))));
    })
    .await;
}

#[tokio::test]
async fn password_history_keeps_the_newest() {
    each(async |s| {
        s.domain_create(&domain("d1")).await.expect("domain");
        s.user_create(&user("u1", "d1"), Some("h0")).await.expect("user");
        for (i, h) in ["h1", "h2", "h3"].iter().enumerate() {
            s.user_set_password("u1", h, 10 + i as i64, None, 2).await.expect("set");
        }
        assert_eq!(s.user_password_history("u1", 5).await.expect("history"), vec!["h3".to_string(), "h2".to_string()]);
        let u = s.user_get::<Value>("u1").await.expect("get");
        assert_eq!(s.user_password_hash("u1").await.expect("hash").as_deref(), Some("h3"));
        assert_eq!(s.user_get::<Seen>("u1").await.expect("get"), seen(&user("u1", "d1")));
        assert!(u.get("password_hash").is_none(), "a user's record never carries its hash: {u}");
        assert_eq!(s.user_by_name::<Seen>("d1", "u-u1").await.expect("by name").id, "u1");
        assert!(s.user_list::<Value>().await.expect("list").iter().all(|u| u.get("password_hash").is_none()));
        assert!(matches!(s.user_set_password("ghost", "h", 1, None, 2).await, Err(StoreError::NotFound)));
        assert!(matches!(s.user_password_hash("ghost").await, Err(StoreError::NotFound)));
        s.user_create(&user("u2", "d1"), None).await.expect("user without a password");
        assert_eq!(s.user_password_hash("u2").await.expect("no hash"), None);
    })
    .await;
}

#[tokio::test]
async fn roles_keep_a_global_domain_as_none() {
    each(async |s| {
        s.domain_create(&domain("d1")).await.expect("domain");
        let global = json!({"id": "r1", "name": "member", "domain_id": null, "description": ""});
        s.role_create(&global).await.expect("global role");
        let local = json!({"id": "r2", "name": "member", "domain_id": "d1", "description": ""});
        s.role_create(&local).await.expect("the same name in a domain");
        assert_eq!(s.role_get::<Seen>("r1").await.expect("get"), seen(&global));
        assert_eq!(s.role_get::<Seen>("r2").await.expect("get"), seen(&local));
        let again = json!({"id": "r3", "name": "member", "domain_id": null, "description": ""});
        assert!(matches!(s.role_create(&again).await, Err(StoreError::Conflict(_))), "global names are unique");
    })
    .await;
}

#[tokio::test]
async fn assignments_are_idempotent_and_go_with_their_user() {
    each(async |s| {
        s.domain_create(&domain("d1")).await.expect("domain");
        s.user_create(&user("u1", "d1"), Some("h0")).await.expect("user");
        s.project_create(&project("p1", "d1")).await.expect("project");
        s.role_create(&json!({"id": "r1", "name": "member", "domain_id": null, "description": ""}))
            .await
            .expect("role");
        let a = json!({
            "actor_type": "user", "actor_id": "u1", "target_type": "project", "target_id": "p1",
            "role_id": "r1", "inherited": false,
        });
        s.assignment_add(&a).await.expect("grant");
        s.assignment_add(&a).await.expect("grant again");
        assert!(s.assignment_exists(&a).await.expect("exists"));
        assert!(!s.assignment_exists(&with(a.clone(), json!({"inherited": true}))).await.expect("exists"));
        assert_eq!(s.assignments_of::<Seen>("user", "u1").await.expect("list"), vec![seen(&a)]);
        s.user_delete("u1").await.expect("delete user");
        assert!(s.assignment_list::<Seen>().await.expect("list").is_empty());
        assert!(matches!(s.assignment_remove(&a).await, Err(StoreError::NotFound)));
    })
    .await;
}

#[tokio::test]
async fn app_credentials_carry_roles_and_unique_names() {
    each(async |s| {
        s.domain_create(&domain("d1")).await.expect("domain");
        s.user_create(&user("u1", "d1"), Some("h0")).await.expect("user");
        let c = json!({
            "id": "c1", "name": "ci", "user_id": "u1", "project_id": "p1", "description": "",
            "secret_hash": "sha256$00", "expires_at": 99, "unrestricted": false, "created_at": 1,
            "role_ids": ["r1", "r2"],
        });
        s.app_credential_create(&c).await.expect("create");
        assert_eq!(s.app_credential_get::<Seen>("c1").await.expect("get"), seen(&c));
        assert_eq!(s.app_credential_by_name::<Seen>("u1", "ci").await.expect("by name").id, "c1");
        assert_eq!(s.app_credential_list::<Seen>("u1").await.expect("list"), vec![seen(&c)]);
        let same_name = with(c.clone(), json!({"id": "c2"}));
        assert!(matches!(s.app_credential_create(&same_name).await, Err(StoreError::Conflict(_))));
        s.user_delete("u1").await.expect("delete user");
        assert!(matches!(s.app_credential_get::<Seen>("c1").await, Err(StoreError::NotFound)));
    })
    .await;
}

#[tokio::test]
async fn revocation_events_replay_in_order_and_purge() {
    each(async |s| {
        s.revocation_add("user", "u1", 100, 1_000).await.expect("add");
        s.revocation_add("audit_id", "a1", 200, 2_000).await.expect("add");
        let all = s.revocations_since(0).await.expect("since 0");
        assert_eq!(all.len(), 2);
        assert!(all[0].seq < all[1].seq);
        assert_eq!(s.revocations_since(all[0].seq).await.expect("since first")[0].value, "a1");
        assert_eq!(s.revocations_purge(1_500).await.expect("purge"), 1);
        assert_eq!(s.revocations_since(0).await.expect("after purge").len(), 1);
    })
    .await;
}

#[tokio::test]
async fn catalog_rows_round_trip() {
    each(async |s| {
        s.region_create(&json!({"id": "RegionOne", "description": "", "parent_region_id": null}))
            .await
            .expect("region");
        let svc = json!({"id": "s1", "type": "identity", "name": "keystone", "description": "", "enabled": true});
        s.service_create(&svc).await.expect("service");
        assert_eq!(s.service_get::<Value>("s1").await.expect("get")["type"], "identity");
        let e = json!({
            "id": "e1", "service_id": "s1", "interface": "public", "region_id": "RegionOne",
            "url": "http://x/identity", "enabled": true,
        });
        s.endpoint_create(&e).await.expect("endpoint");
        s.endpoint_update(&with(e, json!({"enabled": false}))).await.expect("update");
        assert!(!s.endpoint_get::<Seen>("e1").await.expect("get").enabled);
        assert!(matches!(s.region_delete("RegionOne").await, Err(StoreError::Conflict(_))));
        s.service_delete("s1").await.expect("delete service");
        assert!(s.endpoint_list::<Seen>().await.expect("endpoints").is_empty());
        s.region_delete("RegionOne").await.expect("delete region");
    })
    .await;
}

fn image(id: &str, owner: &str, size: Option<i64>) -> Value {
    json!({
        "id": id, "name": format!("img-{id}"), "owner": owner, "status": "queued", "visibility": "shared",
        "protected": false, "os_hidden": false, "checksum": null, "os_hash_algo": null, "os_hash_value": null,
        "size": size, "virtual_size": null, "min_disk": 0, "min_ram": 0, "container_format": "bare",
        "disk_format": "raw", "properties": {"os_distro": "debian"}, "tags": ["t1"], "created_at": 1,
        "updated_at": 1,
    })
}

#[tokio::test]
async fn images_round_trip_with_status_compare_and_set() {
    each(async |s| {
        s.image_create(&image("i1", "p1", None)).await.expect("create");
        assert_eq!(s.image_get::<Seen>("i1").await.expect("get"), seen(&image("i1", "p1", None)));
        let saving = with(image("i1", "p1", None), json!({"status": "saving"}));
        s.image_update(&saving, Some("queued")).await.expect("queued -> saving");
        assert!(matches!(s.image_update(&saving, Some("queued")).await, Err(StoreError::Conflict(_))), "lost race");
        let active = with(saving, json!({"status": "active", "size": 5_000_000_000_i64, "tags": ["t2", "t3"]}));
        s.image_update(&active, Some("saving")).await.expect("saving -> active");
        assert_eq!(s.image_get::<Seen>("i1").await.expect("get"), seen(&active));
        s.image_create(&image("i2", "p1", Some(7))).await.expect("second");
        assert_eq!(s.image_bytes_of("p1").await.expect("sum"), 5_000_000_007);
        assert_eq!(s.image_bytes_of("nobody").await.expect("sum"), 0);
        let queued = s.images_in_status::<Seen>("queued").await.expect("queued");
        assert_eq!(queued, vec![seen(&image("i2", "p1", Some(7)))], "with its tags");
        s.image_delete("i1").await.expect("delete");
        assert!(matches!(s.image_get::<Seen>("i1").await, Err(StoreError::NotFound)));
    })
    .await;
}

#[tokio::test]
async fn image_visibility_query_sees_owned_public_and_member_images() {
    each(async |s| {
        s.image_create(&image("mine", "p1", None)).await.expect("create");
        s.image_create(&with(image("pub", "p9", None), json!({"visibility": "public"}))).await.expect("create");
        s.image_create(&with(image("hidden", "p9", None), json!({"visibility": "private"}))).await.expect("create");
        s.image_create(&image("shared", "p9", None)).await.expect("create");
        let member =
            json!({"image_id": "shared", "member_id": "p1", "status": "pending", "created_at": 1, "updated_at": 1});
        s.image_member_create(&member).await.expect("member");
        let q = crate::images::ImageQuery { viewer_project: Some("p1".into()) };
        let mut ids: Vec<String> = s.image_list::<Seen>(&q).await.expect("list").into_iter().map(|i| i.id).collect();
        ids.sort();
        assert_eq!(ids, ["mine", "pub", "shared"]);
        let all = s.image_list::<Seen>(&Default::default()).await.expect("all");
        assert_eq!(all.len(), 4);
        assert!(all.iter().all(|i| i.tags == ["t1"]), "{all:?}");
        s.image_member_set_status("shared", "p1", "accepted", 2).await.expect("accept");
        assert_eq!(s.image_member_get::<Seen>("shared", "p1").await.expect("get").status, "accepted");
        assert_eq!(s.image_members::<Seen>("shared").await.expect("members").len(), 1);
        assert!(matches!(s.image_member_create(&member).await, Err(StoreError::Conflict(_))));
        let location = json!({
            "image_id": "shared", "store": "local", "reference": "shared", "disk_format": "raw",
            "status": "active", "created_at": 1,
        });
        s.image_location_put(&location).await.expect("location");
        s.image_location_put(&location).await.expect("the same location again replaces it");
        assert_eq!(s.image_locations::<Seen>("shared").await.expect("locations").len(), 1);
        let ids = vec!["shared".to_string(), "mine".to_string()];
        assert_eq!(
            s.image_active_stores(&ids).await.expect("stores"),
            vec![("shared".to_string(), "local".to_string())]
        );
        s.image_delete("shared").await.expect("delete");
        assert!(
            s.image_locations::<Seen>("shared").await.expect("locations").is_empty(),
            "locations go with the image"
        );
        assert!(s.image_memberships_of::<Seen>("p1").await.expect("memberships").is_empty());
        s.quota_set("p1", "image_size_total", 10).await.expect("quota");
        s.quota_set("p1", "image_size_total", 20).await.expect("quota again");
        assert_eq!(s.quota_override("p1", "image_size_total").await.expect("get"), Some(20));
        assert_eq!(s.quota_override("p2", "image_size_total").await.expect("get"), None);
    })
    .await;
}

#[tokio::test]
async fn an_address_is_allocated_once_and_a_failed_write_writes_nothing() {
    use crate::documents::Document;
    use crate::ip_allocations::IpAllocation;
    use crate::write::{Expect, Write};
    each(async |s| {
        let port = |id: &str| {
            let d = Document {
                kind: "port".into(),
                id: id.into(),
                owner: "p1".into(),
                parent_id: "n1".into(),
                ..Default::default()
            };
            (Document { body: "{}".into(), created_at: 1, ..d }, Expect::Replace)
        };
        let ip = |port: &str| IpAllocation {
            subnet_id: "s1".into(),
            ip_address: "10.0.0.2".into(),
            port_id: port.into(),
            network_id: "n1".into(),
        };
        s.write(&Write { put: vec![port("a")], allocate: vec![ip("a")], ..Default::default() }).await.expect("first");
        let clash = s.write(&Write { put: vec![port("b")], allocate: vec![ip("b")], ..Default::default() }).await;
        assert!(matches!(clash, Err(StoreError::Conflict(ref m)) if m == "ip:s1:10.0.0.2"), "{clash:?}");
        assert!(matches!(s.doc_get("port", "b").await, Err(StoreError::NotFound)), "the failed write wrote nothing");
        s.write(&Write {
            release_port: vec!["a".into()],
            put: vec![port("b")],
            allocate: vec![ip("b")],
            ..Default::default()
        })
        .await
        .expect("released and retaken in one write");
        assert_eq!(s.ip_allocations_of_subnet("s1").await.expect("allocs")[0].port_id, "b");
        assert_eq!(s.doc_children("port", "n1").await.expect("children").len(), 2);
        assert_eq!(s.doc_count("port", "p1").await.expect("count"), 2);
        s.write(&Write { delete: vec![("port".into(), "a".into())], ..Default::default() }).await.expect("delete");
        assert_eq!(s.doc_list("port", None).await.expect("list").len(), 1);
    })
    .await;
}

#[tokio::test]
async fn documents_swap_by_version_and_queue_operations_atomically() {
    use crate::documents::Document;
    use crate::operations::Operation;
    use crate::write::{Expect, Write};
    each(async |s| {
        let doc = |version| Document {
            kind: "volume".into(),
            id: "v1".into(),
            owner: "p1".into(),
            body: format!("{{\"v\":{version}}}"),
            created_at: 1,
            version,
            ..Default::default()
        };
        let op = |id: &str| Operation {
            id: id.into(),
            kind: "volume.create".into(),
            resource_id: "v1".into(),
            state: "pending".into(),
            input: "{}".into(),
            steps_done: "[]".into(),
            error: None,
            lease_owner: None,
            lease_until: 0,
            attempts: 0,
            created_at: 1,
            updated_at: 1,
        };
        s.write(&Write { put: vec![(doc(1), Expect::New)], ops: vec![op("o1")], ..Default::default() })
            .await
            .expect("insert");
        let again = s.write(&Write { put: vec![(doc(1), Expect::New)], ..Default::default() }).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "a new document's key is taken: {again:?}");
        assert_eq!(s.doc_get("volume", "v1").await.expect("get").version, 1);
        assert_eq!(s.doc_list("volume", Some("p1")).await.expect("list").len(), 1);
        assert!(s.doc_list("volume", Some("p2")).await.expect("list").is_empty());
        s.write(&Write { put: vec![(doc(2), Expect::Version(1))], ..Default::default() }).await.expect("swap");
        // A writer that read version 1 loses, and its operation is not queued either.
        let stale = Write { put: vec![(doc(2), Expect::Version(1))], ops: vec![op("o2")], ..Default::default() };
        assert!(matches!(s.write(&stale).await, Err(StoreError::Conflict(ref m)) if m == "version"));
        assert_eq!(s.doc_get("volume", "v1").await.expect("get").body, "{\"v\":2}");
        let live: Vec<String> = s.ops_live_for("v1").await.expect("ops").into_iter().map(|o| o.id).collect();
        assert_eq!(live, vec!["o1".to_string()]);
        s.write(&Write { put: vec![(doc(3), Expect::Existing)], ..Default::default() }).await.expect("update");
        assert_eq!(s.doc_get("volume", "v1").await.expect("get").version, 3);
        s.doc_delete("volume", "v1").await.expect("delete");
        assert!(matches!(s.doc_get("volume", "v1").await, Err(StoreError::NotFound)));
        assert!(matches!(s.doc_delete("volume", "v1").await, Err(StoreError::NotFound)));
        let gone = s.write(&Write { put: vec![(doc(4), Expect::Existing)], ..Default::default() }).await;
        assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
    })
    .await;
}

#[tokio::test]
async fn the_installation_id_is_made_once_and_kept() {
    each(async |s| {
        assert_eq!(s.installation_id().await.expect("read"), None);
        assert_eq!(s.installation_id_or("first", 1).await.expect("make"), "first");
        // A second start (or a second node racing the first) gets the one already written.
        assert_eq!(s.installation_id_or("second", 2).await.expect("keep"), "first");
        assert_eq!(s.installation_id().await.expect("read").as_deref(), Some("first"));
    })
    .await;
}
