//! The volume sagas against a real libvirtd with the test guest: create (blank, from a
//! snapshot), snapshot, attach to a running server, extend while attached, detach and
//! delete, each through the engine; a failed attach leaves the volume available; and the
//! state rules Cinder enforces (no delete while attached or with snapshots).

use hybridstack_core::compute::ServerAction;
use hybridstack_core::volume::{SnapshotRequest, VolumeRequest};
use hybridstack_core::CoreError;

use crate::testbed::{virsh, Testbed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_live_through_the_engine_and_attach_to_a_running_server() {
    let bed = Testbed::new("vols", "10.92.0.0/24").await;
    let (compute, engine, c) = (&bed.compute, &bed.engine, &bed.ctx);
    let volumes = &compute.volumes;
    let server = bed.server("vm").await;
    assert_eq!(server.status(), "ACTIVE", "{server:?}");

    let v = volumes
        .volume_create(c, VolumeRequest { size: Some(1), name: Some("data".into()), ..Default::default() })
        .await
        .expect("create");
    assert_eq!(v.status, "creating");
    assert_eq!(v.availability_zone, server.cloud, "the only cloud is the zone");
    engine.drain().await.expect("engine");
    assert_eq!(volumes.volume_get(c, &v.id).await.expect("show").status, "available");

    let s = volumes
        .snapshot_create(c, SnapshotRequest { volume_id: v.id.clone(), ..Default::default() })
        .await
        .expect("snapshot");
    engine.drain().await.expect("engine");
    assert_eq!(volumes.snapshot_get(c, &s.id).await.expect("show").status, "available");
    let refused = volumes.volume_delete(c, &v.id).await.expect_err("a volume with snapshots stays");
    assert!(matches!(refused, CoreError::BadRequest(_)), "{refused:?}");
    let small = volumes
        .volume_create(c, VolumeRequest { size: Some(0), snapshot_id: Some(s.id.clone()), ..Default::default() })
        .await
        .expect_err("size 0");
    assert!(matches!(small, CoreError::BadRequest(_)), "{small:?}");
    let copy = volumes
        .volume_create(c, VolumeRequest { size: Some(2), snapshot_id: Some(s.id.clone()), ..Default::default() })
        .await
        .expect("from the snapshot");
    engine.drain().await.expect("engine");
    assert_eq!(volumes.volume_get(c, &copy.id).await.expect("show").status, "available");

    // Attach to the running server: in-use with the device the cloud gave it.
    let device = compute.attach_volume(c, &server.id, &v.id, None).await.expect("attach");
    assert_eq!(device, "/dev/vdc", "the first device after the root disk and the config drive");
    engine.drain().await.expect("engine");
    let attached = volumes.volume_get(c, &v.id).await.expect("show");
    assert_eq!(attached.status, "in-use", "{attached:?}");
    assert_eq!(attached.attachments[0].device, device, "the cloud used the reserved device");
    assert_eq!(compute.volume_attachments(c, &server.id).await.expect("list"), vec![(v.id.clone(), device)]);
    assert!(virsh(&["domblklist", &format!("hs-{}", server.id)]).contains(&format!("vol-{}", v.id)));
    let refused = volumes.volume_delete(c, &v.id).await.expect_err("an attached volume stays");
    assert!(matches!(refused, CoreError::BadRequest(_)), "{refused:?}");
    // A resize would define the guest again without the volume: refused, not dropped.
    let resize = ServerAction::Resize { flavor_ref: "1".into() };
    let refused = compute.server_action(c, &server.id, resize, "req-resize").await.expect_err("refused");
    assert!(matches!(&refused, CoreError::Conflict(m) if m.contains("volumes attached")), "{refused:?}");

    // Online extend keeps it attached.
    volumes.volume_extend(c, &v.id, 2).await.expect("extend");
    engine.drain().await.expect("engine");
    let grown = volumes.volume_get(c, &v.id).await.expect("show");
    assert_eq!((grown.size, grown.status.as_str()), (2, "in-use"), "{grown:?}");

    compute.detach_volume(c, &server.id, &v.id).await.expect("detach");
    engine.drain().await.expect("engine");
    let detached = volumes.volume_get(c, &v.id).await.expect("show");
    assert_eq!(detached.status, "available", "{detached:?}");
    assert!(detached.attachments.is_empty());
    assert!(!virsh(&["domblklist", &format!("hs-{}", server.id)]).contains(&format!("vol-{}", v.id)));
    assert!(compute.volume_attachments(c, &server.id).await.expect("list").is_empty());

    // An attach the cloud cannot do (no such domain) leaves the volume available.
    let ghost = "00000000-0000-4000-8000-00000000dead";
    volumes.volume_attach(c, &copy.id, ghost, &server.cloud, "/dev/vdc").await.expect("accepted, then fails");
    engine.drain().await.expect("engine");
    let after = volumes.volume_get(c, &copy.id).await.expect("show");
    assert_eq!(after.status, "available", "{after:?}");
    assert!(after.attachments.is_empty(), "{after:?}");
    assert!(after.error.is_some(), "the reason is kept: {after:?}");

    // Another project sees none of it.
    let mut other = crate::testbed::member("p2");
    other.roles = vec!["member".into(), "reader".into()];
    assert!(matches!(volumes.volume_get(&other, &v.id).await, Err(CoreError::NotFound(_))));
    assert!(volumes.volume_list(&other, false).await.expect("list").is_empty());

    // Deleting a server frees what was attached to it.
    compute.attach_volume(c, &server.id, &v.id, None).await.expect("attach");
    engine.drain().await.expect("engine");
    assert_eq!(volumes.volume_get(c, &v.id).await.expect("show").status, "in-use");
    compute.server_delete(c, &server.id, "req-volume-test").await.expect("delete server");
    engine.drain().await.expect("engine");
    let freed = volumes.volume_get(c, &v.id).await.expect("show");
    assert_eq!(freed.status, "available", "{freed:?}");
    assert!(freed.attachments.is_empty(), "{freed:?}");

    volumes.snapshot_delete(c, &s.id).await.expect("delete snapshot");
    engine.drain().await.expect("engine");
    for id in [&v.id, &copy.id] {
        volumes.volume_delete(c, id).await.expect("delete");
    }
    engine.drain().await.expect("engine");
    assert!(volumes.volume_list(c, false).await.expect("list").is_empty());
    assert!(volumes.snapshot_list(c, false).await.expect("list").is_empty());
    let pool = virsh(&["vol-list", &bed.cfg.pool]);
    let left: Vec<&str> = pool
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with("vol-") || n.starts_with("snap-"))
        .collect();
    assert!(left.is_empty(), "nothing is left in the pool: {pool}");
}
