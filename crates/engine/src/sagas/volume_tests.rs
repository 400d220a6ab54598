//! The volume sagas against a real libvirtd with the test guest: create (blank, from a
//! snapshot), snapshot, attach to a running server, extend while attached, detach and
//! delete, each through the engine; a failed attach leaves the volume available; and the
//! state rules Cinder enforces (no delete while attached or with snapshots). Boot from
//! volume: a root volume made from the image, a volume of the user's at a second device,
//! both in the domain, and on delete the one marked delete_on_termination goes; a failed
//! boot deletes the volume it made and frees the user's.

use hybridstack_core::compute::{BlockDeviceRequest, CreateRequest, FlavorRequest, ServerAction};
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
    let (_, device) = compute.attach_volume(c, &server.id, &v.id, None).await.expect("attach");
    assert_eq!(device, "/dev/vdc", "the first device after the root disk and the config drive");
    engine.drain().await.expect("engine");
    let attached = volumes.volume_get(c, &v.id).await.expect("show");
    assert_eq!(attached.status, "in-use", "{attached:?}");
    assert_eq!(attached.attachments[0].device, device, "the cloud used the reserved device");
    assert_eq!(compute.volume_attachments(c, &server.id).await.expect("list"), vec![(v.id.clone(), device)]);
    assert!(virsh(&["domblklist", &format!("hs-{}", server.id)]).contains(&format!("vol-{}", v.id)));
    let refused = volumes.volume_delete(c, &v.id).await.expect_err("an attached volume stays");
    assert!(matches!(refused, CoreError::BadRequest(_)), "{refused:?}");
    // A resize defines the guest again: the attached volume stays in its definition.
    let bigger = FlavorRequest {
        id: Some("2".into()),
        name: "f2".into(),
        vcpus: 1,
        ram: 160,
        disk: 1,
        is_public: true,
        ..Default::default()
    };
    compute.flavor_create(c, bigger).await.expect("flavor");
    let resize = ServerAction::Resize { flavor_ref: "2".into() };
    compute.server_action(c, &server.id, resize, "req-resize").await.expect("resize");
    engine.drain().await.expect("engine");
    assert_eq!(compute.server_internal(&server.id).await.expect("server").status(), "VERIFY_RESIZE");
    assert!(virsh(&["domblklist", &format!("hs-{}", server.id)]).contains(&format!("vol-{}", v.id)));
    compute.server_action(c, &server.id, ServerAction::ConfirmResize, "req-confirm").await.expect("confirm");
    engine.drain().await.expect("engine");
    assert_eq!(compute.server_internal(&server.id).await.expect("server").status(), "ACTIVE");
    assert_eq!(volumes.volume_get(c, &v.id).await.expect("show").status, "in-use");

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
    let left = hybridstack_driver_libvirt::test_support::block_volumes_left(&bed.cfg.pool);
    assert!(left.is_empty(), "nothing is left in the pool: {left:?}");
}

fn from_image(image: &str) -> BlockDeviceRequest {
    BlockDeviceRequest {
        source_type: "image".into(),
        destination_type: "volume".into(),
        uuid: Some(image.into()),
        boot_index: Some(0),
        volume_size: Some(1),
        delete_on_termination: true,
        ..Default::default()
    }
}

