//! `hybridstack cloud add|list|check|remove`: registering the clouds servers run on.

use std::sync::Arc;

use anyhow::{bail, Result};
use clap::Subcommand;
use hybridstack_core::clouds::Clouds;
use hybridstack_core::identity::Project;
use hybridstack_driver_aws::{AwsConfig, CredentialSource};
use hybridstack_driver_libvirt::{detect_domain_type, LibvirtConfig};
use hybridstack_driver_vsphere::VsphereConfig;
use hybridstack_store::Store;

use crate::config::Settings;

#[derive(Subcommand)]
pub(crate) enum CloudCommand {
    /// Register a cloud. It is in the availability zone of its name unless told another.
    Add {
        #[command(subcommand)]
        kind: AddKind,
    },
    /// List the registered clouds and whether each can be opened; with --foreign, what each
    /// cloud's backend holds that looks like hybridstack's but is not this installation's
    /// (another installation's, or from before installation ids). Read only.
    List {
        #[arg(long)]
        foreign: bool,
        /// Only this cloud (with --foreign).
        #[arg(long)]
        cloud: Option<String>,
    },
    /// Print this installation's id, which every object its clouds make carries.
    Installation,
    /// Open every cloud and show its health and capacity.
    Check,
    /// Unregister a cloud (its servers must be deleted first).
    Remove { name: String },
    /// Create public flavors for the named sizes a cloud offers (EC2 instance types), with
    /// their real vCPUs and RAM; a flavor's name and id are the type's. Existing ones stay.
    SyncFlavors {
        #[arg(long)]
        cloud: String,
        /// Only types of these families (`t3`, `m5`…); all current ones when none is given.
        #[arg(long)]
        family: Vec<String>,
    },
    /// Register images a cloud keeps itself (AMIs) as public Glance images that servers on
    /// that cloud boot from.
    ImportImages {
        #[arg(long)]
        cloud: String,
        /// The cloud's image ids (ami-…).
        #[arg(required = true)]
        references: Vec<String>,
    },
}

#[derive(Subcommand)]
pub(crate) enum AddKind {
    /// A KVM/QEMU host through libvirt.
    Libvirt {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "qemu:///system")]
        uri: String,
        /// `kvm` or `qemu` (TCG); detected from the host when omitted.
        #[arg(long)]
        domain_type: Option<String>,
        /// The availability zone the cloud is in, which other clouds may share (default: a
        /// zone of the cloud's name).
        #[arg(long)]
        zone: Option<String>,
    },
    /// An AWS region (EC2). Credentials: the given access key (its secret from
    /// AWS_SECRET_ACCESS_KEY, sealed in the store), else the standard AWS chain; with
    /// --role-arn, that role is assumed with them.
    Aws {
        #[arg(long)]
        name: String,
        #[arg(long)]
        region: String,
        /// Another endpoint for every AWS service (a test double, a proxy).
        #[arg(long)]
        endpoint_url: Option<String>,
        #[arg(long)]
        access_key_id: Option<String>,
        #[arg(long)]
        role_arn: Option<String>,
        #[arg(long)]
        external_id: Option<String>,
        /// The On-Demand vCPU quota to assume where Service Quotas cannot be read (the
        /// account's own quota is used when it can be).
        #[arg(long)]
        vcpu_limit: u64,
        /// The availability zone of the region (default: the first available one).
        #[arg(long)]
        zone: Option<String>,
        /// Dedicate the cloud to one project (an AWS account of its own, reached with these
        /// keys or role): only that project's servers and volumes go there, and only it sees
        /// the zone.
        #[arg(long)]
        project_id: Option<String>,
    },
    /// A cluster of a VMware vCenter (6.5 or later), over its SOAP SDK. The password comes
    /// from VCENTER_PASSWORD and is sealed in the store.
    Vsphere(Box<VsphereArgs>),
}

#[derive(clap::Args)]
pub(crate) struct VsphereArgs {
    #[arg(long)]
    name: String,
    /// The SDK endpoint, `https://vc.example/sdk`.
    #[arg(long)]
    url: String,
    #[arg(long)]
    user: String,
    #[arg(long)]
    datacenter: String,
    #[arg(long)]
    cluster: String,
    /// The datastore holding the cloud's disks, images and volumes.
    #[arg(long)]
    datastore: String,
    /// A VM folder for the cloud's VMs, under the datacenter's (made when missing).
    #[arg(long)]
    folder: Option<String>,
    /// The VLAN ids the cloud's networks take, `first-last`.
    #[arg(long)]
    vlan_range: Option<String>,
    /// Accept a certificate no trusted authority signed (a lab vCenter's self-signed one).
    #[arg(long)]
    insecure: bool,
    /// PEM certificates to trust besides the system's (the vCenter's own CA).
    #[arg(long)]
    ca_file: Option<String>,
    /// Dedicate the cloud to one project: only that project's servers and volumes go
    /// there, and only it sees the zone.
    #[arg(long)]
    project_id: Option<String>,
    /// The availability zone the cloud is in, which other clouds may share (default: a
    /// zone of the cloud's name).
    #[arg(long)]
    zone: Option<String>,
}

