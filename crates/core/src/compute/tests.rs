//! Compute service tests against a real store (SQLite, and PostgreSQL when configured). No
//! cloud is registered here: what needs one (booting) is tested against libvirt in the
//! driver's and the binary's tests; this covers validation, policy, quotas, listing and the
//! operation each request queues.

use std::collections::BTreeMap;
use std::sync::Arc;

use hybridstack_store::testing;

use super::*;
use crate::images::{ImagesConfig, NewImage};
use crate::network::{NetworkRequest as NetRequest, Networking, SubnetRequest};
use crate::policy::testing::{admin, member};
use crate::policy::RequestContext;

struct Env {
    compute: Arc<Compute>,
    image: String,
    _dir: tempfile::TempDir,
}

async fn env(store: hybridstack_store::Store) -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let clouds = crate::clouds::Clouds::new(store.clone(), Arc::new(crate::clouds::NoDrivers));
    let images = Images::open(store.clone(), dir.path(), ImagesConfig::default(), clouds.clone()).expect("images");
    let networking = Networking::new(store.clone(), clouds);
    let compute = Compute::without_clouds(store, images.clone(), networking);
    let a = admin();
    let img = images
        .create(
            &a,
            NewImage {
                name: Some("raw".into()),
                visibility: Some("public".into()),
                disk_format: Some("raw".into()),
                container_format: Some("bare".into()),
                ..Default::default()
            },
        )
        .await
        .expect("image");
    let mut up = images.begin_upload(&a, &img.id).await.expect("begin upload");
    up.session.as_mut().expect("session").write(&[0u8; 4096]).await.expect("write");
    images.finish_upload(up).await.expect("finish upload");
    compute
        .flavor_create(
            &a,
            FlavorRequest {
                id: Some("1".into()),
                name: "tiny".into(),
                vcpus: 1,
                ram: 128,
                disk: 1,
                is_public: true,
                ..Default::default()
            },
        )
        .await
        .expect("flavor");
    Env { compute, image: img.id, _dir: dir }
}

fn request(e: &Env, name: &str) -> CreateRequest {
    CreateRequest {
        name: name.into(),
        image_ref: e.image.clone(),
        flavor_ref: "1".into(),
        networks: NetworkRequest::None,
        ..Default::default()
    }
}

#[tokio::test]
async fn create_validates_before_anything_is_written() {
    for (backend, t) in testing::all().await {
        let e = env(t.store.clone()).await;
        let c = member("p1");
        let bad: Vec<(&str, CreateRequest)> = vec![
            ("blank name", CreateRequest { name: "  ".into(), ..request(&e, "x") }),
            ("long name", CreateRequest { name: "a".repeat(256), ..request(&e, "x") }),
            ("unknown flavor", CreateRequest { flavor_ref: "-1".into(), ..request(&e, "x") }),
            ("unknown image", CreateRequest { image_ref: "nope".into(), ..request(&e, "x") }),
            ("bad access IPv6", CreateRequest { access_ipv6: Some("notvalid".into()), ..request(&e, "x") }),
            (
                "long metadata value",
                CreateRequest { metadata: BTreeMap::from([("a".into(), "b".repeat(260))]), ..request(&e, "x") },
            ),
            (
                "unknown network",
                CreateRequest {
                    networks: NetworkRequest::List(vec![model::RequestedNetwork {
                        network_id: Some("0b7c5a3e-0000-4000-8000-000000000000".into()),
                        ..Default::default()
                    }]),
                    ..request(&e, "x")
                },
            ),
        ];
        for (what, r) in bad {
            match e.compute.server_create(&c, r).await {
                Err(CoreError::BadRequest(_)) => {}
                other => panic!("{backend}: {what}: expected 400, got {:?}", other.map(|c| c.servers.len())),
            }
        }
        let none = e.compute.server_list(&c, &ListQuery::default()).await.expect("list");
        assert!(none.is_empty(), "{backend}: a refused create wrote a server");
        assert!(e.compute.store().ops_live().await.expect("ops").is_empty(), "{backend}: a refused create queued work");
    }
}

