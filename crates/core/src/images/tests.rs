//! Image service tests against a real store and real files (and `qemu-img` where formats matter).

use std::sync::Arc;

use async_trait::async_trait;
use hybridstack_driver::{
    BlockQuery, Capacity, ComputeCapabilities, ComputeQuery, DiskFormat, DriverError, Foreign, ImageStoreQuery,
    NetworkCapabilities, NetworkQuery, OwnershipQuery, StoredImage, VolumeCapabilities,
};
use hybridstack_store::testing::{self, TestStore};
use serde_json::json;

use super::*;
use crate::policy::{RequestContext, Scope};

struct Env {
    images: Arc<Images>,
    dir: tempfile::TempDir,
    _t: TestStore,
}

async fn env_with(cfg: ImagesConfig) -> Env {
    let t = testing::sqlite().await;
    let dir = tempfile::tempdir().expect("dir");
    let clouds = crate::clouds::Clouds::new(t.store.clone(), Arc::new(RawOnlyFactory));
    let images = Images::open(t.store.clone(), dir.path(), cfg, clouds).expect("images");
    Env { images, dir, _t: t }
}

async fn env() -> Env {
    env_with(ImagesConfig::default()).await
}

fn ctx(project: &str, roles: &[&str]) -> RequestContext {
    RequestContext {
        user_id: format!("user-{project}"),
        user_domain_id: "default".into(),
        scope: Scope::Project { id: project.into(), domain_id: "default".into() },
        roles: roles.iter().map(|r| r.to_string()).collect(),
        app_cred_id: None,
        app_cred_unrestricted: false,
    }
}

fn member(project: &str) -> RequestContext {
    ctx(project, &["member", "reader"])
}

fn new_image(disk: &str) -> NewImage {
    NewImage {
        name: Some("img".into()),
        disk_format: Some(disk.into()),
        container_format: Some("bare".into()),
        visibility: Some("private".into()),
        ..Default::default()
    }
}

async fn upload(e: &Env, c: &RequestContext, id: &str, data: &[u8]) -> Result<Image, CoreError> {
    let mut up = e.images.begin_upload(c, id).await?;
    let session = up.session.as_mut().expect("session");
    for chunk in data.chunks(7000) {
        session.write(chunk).await?;
    }
    e.images.finish_upload(up).await
}

fn staging_is_empty(e: &Env) -> bool {
    std::fs::read_dir(e.dir.path().join("images/.staging")).expect("staging").next().is_none()
}

