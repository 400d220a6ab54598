//! The reconciler against a real libvirtd: changes made behind the control plane's back (a
//! guest stopped or started with virsh, a domain removed, a domain no row owns) are noticed
//! and corrected, and an orphan is only deleted once its grace period has passed.

use std::time::Duration;

use hybridstack_driver_act::Compute as _;

use super::Reconciler;
use crate::testbed::{virsh, Testbed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_band_changes_are_corrected_and_orphans_collected_after_their_grace() {
    let bed = Testbed::new("recon", "10.94.0.0/24").await;
    let c = &bed.compute;
    let s = bed.server("drifter").await;
    assert_eq!(s.status(), "ACTIVE", "{s:?}");
    let domain = format!("hs-{}", s.id);
    let patient = Reconciler::new(c.clone(), Duration::from_secs(3600));

    // Stopped behind our back: the server becomes SHUTOFF; started again: ACTIVE.
    virsh(&["destroy", &domain]);
    let r = patient.run_once().await.expect("reconcile");
    assert_eq!(r.drift_fixed, 1, "{r:?}");
    assert_eq!(c.server_internal(&s.id).await.expect("server").status(), "SHUTOFF");
    virsh(&["start", &domain]);
    patient.run_once().await.expect("reconcile");
    assert_eq!(c.server_internal(&s.id).await.expect("server").status(), "ACTIVE");

    // A domain with our name and UUID that no server row owns: kept within the grace period,
    // deleted (with its disk) once the grace is over.
    let mut spec = c.boot_spec(&s, &s.flavor, false).await.expect("spec");
    spec.id = "6f1c2b7e-0000-4000-8000-0000000000aa".into();
    spec.nics.clear();
    bed.faulty.real().ensure_server(&spec).await.expect("an orphan");
    let orphan = format!("hs-{}", spec.id);
    assert!(virsh(&["list", "--all", "--name"]).contains(&orphan));
    let r = patient.run_once().await.expect("reconcile");
    assert_eq!(r.orphans_deleted, 0, "{r:?}");
    assert!(virsh(&["list", "--all", "--name"]).contains(&orphan), "kept within the grace period");
    let eager = Reconciler::new(c.clone(), Duration::ZERO);
    let r = eager.run_once().await.expect("reconcile");
    assert_eq!(r.orphans_deleted, 1, "{r:?}");
    assert!(!virsh(&["list", "--all", "--name"]).contains(&orphan), "the orphan is gone");
    assert!(!virsh(&["vol-list", &bed.cfg.pool]).contains(&format!("disk-{}", spec.id)), "with its disk");
    assert!(virsh(&["list", "--name"]).contains(&domain), "the owned server was left alone");

    // Its domain vanished: the server goes to ERROR with a fault naming the cloud.
    virsh(&["destroy", &domain]);
    virsh(&["undefine", &domain]);
    let r = patient.run_once().await.expect("reconcile");
    assert_eq!(r.vanished, 1, "{r:?}");
    let after = c.server_internal(&s.id).await.expect("server");
    assert_eq!(after.status(), "ERROR");
    assert!(after.fault.is_some_and(|f| f.message.contains("vanished")));

    c.server_delete(&bed.ctx, &s.id, "cleanup").await.expect("delete");
    bed.engine.drain().await.expect("engine");
    assert!(!virsh(&["net-list", "--all", "--name"]).contains(&bed.net), "the network went with the last port");
}

/// The upgrade path: a server made by a release before installation ids (its domain, network
/// and port filter carry the cloud's name only) is ignored by another installation with a
/// cloud of the same name, whose store has no rows for it, and adopted by the installation
/// that has them, with the guest left running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_from_before_installation_ids_are_adopted_only_by_the_installation_with_their_rows() {
    let old = Testbed::legacy("upgr", "10.91.0.0/24").await;
    let s = old.server("old").await;
    assert_eq!(s.status(), "ACTIVE", "{s:?}");
    let domain = format!("hs-{}", s.id);
    let filters = || virsh(&["nwfilter-list"]);
    let legacy_filter = virsh(&["dumpxml", &domain])
        .split("filter='")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .map(str::to_string)
        .expect("the guest's port filter");
    assert!(!legacy_filter.contains(&hybridstack_tag(&old.installation)), "named without an installation");

    // Another installation on the same host, with a cloud of the same name: eager, and still
    // it touches nothing, pass after pass.
    let other = Testbed::new("upgr", "10.90.0.0/24").await;
    assert_eq!(other.name, old.name, "the same cloud name");
    assert_ne!(other.installation, old.installation);
    let eager_other = Reconciler::new(other.compute.clone(), Duration::ZERO);
    let first = eager_other.run_once().await.expect("reconcile");
    assert_eq!((first.adopted, first.orphans_deleted), (0, 0), "{first:?}");
    assert!(first.unowned_left >= 3, "the server, network and port filter are reported: {first:?}");
    let again = eager_other.run_once().await.expect("reconcile");
    assert_eq!(again, Default::default(), "reported once, and nothing done: {again:?}");
    assert!(virsh(&["list", "--name"]).contains(&domain), "the guest still runs");
    assert!(filters().contains(&legacy_filter));
    assert!(virsh(&["net-list", "--name"]).contains(&old.net));

    // The first installation upgrades: what has its rows is adopted, nothing is deleted.
    old.upgrade();
    let eager = Reconciler::new(old.compute.clone(), Duration::ZERO);
    let r = eager.run_once().await.expect("reconcile");
    assert!(r.adopted >= 3, "{r:?}");
    assert_eq!((r.vanished, r.orphans_deleted), (0, 0), "{r:?}");
    let r = eager.run_once().await.expect("reconcile");
    assert_eq!((r.adopted, r.vanished, r.orphans_deleted), (0, 0, 0), "{r:?}");
    assert_eq!(old.compute.server_internal(&s.id).await.expect("server").status(), "ACTIVE");
    assert!(virsh(&["list", "--name"]).contains(&domain), "the guest still runs");
    let xml = virsh(&["dumpxml", &domain]);
    assert!(xml.contains(&old.installation), "its metadata names the installation");
    assert!(!filters().contains(&legacy_filter), "the filter has its new name");
    assert!(xml.contains(&format!("hs-port-{}-", hybridstack_tag(&old.installation))), "the guest uses it");
    // To the other installation it is now the first one's, and still not its own.
    let r = eager_other.run_once().await.expect("reconcile");
    assert_eq!((r.adopted, r.orphans_deleted), (0, 0), "{r:?}");
    assert!(virsh(&["list", "--name"]).contains(&domain));

    // Deleting through the upgraded installation removes all of it.
    old.compute.server_delete(&old.ctx, &s.id, "cleanup").await.expect("delete");
    old.engine.drain().await.expect("engine");
    assert!(!virsh(&["list", "--all", "--name"]).contains(&domain));
    assert!(!filters().contains(&s.id) && !filters().lines().any(|l| l.contains(&hybridstack_tag(&old.installation))));
    assert!(!virsh(&["net-list", "--all", "--name"]).contains(&old.net), "the network went with the last port");
}

/// The installation's tag in host object names (the first 12 hex digits of its id).
fn hybridstack_tag(installation: &str) -> String {
    installation.chars().filter(char::is_ascii_hexdigit).take(12).collect()
}