#[tokio::test]
async fn create_writes_the_server_and_its_operation_together() {
    for (backend, t) in testing::all().await {
        let e = env(t.store.clone()).await;
        let c = member("p1");
        let r = CreateRequest { access_ipv6: Some("0:0:0:0:0:babe:220.12.22.2".into()), ..request(&e, "web") };
        let created =
            e.compute.server_create(&c, CreateRequest { request_id: "req-1".into(), ..r }).await.expect("create");
        let s = &created.servers[0];
        assert_eq!(s.status(), "BUILD", "{backend}");
        assert_eq!(s.task_state.as_deref(), Some("scheduling"), "{backend}");
        assert_eq!(s.access_ipv6, "::babe:dc0c:1602", "{backend}: access IPs are kept canonical");
        let ops = e.compute.store().ops_live_for(&s.id).await.expect("ops");
        assert_eq!(ops.len(), 1, "{backend}");
        assert_eq!(ops[0].kind, <ops::CreateServer as crate::operations::Params>::KIND, "{backend}");
        let actions = e.compute.instance_actions(&c, &s.id).await.expect("actions");
        assert_eq!(actions.len(), 1, "{backend}");
        assert_eq!((actions[0].action.as_str(), actions[0].request_id.as_str()), ("create", "req-1"), "{backend}");
        // Another project does not see it, not even to delete it.
        let other = member("p2");
        assert!(matches!(e.compute.server_get(&other, &s.id).await, Err(CoreError::NotFound(_))), "{backend}");
        assert!(matches!(e.compute.server_delete(&other, &s.id, "r").await, Err(CoreError::NotFound(_))), "{backend}");
        // A reader may look but not change.
        let reader = RequestContext { roles: vec!["reader".into()], ..c.clone() };
        assert!(e.compute.server_get(&reader, &s.id).await.is_ok(), "{backend}");
        assert!(
            matches!(e.compute.server_delete(&reader, &s.id, "r").await, Err(CoreError::Forbidden(_))),
            "{backend}"
        );
        // Deleting queues a second operation, after the create.
        e.compute.server_delete(&c, &s.id, "req-2").await.expect("delete");
        let ops = e.compute.store().ops_live_for(&s.id).await.expect("ops");
        assert_eq!(
            ops.iter().map(|o| o.kind.as_str()).collect::<Vec<_>>(),
            [
                <ops::CreateServer as crate::operations::Params>::KIND,
                <ops::DeleteServer as crate::operations::Params>::KIND
            ],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn quotas_cap_instances_and_multi_create_fits_between_min_and_max() {
    for (backend, t) in testing::all().await {
        let e = env(t.store.clone()).await;
        let c = member("p1");
        e.compute.quota_update(&admin(), "p1", BTreeMap::from([("instances".into(), 3)])).await.expect("quota");
        let r = CreateRequest { min_count: 2, max_count: 5, ..request(&e, "many") };
        let created = e.compute.server_create(&c, r).await.expect("create");
        assert_eq!(created.servers.len(), 2, "{backend}: max does not fit, min does");
        let names: Vec<_> = created.servers.iter().map(|s| s.name.clone()).collect();
        assert_eq!(names, ["many-1", "many-2"], "{backend}");
        match e.compute.server_create(&c, CreateRequest { min_count: 2, ..request(&e, "more") }).await {
            Err(CoreError::Forbidden(m)) => assert!(m.contains("Quota exceeded for instances"), "{backend}: {m}"),
            other => panic!("{backend}: expected a quota refusal, got {:?}", other.map(|c| c.servers.len())),
        }
        assert_eq!(e.compute.quota_usage("p1").await.expect("usage")["instances"], 2, "{backend}");
    }
}

#[tokio::test]
async fn lists_filter_and_page_newest_first() {
    for (backend, t) in testing::all().await {
        let e = env(t.store.clone()).await;
        let c = member("p1");
        let mut ids = Vec::new();
        for i in 0..7 {
            let s = e.compute.server_create(&c, request(&e, &format!("app-{i}"))).await.expect("create");
            ids.push(s.servers[0].id.clone());
        }
        e.compute.server_create(&member("p2"), request(&e, "theirs")).await.expect("create");
        let all = e.compute.server_list(&c, &ListQuery::default()).await.expect("list");
        let listed: Vec<_> = all.iter().map(|s| s.id.clone()).collect();
        let mut newest_first = ids.clone();
        newest_first.reverse();
        assert_eq!(listed, newest_first, "{backend}: own project only, newest first");

        let mut paged = Vec::new();
        let mut marker = None;
        loop {
            let q = ListQuery { limit: Some(3), marker: marker.clone(), ..Default::default() };
            let page = e.compute.server_list(&c, &q).await.expect("page");
            paged.extend(page.iter().map(|s| s.id.clone()));
            if page.len() < 3 {
                break;
            }
            marker = page.last().map(|s| s.id.clone());
        }
        assert_eq!(paged, newest_first, "{backend}: paging with markers sees every server once");

        let q = ListQuery { name: Some("^app-[35]$".into()), ..Default::default() };
        let names: Vec<_> = e.compute.server_list(&c, &q).await.expect("regex").into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["app-5", "app-3"], "{backend}");
        let q = ListQuery { limit: Some(-1), ..Default::default() };
        assert!(matches!(e.compute.server_list(&c, &q).await, Err(CoreError::BadRequest(_))), "{backend}");
        let q = ListQuery { changes_since: Some("2011/01/01".into()), ..Default::default() };
        assert!(matches!(e.compute.server_list(&c, &q).await, Err(CoreError::BadRequest(_))), "{backend}");
        let q = ListQuery { changes_since: Some("2051-01-01T12:34:00Z".into()), ..Default::default() };
        assert!(e.compute.server_list(&c, &q).await.expect("future").is_empty(), "{backend}");
        let q = ListQuery { marker: Some("no-such-server".into()), ..Default::default() };
        assert!(matches!(e.compute.server_list(&c, &q).await, Err(CoreError::BadRequest(_))), "{backend}");
        let wide = ListQuery { all_tenants: true, ..Default::default() };
        assert_eq!(e.compute.server_list(&admin(), &wide).await.expect("all").len(), 8, "{backend}");
    }
}

#[tokio::test]
async fn auto_networking_picks_the_one_network_and_refuses_to_guess_between_two() {
    for (backend, t) in testing::all().await {
        let e = env(t.store.clone()).await;
        let c = member("p1");
        let n = &e.compute.networking;
        let net =
            n.network_create(&c, NetRequest { name: Some("only".into()), ..Default::default() }).await.expect("net");
        n.subnet_create(
            &c,
            SubnetRequest { network_id: Some(net.id.clone()), cidr: Some("10.5.0.0/24".into()), ..Default::default() },
        )
        .await
        .expect("subnet");
        let r = CreateRequest { networks: NetworkRequest::Auto, ..request(&e, "auto") };
        let s = e.compute.server_create(&c, r.clone()).await.expect("create").servers.remove(0);
        assert_eq!(s.networks.len(), 1, "{backend}");
        assert_eq!(s.networks[0].network_id.as_deref(), Some(net.id.as_str()), "{backend}");
        n.network_create(&c, NetRequest { name: Some("second".into()), ..Default::default() }).await.expect("net");
        assert!(matches!(e.compute.server_create(&c, r).await, Err(CoreError::Conflict(_))), "{backend}");
    }
}

#[tokio::test]
async fn actions_need_the_right_state_and_an_unlocked_server() {
    for (backend, t) in testing::all().await {
        let e = env(t.store.clone()).await;
        let c = member("p1");
        let s = e.compute.server_create(&c, request(&e, "vm")).await.expect("create").servers.remove(0);
        // Still building: a stop is refused with the state named.
        match e.compute.server_action(&c, &s.id, ServerAction::Stop, "r1").await {
            Err(CoreError::Conflict(m)) => {
                assert!(m.contains("scheduling") || m.contains("building"), "{backend}: {m}")
            }
            other => panic!("{backend}: expected 409, got {other:?}"),
        }
        e.compute.server_action(&c, &s.id, ServerAction::Lock { reason: None }, "r2").await.expect("lock");
        match e.compute.server_delete(&c, &s.id, "r3").await {
            Err(CoreError::Conflict(m)) => assert!(m.contains("locked"), "{backend}: {m}"),
            other => panic!("{backend}: expected 409 for a locked server, got {other:?}"),
        }
        e.compute.server_action(&c, &s.id, ServerAction::Unlock, "r4").await.expect("unlock");
        e.compute.server_delete(&c, &s.id, "r5").await.expect("delete once unlocked");
    }
}

#[tokio::test]
async fn keypairs_import_any_openssh_key_and_generate_x509() {
    for (backend, t) in testing::all().await {
        let e = env(t.store.clone()).await;
        let c = member("p1");
        // An ECDSA P-384 public key line in OpenSSH's wire format, as Tempest sends one.
        let field = |b: &[u8]| [&u32::try_from(b.len()).expect("len").to_be_bytes()[..], b].concat();
        let mut point = vec![4u8];
        point.extend((0..96u8).map(|i| i.wrapping_mul(7)));
        let blob = [field(b"ecdsa-sha2-nistp384"), field(b"nistp384"), field(&point)].concat();
        use base64::Engine;
        let ecdsa = format!("ecdsa-sha2-nistp384 {} t@h", base64::engine::general_purpose::STANDARD.encode(&blob));
        let ecdsa = ecdsa.as_str();
        let (kp, private) = e
            .compute
            .keypair_create(
                &c,
                KeypairRequest { name: "k1".into(), public_key: Some(ecdsa.into()), ..Default::default() },
            )
            .await
            .expect("import");
        assert!(private.is_none(), "{backend}");
        assert_eq!(kp.fingerprint.split(':').count(), 16, "{backend}: {}", kp.fingerprint);
        let bad =
            KeypairRequest { name: "k2".into(), public_key: Some("ssh-rsa bm90IGEga2V5".into()), ..Default::default() };
        assert!(matches!(e.compute.keypair_create(&c, bad).await, Err(CoreError::BadRequest(_))), "{backend}");
        let dup = KeypairRequest { name: "k1".into(), public_key: Some(ecdsa.into()), ..Default::default() };
        assert!(matches!(e.compute.keypair_create(&c, dup).await, Err(CoreError::Conflict(_))), "{backend}");
        let (x, private) = e
            .compute
            .keypair_create(&c, KeypairRequest { name: "x1".into(), kind: Some("x509".into()), ..Default::default() })
            .await
            .expect("x509");
        assert!(x.public_key.starts_with("-----BEGIN CERTIFICATE-----"), "{backend}");
        assert!(private.is_some_and(|p| p.contains("PRIVATE KEY")), "{backend}");
        assert_eq!(x.fingerprint.split(':').count(), 20, "{backend}: SHA-1");
        // Keypairs belong to their user.
        assert!(
            matches!(e.compute.keypair_get(&member("p2"), "k1", None).await, Err(CoreError::NotFound(_))),
            "{backend}"
        );
        let names: Vec<_> = e.compute.keypair_list(&c, None).await.expect("list").into_iter().map(|k| k.name).collect();
        assert_eq!(names, ["k1", "x1"], "{backend}");
    }
}

#[tokio::test]
async fn flavors_hide_private_ones_until_shared() {
    for (backend, t) in testing::all().await {
        let e = env(t.store.clone()).await;
        let a = admin();
        let c = member("p1");
        let private = FlavorRequest {
            id: Some("p".into()),
            name: "private".into(),
            vcpus: 2,
            ram: 512,
            disk: 1,
            ..Default::default()
        };
        e.compute.flavor_create(&a, private).await.expect("create");
        assert!(matches!(e.compute.flavor_get(&c, "p").await, Err(CoreError::NotFound(_))), "{backend}");
        let dup = FlavorRequest { name: "private".into(), vcpus: 1, ram: 1, ..Default::default() };
        assert!(matches!(e.compute.flavor_create(&a, dup).await, Err(CoreError::Conflict(_))), "{backend}");
        e.compute.flavor_access_change(&a, "p", "p1", true).await.expect("share");
        assert!(e.compute.flavor_get(&c, "p").await.is_ok(), "{backend}");
        let mine: Vec<_> = e.compute.flavor_list(&c, None).await.expect("list").into_iter().map(|f| f.id).collect();
        assert_eq!(mine, ["1", "p"], "{backend}");
        let all = e.compute.flavor_list(&a, Some(None)).await.expect("all");
        assert_eq!(all.len(), 2, "{backend}: is_public=None lists public and private");
        assert!(
            matches!(
                e.compute
                    .flavor_create(&c, FlavorRequest { name: "x".into(), vcpus: 1, ram: 1, ..Default::default() })
                    .await,
                Err(CoreError::Forbidden(_))
            ),
            "{backend}: only admins create flavors"
        );
    }
}

#[tokio::test]
async fn server_groups_record_members_and_refuse_bad_policies() {
    for (backend, t) in testing::all().await {
        let e = env(t.store.clone()).await;
        let c = member("p1");
        assert!(
            matches!(e.compute.group_create(&c, "g", "sideways").await, Err(CoreError::BadRequest(_))),
            "{backend}"
        );
        let g = e.compute.group_create(&c, "spread", "anti-affinity").await.expect("group");
        let r = CreateRequest { server_group: Some(g.id.clone()), min_count: 2, ..request(&e, "member") };
        let created = e.compute.server_create(&c, r).await.expect("create");
        let ids: Vec<_> = created.servers.iter().map(|s| s.id.clone()).collect();
        assert_eq!(e.compute.group_get(&c, &g.id).await.expect("group").members, ids, "{backend}");
        // Another project neither sees the group nor may boot into it.
        let other = member("p2");
        assert!(matches!(e.compute.group_get(&other, &g.id).await, Err(CoreError::NotFound(_))), "{backend}");
        let r = CreateRequest { server_group: Some(g.id.clone()), ..request(&e, "intruder") };
        assert!(matches!(e.compute.server_create(&other, r).await, Err(CoreError::BadRequest(_))), "{backend}");
        e.compute.group_delete(&c, &g.id).await.expect("delete");
        assert!(e.compute.group_list(&c, false).await.expect("list").is_empty(), "{backend}");
    }
}