fn qemu_img(args: &[&str]) {
    let out = std::process::Command::new("qemu-img").args(args).output().expect("qemu-img is installed");
    assert!(out.status.success(), "qemu-img {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn upload_hashes_stores_and_activates() {
    let e = env().await;
    let c = member("p1");
    let i = e.images.create(&c, new_image("raw")).await.expect("create");
    assert_eq!(i.status, "queued");
    let data: Vec<u8> = (0..100_000u32).map(|n| (n % 251) as u8).collect();
    let done = upload(&e, &c, &i.id, &data).await.expect("upload");
    assert_eq!(done.status, "active");
    assert_eq!(done.size, Some(100_000));
    assert_eq!(done.virtual_size, Some(100_000));
    assert_eq!(done.checksum.as_deref(), Some(format!("{:x}", md5::Md5::digest(&data)).as_str()));
    assert_eq!(done.os_hash_algo.as_deref(), Some("sha512"));
    let (_, path) = e.images.data(&c, &i.id).await.expect("data");
    assert_eq!(std::fs::read(path.expect("has data")).expect("read"), data);
    assert!(matches!(upload(&e, &c, &i.id, b"again").await, Err(CoreError::Conflict(_))), "active images take no data");
    assert!(staging_is_empty(&e));
    use md5::Digest as _;
}

#[tokio::test]
async fn a_hostile_qcow2_is_refused_and_leaves_nothing() {
    for require_match in [true, false] {
        let e = env_with(ImagesConfig { require_format_match: require_match, ..Default::default() }).await;
        let c = member("p1");
        let base = e.dir.path().join("base.raw").to_string_lossy().to_string();
        let top = e.dir.path().join("top.qcow2");
        qemu_img(&["create", "-f", "raw", &base, "1M"]);
        qemu_img(&["create", "-f", "qcow2", "-F", "raw", "-b", &base, &top.to_string_lossy()]);
        let i = e.images.create(&c, new_image("qcow2")).await.expect("create");
        let err = upload(&e, &c, &i.id, &std::fs::read(&top).expect("read")).await.expect_err("refused");
        assert!(matches!(err, CoreError::BadRequest(ref m) if m.contains("backing file")), "{err}");
        let after = e.images.get(&c, &i.id).await.expect("get");
        assert_eq!(after.status, "queued", "a refused upload leaves the image queued");
        assert_eq!(after.size, None);
        assert!(staging_is_empty(&e), "no partial file survives");
        assert!(e.images.data(&c, &i.id).await.expect("data").1.is_none());
    }
}

#[tokio::test]
async fn declared_format_must_match_when_required() {
    let e = env().await;
    let c = member("p1");
    let i = e.images.create(&c, new_image("qcow2")).await.expect("create");
    let err = upload(&e, &c, &i.id, &[1u8; 4096]).await.expect_err("raw bytes are not a qcow2");
    assert!(matches!(err, CoreError::BadRequest(_)));
    let lax = env_with(ImagesConfig { require_format_match: false, ..Default::default() }).await;
    let i = lax.images.create(&c, new_image("qcow2")).await.expect("create");
    assert_eq!(upload(&lax, &c, &i.id, &[1u8; 4096]).await.expect("accepted when not required").status, "active");
}

#[tokio::test]
async fn the_byte_quota_stops_an_upload_midway() {
    let e = env_with(ImagesConfig { quota_bytes: 10_000, ..Default::default() }).await;
    let c = member("p1");
    let first = e.images.create(&c, new_image("raw")).await.expect("create");
    upload(&e, &c, &first.id, &[0u8; 6000]).await.expect("fits");
    let second = e.images.create(&c, new_image("raw")).await.expect("create");
    let err = upload(&e, &c, &second.id, &[0u8; 6000]).await.expect_err("over quota");
    assert!(matches!(err, CoreError::PayloadTooLarge(_)), "{err}");
    assert!(staging_is_empty(&e));
    let other = member("p2");
    let theirs = e.images.create(&other, new_image("raw")).await.expect("create");
    upload(&e, &other, &theirs.id, &[0u8; 6000]).await.expect("quota is per project");
}

#[tokio::test]
async fn visibility_membership_and_privacy() {
    let e = env().await;
    let (owner, other, admin) = (member("p1"), member("p2"), ctx("adm", &["admin", "member", "reader"]));
    let private = e.images.create(&owner, new_image("raw")).await.expect("private");
    assert!(matches!(e.images.get(&other, &private.id).await, Err(CoreError::NotFound(_))));
    assert!(e.images.get(&admin, &private.id).await.is_ok());
    let public = NewImage { visibility: Some("public".into()), ..new_image("raw") };
    assert!(matches!(e.images.create(&owner, public.clone()).await, Err(CoreError::Forbidden(_))));
    e.images.create(&admin, public).await.expect("admins publish");
    let reader = ctx("p1", &["reader"]);
    assert!(matches!(e.images.create(&reader, new_image("raw")).await, Err(CoreError::Forbidden(_))));

    let shared = e
        .images
        .create(&owner, NewImage { visibility: Some("shared".into()), ..new_image("raw") })
        .await
        .expect("shared");
    assert!(matches!(e.images.member_add(&owner, &private.id, "p2").await, Err(CoreError::Forbidden(_))));
    e.images.member_add(&owner, &shared.id, "p2").await.expect("share");
    let listed = |v: Vec<Image>| v.into_iter().map(|i| i.id).collect::<Vec<_>>();
    let q = ListQuery { limit: 100, ..Default::default() };
    assert!(
        !listed(e.images.list(&other, &q).await.expect("list").0).contains(&shared.id),
        "pending shares are not listed"
    );
    assert!(e.images.get(&other, &shared.id).await.is_ok(), "but a member can see them");
    assert!(matches!(
        e.images.member_set_status(&owner, &shared.id, "p2", "accepted").await,
        Err(CoreError::Forbidden(_))
    ));
    e.images.member_set_status(&other, &shared.id, "p2", "accepted").await.expect("accept");
    assert!(listed(e.images.list(&other, &q).await.expect("list").0).contains(&shared.id));
    assert!(matches!(e.images.delete(&other, &shared.id).await, Err(CoreError::Forbidden(_))), "members cannot delete");
}

#[tokio::test]
async fn patches_follow_glances_rules() {
    let e = env().await;
    let c = member("p1");
    let i = e.images.create(&c, new_image("raw")).await.expect("create");
    let ok = e
        .images
        .update(
            &c,
            &i.id,
            &[
                PatchOp::Replace("/name".into(), json!("renamed")),
                PatchOp::AddNew("/os_distro".into(), json!("debian")),
                PatchOp::Replace("/tags".into(), json!(["b", "a", "b"])),
            ],
        )
        .await
        .expect("patch");
    assert_eq!(ok.name.as_deref(), Some("renamed"));
    assert_eq!(ok.properties.get("os_distro"), Some(&json!("debian")));
    assert_eq!(ok.tags, ["a", "b"]);
    type Expect = fn(&CoreError) -> bool;
    let cases: Vec<(PatchOp, Expect)> = vec![
        (PatchOp::Replace("/size".into(), json!(1)), |e| matches!(e, CoreError::Forbidden(_))),
        (PatchOp::AddNew("/os_glance_x".into(), json!("y")), |e| matches!(e, CoreError::Forbidden(_))),
        (PatchOp::AddNew("/os_distro".into(), json!("again")), |e| matches!(e, CoreError::Conflict(_))),
        (PatchOp::Replace("/missing".into(), json!("x")), |e| matches!(e, CoreError::Conflict(_))),
        (PatchOp::Remove("/name".into()), |e| matches!(e, CoreError::Forbidden(_))),
        (PatchOp::Replace("/visibility".into(), json!("public")), |e| matches!(e, CoreError::Forbidden(_))),
        (PatchOp::Replace("/disk_format".into(), json!("nonsense")), |e| matches!(e, CoreError::BadRequest(_))),
        (PatchOp::Replace("/min_ram".into(), json!(-1)), |e| matches!(e, CoreError::BadRequest(_))),
    ];
    for (op, expected) in cases {
        let err = e.images.update(&c, &i.id, std::slice::from_ref(&op)).await.expect_err("refused");
        assert!(expected(&err), "{op:?} gave {err:?}");
    }
    let still = e.images.get(&c, &i.id).await.expect("get");
    assert_eq!(still.name.as_deref(), Some("renamed"), "refused patches change nothing");
    let protect =
        e.images.update(&c, &i.id, &[PatchOp::Replace("/protected".into(), json!(true))]).await.expect("protect");
    assert!(protect.protected);
    assert!(matches!(e.images.delete(&c, &i.id).await, Err(CoreError::Forbidden(_))));
}

#[tokio::test]
async fn lists_filter_sort_and_page() {
    let e = env().await;
    let c = member("p1");
    let mut ids = Vec::new();
    for (n, disk) in ["raw", "qcow2", "raw", "iso", "raw"].iter().enumerate() {
        let mut ni = new_image(disk);
        ni.name = Some(format!("img-{n}"));
        ni.tags = if n % 2 == 0 { vec!["even".into()] } else { vec![] };
        ids.push(e.images.create(&c, ni).await.expect("create").id);
    }
    let q = |f: &[(&str, &str)]| ListQuery {
        filters: f.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        limit: 100,
        ..Default::default()
    };
    let names = |v: Vec<Image>| v.into_iter().filter_map(|i| i.name).collect::<Vec<_>>();
    assert_eq!(names(e.images.list(&c, &q(&[("disk_format", "raw")])).await.expect("list").0).len(), 3);
    assert_eq!(names(e.images.list(&c, &q(&[("name", "in:img-1,img-3")])).await.expect("list").0).len(), 2);
    let mut tagged = q(&[]);
    tagged.tags = vec!["even".into()];
    assert_eq!(e.images.list(&c, &tagged).await.expect("list").0.len(), 3);
    let mut sorted = q(&[]);
    sorted.sort = vec![(SortKey::Name, true)];
    assert_eq!(names(e.images.list(&c, &sorted).await.expect("list").0), ["img-0", "img-1", "img-2", "img-3", "img-4"]);
    let mut seen = Vec::new();
    let mut page = ListQuery { limit: 2, sort: vec![(SortKey::Name, true)], ..Default::default() };
    loop {
        let (items, more) = e.images.list(&c, &page).await.expect("page");
        seen.extend(items.iter().filter_map(|i| i.name.clone()));
        if !more {
            break;
        }
        page.marker = items.last().map(|i| i.id.clone());
    }
    assert_eq!(seen, ["img-0", "img-1", "img-2", "img-3", "img-4"], "paging neither skips nor repeats");
    assert!(matches!(e.images.list(&c, &q(&[("visibility", "nope")])).await, Err(CoreError::BadRequest(_))));
    assert!(e.images.list(&member("p2"), &q(&[])).await.expect("list").0.is_empty());
}

#[tokio::test]
async fn recovery_returns_interrupted_transfers_to_queued() {
    let e = env().await;
    let c = member("p1");
    let tagged = NewImage { tags: vec!["keep".into()], ..new_image("raw") };
    let i = e.images.create(&c, tagged).await.expect("create");
    let mut up = e.images.begin_upload(&c, &i.id).await.expect("begin");
    up.session.as_mut().expect("session").write(b"partial").await.expect("write");
    // A crash: the process dies with the upload open, so no guard runs.
    std::mem::forget(up);
    assert_eq!(e.images.get(&c, &i.id).await.expect("get").status, "saving");
    assert!(!staging_is_empty(&e));
    assert_eq!(e.images.recover().await.expect("recover"), 1);
    let recovered = e.images.get(&c, &i.id).await.expect("get");
    assert_eq!((recovered.status.as_str(), recovered.tags), ("queued", vec!["keep".to_string()]), "tags survive");
    assert!(staging_is_empty(&e));
    upload(&e, &c, &i.id, b"whole").await.expect("a fresh upload works");
}

/// A cloud whose own image store, like AWS's, takes only raw images. Core only asks it
/// questions; the engine's tests and the AWS scenario cover the copies themselves.
struct RawOnlyCloud;

#[async_trait]
impl ComputeQuery for RawOnlyCloud {
    fn capabilities(&self) -> ComputeCapabilities {
        ComputeCapabilities::default()
    }
    async fn capacity(&self) -> Result<Capacity, DriverError> {
        Ok(Capacity::default())
    }
    async fn console_output(&self, id: &str, _: Option<usize>) -> Result<String, DriverError> {
        Err(DriverError::NotSupported(format!("server {id}: no console here")))
    }
}

impl NetworkQuery for RawOnlyCloud {
    fn capabilities(&self) -> NetworkCapabilities {
        NetworkCapabilities::default()
    }
}

impl BlockQuery for RawOnlyCloud {
    fn volume_capabilities(&self) -> VolumeCapabilities {
        VolumeCapabilities::default()
    }
}

#[async_trait]
impl OwnershipQuery for RawOnlyCloud {
    async fn list_foreign(&self) -> Result<Vec<Foreign>, DriverError> {
        Ok(vec![])
    }
}

#[async_trait]
impl ImageStoreQuery for RawOnlyCloud {
    fn id(&self) -> &str {
        "raw-cloud"
    }
    fn description(&self) -> &str {
        "a store that takes raw only"
    }
    fn accepted_formats(&self) -> &[DiskFormat] {
        &[DiskFormat::Raw]
    }
    async fn local_path(&self, image_id: &str, _: &str) -> Result<std::path::PathBuf, DriverError> {
        Err(DriverError::NotFound(format!("image {image_id}: kept in the cloud")))
    }
}

struct RawOnlyFactory;

impl crate::clouds::DriverFactory for RawOnlyFactory {
    fn open(&self, c: &crate::clouds::CloudSpec) -> Result<crate::clouds::CloudHandle, CoreError> {
        let (kind, name) = (c.kind.as_str(), c.name.as_str());
        let cloud = Arc::new(RawOnlyCloud);
        Ok(crate::clouds::CloudHandle {
            name: name.into(),
            kind: kind.into(),
            compute: cloud.clone(),
            network: cloud.clone(),
            block: cloud.clone(),
            images: Some(cloud.clone()),
            ownership: cloud,
            acting: crate::clouds::Sealed::new(Arc::new(())),
        })
    }
}

/// The operations queued for an image, by kind, with their inputs.
async fn queued(e: &Env, image_id: &str) -> Vec<(String, serde_json::Value)> {
    let ops = e.images.store.ops_live_for(image_id).await.expect("ops");
    ops.into_iter().map(|o| (o.kind, serde_json::from_str(&o.input).expect("input"))).collect()
}

#[tokio::test]
async fn staged_import_and_copy_image_convert_for_the_target_store() {
    let e = env().await;
    e.images.clouds().add("raw", "raw-cloud", json!({})).await.expect("cloud");
    let c = member("p1");
    let q = e.dir.path().join("src.qcow2");
    qemu_img(&["create", "-f", "qcow2", &q.to_string_lossy(), "2M"]);
    let i = e.images.create(&c, new_image("qcow2")).await.expect("create");
    let mut up = e.images.begin_stage(&c, &i.id).await.expect("stage");
    up.session.as_mut().expect("session").write(&std::fs::read(&q).expect("read")).await.expect("write");
    e.images.finish_stage(up).await.expect("staged");
    assert_eq!(e.images.get(&c, &i.id).await.expect("get").status, "uploading");
    assert!(matches!(e.images.import(&c, &i.id, "web-download", vec![]).await, Err(CoreError::BadRequest(_))));
    e.images.import(&c, &i.id, "glance-direct", vec!["raw-cloud".into()]).await.expect("import");
    // The local data is taken at once; the copy into the cloud is queued for the engine.
    let mut ops = vec![];
    for _ in 0..200 {
        ops = queued(&e, &i.id).await;
        if !ops.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(ops, vec![("image.copy".to_string(), json!({"image_id": i.id, "stores": ["raw-cloud"]}))]);
    let active = e.images.get(&c, &i.id).await.expect("get");
    assert_eq!(active.status, "active");
    assert_eq!(active.virtual_size, Some(2 << 20));
    // What the engine copies: converted to raw, the one format that store takes.
    let copy = e.images.copy_source(&active, "raw-cloud").await.expect("source").expect("not copied yet");
    assert_eq!(copy.source.format, DiskFormat::Raw);
    assert_eq!(copy.source.size, 2 << 20, "converted to raw on the way");
    let converted = copy.source.path.clone();
    drop(copy);
    assert!(!converted.exists(), "the converted file goes once the copy is made");
    let stored = StoredImage { reference: "ami-0123".into(), format: DiskFormat::Raw };
    e.images.record_copy(&i.id, "raw-cloud", &stored).await.expect("record");
    let shown = e.images.get(&c, &i.id).await.expect("get");
    assert_eq!(super::cloud_images::location_on(&shown, "raw-cloud").as_deref(), Some("ami-0123"));
    assert!(e.images.copy_source(&shown, "raw-cloud").await.expect("source").is_none(), "copied once");
    // Deleting the image queues the removal of its cloud copy before the records go, and
    // rings the engine's doorbell for it.
    e.images.clouds().rung();
    e.images.delete(&c, &i.id).await.expect("delete");
    assert!(e.images.clouds().rung(), "the purge woke a worker");
    let purge = queued(&e, &i.id).await.into_iter().find(|(k, _)| k == "image.purge").expect("purge queued");
    assert_eq!(purge.1, json!({"image_id": i.id, "copies": [{"store": "raw-cloud", "reference": "ami-0123"}]}));
    assert!(matches!(
        e.images.import(&c, &i.id, "copy-image", vec!["nowhere".into()]).await,
        Err(CoreError::NotFound(_))
    ));
}
