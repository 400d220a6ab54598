//! The server sagas against a real libvirtd (QEMU under TCG) with the project's test guest,
//! through a wrapper that makes one chosen driver call fail. For each call the create saga
//! makes, a failure there must leave the server in ERROR with the reason, and nothing behind
//! in libvirt (domain, disk, network) or Neutron (ports).

use hybridstack_core::compute::CreateRequest;

use crate::testbed::{virsh, Testbed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_any_create_step_leaves_nothing_behind() {
    let bed = Testbed::new("fault", "10.96.0.0/24").await;
    let (compute, engine, c, fail, cfg) = (&bed.compute, &bed.engine, &bed.ctx, &bed.faulty.fail, &bed.cfg);
    let networking = &compute.networking;
    let net_id = bed.net.clone();

    // The driver calls the create saga makes, in order: schedule (capacity), network
    // (ensure_network, ensure_port), spawn (ensure_server, which returns once the guest runs,
    // so finish asks nothing). `None` is the control run: it must succeed, and its delete must
    // clean up just as well.
    for point in [Some("capacity"), Some("ensure_network"), Some("ensure_port"), Some("ensure_server"), None] {
        *fail.lock() = point;
        let req = CreateRequest {
            name: format!("vm-{}", point.unwrap_or("ok")),
            image_ref: bed.image.clone(),
            flavor_ref: "1".into(),
            networks: bed.networks.clone(),
            ..Default::default()
        };
        let s = compute.server_create(c, req).await.expect("create").servers.remove(0);
        engine.drain().await.expect("engine");
        let after = compute.server_internal(&s.id).await.expect("server");
        match point {
            Some(call) => {
                assert_eq!(after.status(), "ERROR", "failing {call}: {after:?}");
                let fault = after.fault.clone().expect("a fault");
                let expected = if call == "capacity" { "No valid host was found" } else { call };
                assert!(fault.message.contains(expected), "failing {call}: fault {:?}", fault.message);
                let actions = compute.instance_actions(c, &s.id).await.expect("actions");
                assert_eq!(actions[0].events[0].result.as_deref(), Some("Error"), "failing {call}");
            }
            None => {
                assert_eq!(after.status(), "ACTIVE", "{after:?}");
                assert!(virsh(&["list", "--name"]).contains(&format!("hs-{}", s.id)), "the control guest runs");
                *fail.lock() = None;
            }
        }
        // An ERROR server still holds its row; deleting it (as a user would) must succeed and,
        // for the control run, take the guest down with it.
        compute.server_delete(c, &s.id, "del").await.expect("delete");
        engine.drain().await.expect("engine");
        let what = point.unwrap_or("nothing");
        assert!(!virsh(&["list", "--all", "--name"]).contains(&s.id), "failing {what}: a domain is left");
        let vols = virsh(&["vol-list", &cfg.pool]);
        assert!(!vols.contains(&format!("disk-{}", s.id)), "failing {what}: a disk is left: {vols}");
        assert!(
            !virsh(&["net-list", "--all", "--name"]).contains(&net_id),
            "failing {what}: the libvirt network is left"
        );
        let ports = networking.children_ports(&net_id).await.expect("ports");
        assert!(ports.is_empty(), "failing {what}: ports are left: {ports:?}");
    }
    assert!(compute.store().ops_live().await.expect("ops").is_empty(), "every operation ended");
}