async fn clouds(s: &Settings) -> Result<(Arc<Clouds>, hybridstack_store::Store)> {
    let store = crate::open_store(s).await?;
    crate::migrate_store(&store).await?;
    let ring = hybridstack_core::keys::Keys::load(&s.data_dir)?.credential;
    Ok((Clouds::with_secrets(store.clone(), Arc::new(crate::drivers::Builtin), ring), store))
}

pub(crate) async fn run(s: Settings, cmd: CloudCommand) -> Result<()> {
    let (clouds, store) = clouds(&s).await?;
    match cmd {
        CloudCommand::Add { kind: AddKind::Libvirt { name, uri, domain_type, zone } } => {
            add_libvirt(&s, &clouds, &store, name, uri, (domain_type, zone)).await
        }
        CloudCommand::Add { kind: AddKind::Vsphere(args) } => add_vsphere(&clouds, &store, *args).await,
        CloudCommand::Add { kind } => add_aws(&clouds, &store, kind).await,
        CloudCommand::Installation => {
            println!("{}", clouds.installation().await?);
            Ok(())
        }
        CloudCommand::List { foreign: true, cloud } => list_foreign(&clouds, cloud).await,
        CloudCommand::List { foreign: false, .. } => list(&clouds).await,
        CloudCommand::Check => check(&clouds).await,
        CloudCommand::SyncFlavors { cloud, family } => sync_flavors(&s, &clouds, &store, cloud, family).await,
        CloudCommand::ImportImages { cloud, references } => import_images(&s, &clouds, &store, cloud, references).await,
        CloudCommand::Remove { name } => remove(&clouds, &store, name).await,
    }
}

/// `cloud add libvirt`: the domain type detected unless given.
async fn add_libvirt(
    s: &Settings,
    clouds: &Clouds,
    store: &Store,
    name: String,
    uri: String,
    (domain_type, zone): (Option<String>, Option<String>),
) -> Result<()> {
    let domain_type = match domain_type {
        Some(t) if t == "kvm" || t == "qemu" => t,
        Some(t) => bail!("--domain-type must be kvm or qemu, not {t:?}"),
        None => {
            tokio::task::spawn_blocking({
                let uri = uri.clone();
                move || detect_domain_type(&uri)
            })
            .await??
        }
    };
    let installation = clouds.installation().await?;
    let mut cfg = LibvirtConfig::defaults(&name, &installation, &uri, &s.data_dir.display().to_string())?;
    cfg.domain_type = domain_type.clone();
    cfg.shutdown_timeout_secs = s.shutdown_timeout_secs;
    cfg.availability_zone = zone;
    if store.cloud_list().await?.iter().any(|c| c.name == name) {
        println!("cloud {name} is already registered: nothing changed");
        return Ok(());
    }
    clouds.add("libvirt", &name, serde_json::to_value(&cfg)?).await?;
    println!("registered libvirt cloud {name} at {uri} (domain type {domain_type})");
    Ok(())
}

/// `cloud add aws`: credentials from the flags, the secret from the environment.
async fn add_aws(clouds: &Clouds, store: &Store, kind: AddKind) -> Result<()> {
    let AddKind::Aws { name, region, endpoint_url, access_key_id, role_arn, external_id, vcpu_limit, zone, project_id } =
        kind
    else {
        bail!("not an AWS cloud");
    };
    let credentials = match (role_arn, access_key_id.clone()) {
        (Some(role_arn), access_key_id) => CredentialSource::AssumeRole { role_arn, external_id, access_key_id },
        (None, Some(access_key_id)) => CredentialSource::Keys { access_key_id },
        (None, None) => CredentialSource::Chain,
    };
    let secret = match access_key_id {
        Some(_) => Some(std::env::var("AWS_SECRET_ACCESS_KEY").map_err(|_| {
            anyhow::anyhow!("--access-key-id needs its secret in the AWS_SECRET_ACCESS_KEY environment variable")
        })?),
        None => None,
    };
    if let Some(p) = &project_id {
        store.project_get::<Project>(p).await.map_err(|_| anyhow::anyhow!("--project-id {p}: no such project"))?;
    }
    let cfg =
        AwsConfig { region: region.clone(), endpoint_url, credentials, vcpu_limit, zone, project_id, wait_secs: 600 };
    if store.cloud_list().await?.iter().any(|c| c.name == name) {
        println!("cloud {name} is already registered: nothing changed");
        return Ok(());
    }
    clouds.add_with_secret("aws", &name, serde_json::to_value(&cfg)?, secret).await?;
    println!("registered AWS cloud {name} in {region}");
    Ok(())
}

