//! The reconciler against a real libvirtd: changes made behind the control plane's back (a
//! guest stopped or started with virsh, a domain removed, a domain no row owns) are noticed
//! and corrected, and an orphan is only deleted once its grace period has passed.

use std::time::Duration;

use hybridstack_driver::Compute as _;

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
    bed.faulty.real.ensure_server(&spec).await.expect("an orphan");
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