fn existing(id: &str) -> BlockDeviceRequest {
    BlockDeviceRequest {
        source_type: "volume".into(),
        destination_type: "volume".into(),
        uuid: Some(id.into()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_boots_from_a_volume_and_its_volumes_follow_the_mapping() {
    let bed = Testbed::new("bfv", "10.93.0.0/24").await;
    let (compute, engine, c) = (&bed.compute, &bed.engine, &bed.ctx);
    let volumes = &compute.volumes;
    let data = volumes.volume_create(c, VolumeRequest { size: Some(1), ..Default::default() }).await.expect("create");
    engine.drain().await.expect("engine");

    let req = |name: &str| CreateRequest {
        name: name.into(),
        flavor_ref: "1".into(),
        networks: bed.networks.clone(),
        block_devices: vec![from_image(&bed.image), existing(&data.id)],
        ..Default::default()
    };
    // No image and no boot volume is refused before anything is written.
    let none = CreateRequest { block_devices: vec![existing(&data.id)], ..req("none") };
    assert!(matches!(compute.server_create(c, none).await, Err(CoreError::BadRequest(_))));

    let s = compute.server_create(c, req("bfv")).await.expect("create").servers.remove(0);
    assert_eq!(s.image_id, "", "a volume-backed server shows no image");
    engine.drain().await.expect("engine");
    let s = compute.server_internal(&s.id).await.expect("server");
    assert_eq!(s.status(), "ACTIVE", "{s:?}");
    let root_id = s.root_volume().expect("a root volume").to_string();
    let root = volumes.volume_get(c, &root_id).await.expect("root");
    assert_eq!((root.status.as_str(), root.bootable), ("in-use", true), "{root:?}");
    assert_eq!(root.attachments[0].device, "/dev/vda");
    assert_eq!(root.image_id.as_deref(), Some(bed.image.as_str()));
    let attached = volumes.volume_get(c, &data.id).await.expect("data");
    assert_eq!((attached.status.as_str(), attached.attachments[0].device.as_str()), ("in-use", "/dev/vdc"));
    let blk = virsh(&["domblklist", &format!("hs-{}", s.id)]);
    let line_of = |dev: &str| blk.lines().find(|l| l.trim_start().starts_with(dev)).unwrap_or("").to_string();
    assert!(line_of("vda").contains(&format!("vol-{root_id}")), "the root is the volume: {blk}");
    assert!(line_of("vdc").contains(&format!("vol-{}", data.id)), "the data volume is vdc: {blk}");
    let mut listed = compute.volume_attachments(c, &s.id).await.expect("list");
    listed.sort();
    let mut want = vec![(root_id.clone(), "/dev/vda".to_string()), (data.id.clone(), "/dev/vdc".to_string())];
    want.sort();
    assert_eq!(listed, want);

    let refused = compute.detach_volume(c, &s.id, &root_id).await.expect_err("the root stays");
    assert!(matches!(refused, CoreError::BadRequest(_)), "{refused:?}");
    let rebuild = ServerAction::Rebuild {
        image_ref: bed.image.clone(),
        name: None,
        metadata: None,
        access_ipv4: None,
        access_ipv6: None,
        description: None,
    };
    let refused = compute.server_action(c, &s.id, rebuild, "req-rebuild").await.expect_err("no image disk");
    assert!(matches!(refused, CoreError::NotSupported(_)), "{refused:?}");

    // Delete: the root (delete_on_termination) goes, the user's volume is free again.
    compute.server_delete(c, &s.id, "req-bfv-delete").await.expect("delete");
    engine.drain().await.expect("engine");
    engine.drain().await.expect("engine");
    assert!(volumes.volume_internal(&root_id).await.expect("read").is_none(), "the root volume is deleted");
    let freed = volumes.volume_get(c, &data.id).await.expect("data");
    assert_eq!(freed.status, "available", "{freed:?}");
    assert!(!virsh(&["vol-list", &bed.cfg.pool]).contains(&format!("vol-{root_id}")));

    // A boot that fails deletes the volume it made and frees the user's.
    *bed.faulty.fail.lock() = Some("ensure_server");
    let s = compute.server_create(c, req("broken")).await.expect("create").servers.remove(0);
    engine.drain().await.expect("engine");
    *bed.faulty.fail.lock() = None;
    let s = compute.server_internal(&s.id).await.expect("server");
    assert_eq!(s.status(), "ERROR", "{s:?}");
    let made = s.block_devices.iter().find(|b| b.boot).expect("root").volume_id.clone();
    assert!(volumes.volume_internal(&made).await.expect("read").is_none(), "the made volume is gone");
    assert!(!virsh(&["vol-list", &bed.cfg.pool]).contains(&format!("vol-{made}")));
    let freed = volumes.volume_get(c, &data.id).await.expect("data");
    assert_eq!((freed.status.as_str(), freed.attachments.len()), ("available", 0), "{freed:?}");
    compute.server_delete(c, &s.id, "req-broken-delete").await.expect("delete");
    engine.drain().await.expect("engine");
    volumes.volume_delete(c, &data.id).await.expect("delete data");
    engine.drain().await.expect("engine");
    assert!(volumes.volume_list(c, false).await.expect("list").is_empty());
}