/// `cloud add vsphere`: the settings checked and the vCenter opened before anything is stored,
/// so a wrong password, an untrusted certificate or a missing cluster is refused with why.
async fn add_vsphere(clouds: &Clouds, store: &Store, args: VsphereArgs) -> Result<()> {
    if let Some(p) = &args.project_id {
        store.project_get::<Project>(p).await.map_err(|_| anyhow::anyhow!("--project-id {p}: no such project"))?;
    }
    let password = std::env::var("VCENTER_PASSWORD")
        .map_err(|_| anyhow::anyhow!("the vCenter password must be in the VCENTER_PASSWORD environment variable"))?;
    let name = args.name;
    let cfg = VsphereConfig {
        url: args.url,
        user: args.user,
        datacenter: args.datacenter,
        cluster: args.cluster,
        datastore: args.datastore,
        folder: args.folder,
        vlan_range: args.vlan_range,
        insecure: args.insecure,
        ca_file: args.ca_file,
        project_id: args.project_id,
        availability_zone: args.zone,
    };
    cfg.validate().map_err(|e| anyhow::anyhow!(e))?;
    if store.cloud_list().await?.iter().any(|c| c.name == name) {
        println!("cloud {name} is already registered: nothing changed");
        return Ok(());
    }
    let installation = clouds.installation().await?;
    let cloud = hybridstack_driver_vsphere::VsphereCloud::open(&name, &installation, cfg.clone(), &password)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open vCenter cloud {name}: {e}"))?;
    let health = cloud.health().await.map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    clouds.add_with_secret("vsphere", &name, serde_json::to_value(&cfg)?, Some(password)).await?;
    println!(
        "registered vCenter cloud {name} at {} ({}, clock skew {:+} s)",
        cfg.url, health.about.full_name, health.clock_skew_secs
    );
    Ok(())
}

