//! Repository tests, run on every store the environment offers (SQLite always; PostgreSQL
//! when `HYBRIDSTACK_TEST_POSTGRES_URL` is set, which CI requires).

use crate::identity::*;
use crate::testing;
use crate::{Store, StoreError};

fn domain(id: &str) -> Domain {
    Domain {
        id: id.into(),
        name: format!("name-{id}"),
        description: String::new(),
        enabled: true,
        extra: Default::default(),
    }
}

fn project(id: &str, domain_id: &str) -> Project {
    Project {
        id: id.into(),
        name: format!("p-{id}"),
        domain_id: domain_id.into(),
        parent_id: None,
        description: "d".into(),
        enabled: true,
        tags: vec!["a".into(), "b".into()],
        extra: Default::default(),
    }
}

fn user(id: &str, domain_id: &str) -> User {
    User {
        id: id.into(),
        name: format!("u-{id}"),
        domain_id: domain_id.into(),
        enabled: true,
        default_project_id: None,
        description: String::new(),
        extra: serde_json::json!({"email": "x@example.org"}).as_object().cloned().unwrap_or_default(),
        password_expires_at: None,
        created_at: 1,
    }
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
        assert_eq!(s.domain_get("d1").await.expect("get"), domain("d1"));
        assert_eq!(s.domain_by_name("name-d1").await.expect("by name").id, "d1");
        let mut dup = domain("d2");
        dup.name = "name-d1".into();
        assert!(matches!(s.domain_create(&dup).await, Err(StoreError::Conflict(_))));
        let mut d = domain("d1");
        d.enabled = false;
        d.description = "changed".into();
        s.domain_update(&d).await.expect("update");
        assert_eq!(s.domain_get("d1").await.expect("get"), d);
        assert!(matches!(s.domain_get("nope").await, Err(StoreError::NotFound)));
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
        let got = s.project_get("p1").await.expect("get");
        assert_eq!(got.tags, vec!["a".to_string(), "b".to_string()]);
        assert!(matches!(
            s.project_create(&Project { id: "p2".into(), ..project("p1", "d1") }).await,
            Err(StoreError::Conflict(_))
        ));
        s.project_create(&Project { id: "p3".into(), ..project("p1", "d2") }).await.expect("same name elsewhere");
        let mut p = got.clone();
        p.tags = vec!["z".into()];
        s.project_update(&p).await.expect("update");
        assert_eq!(s.project_get("p1").await.expect("get").tags, vec!["z".to_string()]);
        let listed = s.project_list().await.expect("list");
        assert_eq!(listed.len(), 2);
        assert_eq!(listed.iter().find(|p| p.id == "p1").map(|p| p.tags.clone()), Some(vec!["z".to_string()]));
        assert!(matches!(s.project_create(&project("p4", "missing-domain")).await, Err(StoreError::Conflict(_))));
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
        let u = s.user_get("u1").await.expect("get");
        assert_eq!(s.user_password_hash("u1").await.expect("hash").as_deref(), Some("h3"));
        assert_eq!(u.extra.get("email").and_then(|v| v.as_str()), Some("x@example.org"));
        assert!(matches!(s.user_set_password("ghost", "h", 1, None, 2).await, Err(StoreError::NotFound)));
        assert!(matches!(s.user_password_hash("ghost").await, Err(StoreError::NotFound)));
        s.user_create(&user("u2", "d1"), None).await.expect("user without a password");
        assert_eq!(s.user_password_hash("u2").await.expect("no hash"), None);
    })
    .await;
}

#[tokio::test]
async fn assignments_are_idempotent_and_go_with_their_user() {
    each(async |s| {
        s.domain_create(&domain("d1")).await.expect("domain");
        s.user_create(&user("u1", "d1"), Some("h0")).await.expect("user");
        s.project_create(&project("p1", "d1")).await.expect("project");
        s.role_create(&Role { id: "r1".into(), name: "member".into(), domain_id: None, description: String::new() })
            .await
            .expect("role");
        let a = Assignment {
            actor_type: ActorType::User,
            actor_id: "u1".into(),
            target_type: TargetType::Project,
            target_id: "p1".into(),
            role_id: "r1".into(),
            inherited: false,
        };
        s.assignment_add(&a).await.expect("grant");
        s.assignment_add(&a).await.expect("grant again");
        assert_eq!(s.assignments_of(ActorType::User, "u1").await.expect("list"), vec![a.clone()]);
        s.user_delete("u1").await.expect("delete user");
        assert!(s.assignment_list().await.expect("list").is_empty());
        assert!(matches!(s.assignment_remove(&a).await, Err(StoreError::NotFound)));
    })
    .await;
}