/// `cloud list --foreign`: what looks like ours on the backends but is not this installation's.
async fn list_foreign(clouds: &Clouds, cloud: Option<String>) -> Result<()> {
    clouds.refresh().await?;
    let mut failed = 0;
    for (name, why) in clouds.broken() {
        if cloud.as_ref().is_none_or(|c| *c == name) {
            eprintln!("{name}: unavailable, not listed: {why}");
            failed += 1;
        }
    }
    let mut handles = clouds.all();
    handles.retain(|h| cloud.as_ref().is_none_or(|c| *c == h.name));
    if handles.is_empty() && failed == 0 {
        bail!("no such cloud: {}", cloud.unwrap_or_default());
    }
    for h in handles {
        match h.ownership.list_foreign().await {
            Ok(found) => {
                for f in found {
                    println!(
                        "{}\t{}\t{}\t{}\t{}{}",
                        h.name,
                        f.kind,
                        if f.id.is_empty() { "-" } else { &f.id },
                        f.reference,
                        f.maker,
                        if f.adoptable { " (adopted if this installation has its row)" } else { "" }
                    );
                }
            }
            Err(e) => {
                eprintln!("{}: cannot list: {e}", h.name);
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!("{failed} cloud(s) could not be listed");
    }
    Ok(())
}

/// `cloud list`: each cloud, where it is, and whether it opens.
async fn list(clouds: &Clouds) -> Result<()> {
    clouds.refresh().await?;
    for c in clouds.list().await? {
        let health = c.error.map_or("ok".to_string(), |e| format!("unavailable: {e}"));
        println!(
            "{}\t{}\t{}\t{}",
            c.name,
            c.kind,
            c.config
                .get("uri")
                .or_else(|| c.config.get("region"))
                .or_else(|| c.config.get("url"))
                .and_then(|u| u.as_str())
                .unwrap_or(""),
            health
        );
    }
    Ok(())
}

/// `cloud check`: every cloud answers with its capacity, or the command fails.
async fn check(clouds: &Clouds) -> Result<()> {
    clouds.refresh().await?;
    let mut bad = 0;
    for (name, why) in clouds.broken() {
        println!("{name}: unavailable: {why}");
        bad += 1;
    }
    for h in clouds.all() {
        match h.compute.capacity().await {
            Ok(c) => {
                println!(
                    "{}: ok ({}, {} vCPUs, {} MiB RAM, {} GiB disk free)",
                    h.name, c.hypervisor_type, c.vcpus, c.memory_mb, c.free_disk_gb
                );
                match h.compute.describe().await {
                    Ok(facts) => facts.iter().for_each(|f| println!("{}: {f}", h.name)),
                    Err(e) => {
                        println!("{}: unavailable: {e}", h.name);
                        bad += 1;
                    }
                }
            }
            Err(e) => {
                println!("{}: unavailable: {e}", h.name);
                bad += 1;
            }
        }
    }
    if bad > 0 {
        bail!("{bad} cloud(s) unavailable");
    }
    Ok(())
}

/// `cloud sync-flavors`: a public flavor per machine size the cloud offers.
async fn sync_flavors(
    s: &Settings,
    clouds: &Arc<Clouds>,
    store: &Store,
    cloud: String,
    family: Vec<String>,
) -> Result<()> {
    let handle = clouds.require(&cloud).await?;
    let offered = handle.compute.offered_flavors().await.map_err(|e| anyhow::anyhow!("{cloud}: {e}"))?;
    let images =
        hybridstack_core::images::Images::open(store.clone(), &s.data_dir, Default::default(), clouds.clone())?;
    let networking = hybridstack_core::network::Networking::new(store.clone(), clouds.clone());
    let compute =
        hybridstack_core::compute::Compute::new(store.clone(), images, networking, clouds.clone(), Default::default());
    let admin = store.project_by_name::<Project>("default", "admin").await?;
    let ctx = hybridstack_core::policy::RequestContext {
        user_id: "hybridstack-cli".into(),
        user_domain_id: "default".into(),
        scope: hybridstack_core::policy::Scope::Project { id: admin.id, domain_id: "default".into() },
        roles: vec!["admin".into(), "member".into(), "reader".into()],
        app_cred_id: None,
        app_cred_unrestricted: false,
    };
    let wanted = offered.iter().filter(|f| {
        let fam = f.name.split('.').next().unwrap_or_default();
        if family.is_empty() {
            f.current
        } else {
            family.iter().any(|x| x == fam)
        }
    });
    let (mut made, mut kept) = (0, 0);
    for f in wanted {
        let req = hybridstack_core::compute::FlavorRequest {
            id: Some(f.name.clone()),
            name: f.name.clone(),
            vcpus: f.vcpus,
            ram: f.ram_mb,
            disk: 0,
            is_public: true,
            rxtx_factor: 1.0,
            description: Some(format!("{} on cloud {cloud}", f.name)),
            ..Default::default()
        };
        match compute.flavor_create(&ctx, req).await {
            Ok(_) => made += 1,
            Err(hybridstack_core::CoreError::Conflict(_)) => kept += 1,
            Err(e) => bail!("flavor {}: {e}", f.name),
        }
    }
    println!("{made} flavor(s) created, {kept} already there");
    Ok(())
}

/// `cloud import-images`: the cloud's own images registered in Glance.
async fn import_images(
    s: &Settings,
    clouds: &Arc<Clouds>,
    store: &Store,
    cloud: String,
    references: Vec<String>,
) -> Result<()> {
    let handle = clouds.require(&cloud).await?;
    let images =
        hybridstack_core::images::Images::open(store.clone(), &s.data_dir, Default::default(), clouds.clone())?;
    let owner = store.project_by_name::<Project>("default", "admin").await?.id;
    for r in references {
        let found = handle.compute.cloud_image(&r).await.map_err(|e| anyhow::anyhow!("{r}: {e}"))?;
        let i = images
            .register_cloud_image(&owner, &cloud, &r, &found.name, found.min_disk_gb, &found.architecture)
            .await?;
        println!("{}\t{}\t{r}", i.id, i.name.as_deref().unwrap_or_default());
    }
    Ok(())
}

/// `cloud remove`: refused while the cloud runs servers.
async fn remove(clouds: &Clouds, store: &Store, name: String) -> Result<()> {
    if !store.server_ids_on(&name).await?.is_empty() {
        bail!("cloud {name} still runs servers; delete them first");
    }
    clouds.remove(&name).await?;
    println!("removed cloud {name}");
    Ok(())
}