#[tokio::test]
async fn app_credentials_carry_roles_and_unique_names() {
    each(async |s| {
        s.domain_create(&domain("d1")).await.expect("domain");
        s.user_create(&user("u1", "d1"), Some("h0")).await.expect("user");
        let c = AppCredential {
            id: "c1".into(),
            name: "ci".into(),
            user_id: "u1".into(),
            project_id: "p1".into(),
            description: String::new(),
            secret_hash: "sha256$00".into(),
            expires_at: Some(99),
            unrestricted: false,
            created_at: 1,
            role_ids: vec!["r1".into(), "r2".into()],
        };
        s.app_credential_create(&c).await.expect("create");
        let mut got = s.app_credential_get("c1").await.expect("get");
        got.role_ids.sort();
        assert_eq!(got, c);
        assert_eq!(s.app_credential_by_name("u1", "ci").await.expect("by name").id, "c1");
        assert!(matches!(
            s.app_credential_create(&AppCredential { id: "c2".into(), ..c.clone() }).await,
            Err(StoreError::Conflict(_))
        ));
        s.user_delete("u1").await.expect("delete user");
        assert!(matches!(s.app_credential_get("c1").await, Err(StoreError::NotFound)));
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
        s.region_create(&Region { id: "RegionOne".into(), description: String::new(), parent_region_id: None })
            .await
            .expect("region");
        let svc = Service {
            id: "s1".into(),
            service_type: "identity".into(),
            name: "keystone".into(),
            description: String::new(),
            enabled: true,
        };
        s.service_create(&svc).await.expect("service");
        let e = Endpoint {
            id: "e1".into(),
            service_id: "s1".into(),
            interface: "public".into(),
            region_id: Some("RegionOne".into()),
            url: "http://x/identity".into(),
            enabled: true,
        };
        s.endpoint_create(&e).await.expect("endpoint");
        assert!(matches!(s.region_delete("RegionOne").await, Err(StoreError::Conflict(_))));
        s.service_delete("s1").await.expect("delete service");
        assert!(s.endpoint_list().await.expect("endpoints").is_empty());
        s.region_delete("RegionOne").await.expect("delete region");
    })
    .await;
}

fn image(id: &str, owner: &str, size: Option<i64>) -> crate::images::Image {
    crate::images::Image {
        id: id.into(),
        name: Some(format!("img-{id}")),
        owner: owner.into(),
        status: "queued".into(),
        visibility: "shared".into(),
        protected: false,
        os_hidden: false,
        checksum: None,
        os_hash_algo: None,
        os_hash_value: None,
        size,
        virtual_size: None,
        min_disk: 0,
        min_ram: 0,
        container_format: Some("bare".into()),
        disk_format: Some("raw".into()),
        properties: serde_json::json!({"os_distro": "debian"}).as_object().cloned().unwrap_or_default(),
        tags: vec!["t1".into()],
        created_at: 1,
        updated_at: 1,
    }
}

#[tokio::test]
async fn images_round_trip_with_status_compare_and_set() {
    each(async |s| {
        s.image_create(&image("i1", "p1", None)).await.expect("create");
        let got = s.image_get("i1").await.expect("get");
        assert_eq!(got, image("i1", "p1", None));
        let mut saving = got.clone();
        saving.status = "saving".into();
        s.image_update(&saving, Some("queued")).await.expect("queued -> saving");
        assert!(matches!(s.image_update(&saving, Some("queued")).await, Err(StoreError::Conflict(_))), "lost race");
        let mut active = saving.clone();
        active.status = "active".into();
        active.size = Some(5_000_000_000);
        active.tags = vec!["t2".into(), "t3".into()];
        s.image_update(&active, Some("saving")).await.expect("saving -> active");
        let got = s.image_get("i1").await.expect("get");
        assert_eq!(got.size, Some(5_000_000_000));
        assert_eq!(got.tags, vec!["t2".to_string(), "t3".to_string()]);
        s.image_create(&image("i2", "p1", Some(7))).await.expect("second");
        assert_eq!(s.image_bytes_of("p1").await.expect("sum"), 5_000_000_007);
        assert_eq!(s.image_bytes_of("nobody").await.expect("sum"), 0);
        assert_eq!(s.images_in_status("queued").await.expect("queued").len(), 1);
        s.image_delete("i1").await.expect("delete");
        assert!(matches!(s.image_get("i1").await, Err(StoreError::NotFound)));
    })
    .await;
}

#[tokio::test]
async fn image_visibility_query_sees_owned_public_and_member_images() {
    each(async |s| {
        s.image_create(&image("mine", "p1", None)).await.expect("create");
        s.image_create(&crate::images::Image { visibility: "public".into(), ..image("pub", "p9", None) })
            .await
            .expect("create");
        s.image_create(&crate::images::Image { visibility: "private".into(), ..image("hidden", "p9", None) })
            .await
            .expect("create");
        s.image_create(&image("shared", "p9", None)).await.expect("create");
        s.image_member_create(&crate::images::ImageMember {
            image_id: "shared".into(),
            member_id: "p1".into(),
            status: "pending".into(),
            created_at: 1,
            updated_at: 1,
        })
        .await
        .expect("member");
        let q = crate::images::ImageQuery { viewer_project: Some("p1".into()) };
        let mut ids: Vec<String> = s.image_list(&q).await.expect("list").into_iter().map(|i| i.id).collect();
        ids.sort();
        assert_eq!(ids, ["mine", "pub", "shared"]);
        assert_eq!(s.image_list(&Default::default()).await.expect("all").len(), 4);
        s.image_member_set_status("shared", "p1", "accepted", 2).await.expect("accept");
        assert_eq!(s.image_member_get("shared", "p1").await.expect("get").status, "accepted");
        assert!(matches!(
            s.image_member_create(&s.image_member_get("shared", "p1").await.expect("get")).await,
            Err(StoreError::Conflict(_))
        ));
        s.image_location_put(&crate::images::ImageLocation {
            image_id: "shared".into(),
            store: "local".into(),
            reference: "shared".into(),
            disk_format: "raw".into(),
            status: "active".into(),
            created_at: 1,
        })
        .await
        .expect("location");
        let ids = vec!["shared".to_string(), "mine".to_string()];
        assert_eq!(
            s.image_active_stores(&ids).await.expect("stores"),
            vec![("shared".to_string(), "local".to_string())]
        );
        s.image_delete("shared").await.expect("delete");
        assert!(s.image_locations("shared").await.expect("locations").is_empty(), "locations go with the image");
        assert!(s.image_memberships_of("p1").await.expect("memberships").is_empty());
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
