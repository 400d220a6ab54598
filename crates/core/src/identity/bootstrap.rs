//! First-run state: the default domain, the admin account, the standard roles and the
//! catalog of what this binary serves. Every step is create-if-absent, so running it again
//! changes nothing (and says so), and `serve` reuses the catalog step to keep endpoint URLs
//! in step with the configured public URL.

use hybridstack_store::{Store, StoreError};

use super::{
    new_id, ActorType, Assignment, Domain, Endpoint, Project, Region, Role, Service, TargetType, User,
    DEFAULT_DOMAIN_ID,
};
use crate::clock::now_micros;
use crate::secrets::PasswordHasher;
use crate::CoreError;

/// (service type, name, path prefix) of every API this binary serves.
pub const SERVICES: &[(&str, &str, &str)] = &[
    ("identity", "keystone", "/identity"),
    ("image", "glance", "/image"),
    ("network", "neutron", "/network"),
    ("compute", "nova", "/compute/v2.1"),
    ("block-storage", "cinder", "/volume/v3/$(project_id)s"),
    // Older clients (and Tempest's default) look volumes up under this alias.
    ("volumev3", "cinderv3", "/volume/v3/$(project_id)s"),
];

#[derive(Debug, Default)]
pub struct BootstrapReport {
    /// One line per thing created or corrected.
    pub changes: Vec<String>,
}

async fn role_id(store: &Store, name: &str, report: &mut BootstrapReport) -> Result<String, CoreError> {
    if let Some(r) = store.role_list::<Role>().await?.into_iter().find(|r| r.name == name && r.domain_id.is_none()) {
        return Ok(r.id);
    }
    let r = Role { id: new_id(), name: name.into(), domain_id: None, description: String::new() };
    store.role_create(&r).await?;
    report.changes.push(format!("created role {name}"));
    Ok(r.id)
}

/// Creates what is missing. The admin password is set only when the admin user is created.
pub async fn bootstrap(
    store: &Store,
    hasher: PasswordHasher,
    admin_password: &str,
    public_url: &str,
    region: &str,
) -> Result<BootstrapReport, CoreError> {
    let mut report = BootstrapReport::default();
    if store.installation_id().await?.is_none() {
        let id = crate::installation::ensure(store).await?;
        report.changes.push(format!("created installation {id}"));
    }
    if store.domain_get::<Domain>(DEFAULT_DOMAIN_ID).await.is_err() {
        store
            .domain_create(&Domain {
                id: DEFAULT_DOMAIN_ID.into(),
                name: "Default".into(),
                description: "The default domain".into(),
                enabled: true,
                extra: Default::default(),
            })
            .await?;
        report.changes.push("created domain Default".into());
    }
    let admin = role_id(store, "admin", &mut report).await?;
    let member = role_id(store, "member", &mut report).await?;
    let reader = role_id(store, "reader", &mut report).await?;
    let implied = store.implied_role_list().await?;
    for (p, i, label) in [(&admin, &member, "admin implies member"), (&member, &reader, "member implies reader")] {
        if !implied.iter().any(|(a, b)| a == p && b == i) {
            store.implied_role_add(p, i).await?;
            report.changes.push(format!("created inference {label}"));
        }
    }
    let project = match store.project_by_name(DEFAULT_DOMAIN_ID, "admin").await {
        Ok(p) => p,
        Err(StoreError::NotFound) => {
            let p = Project {
                id: new_id(),
                name: "admin".into(),
                domain_id: DEFAULT_DOMAIN_ID.into(),
                parent_id: None,
                description: "Bootstrap project for initializing the cloud.".into(),
                enabled: true,
                tags: vec![],
                extra: Default::default(),
            };
            store.project_create(&p).await?;
            report.changes.push("created project admin".into());
            p
        }
        Err(e) => return Err(e.into()),
    };
    let user = match store.user_by_name(DEFAULT_DOMAIN_ID, "admin").await {
        Ok(u) => u,
        Err(StoreError::NotFound) => {
            if admin_password.is_empty() {
                return Err(CoreError::BadRequest("the admin password must not be empty".into()));
            }
            let now = now_micros();
            let pw = admin_password.to_string();
            let hash = tokio::task::spawn_blocking(move || hasher.hash(&pw))
                .await
                .map_err(|e| CoreError::Internal(e.to_string()))??;
            let u = User {
                id: new_id(),
                name: "admin".into(),
                domain_id: DEFAULT_DOMAIN_ID.into(),
                enabled: true,
                default_project_id: Some(project.id.clone()),
                description: String::new(),
                extra: Default::default(),
                password_expires_at: None,
                created_at: now,
            };
            store.user_create(&u, Some(&hash)).await?;
            report.changes.push("created user admin".into());
            u
        }
        Err(e) => return Err(e.into()),
    };
    for (target_type, target_id, label) in [
        (TargetType::Project, project.id.as_str(), "granted admin on project admin"),
        (TargetType::System, "all", "granted admin on the system"),
    ] {
        let a = Assignment {
            actor_type: ActorType::User,
            actor_id: user.id.clone(),
            target_type,
            target_id: target_id.into(),
            role_id: admin.clone(),
            inherited: false,
        };
        if !store.assignment_exists(&a).await? {
            store.assignment_add(&a).await?;
            report.changes.push(label.into());
        }
    }
    report.changes.extend(ensure_catalog(store, public_url, region).await?);
    Ok(report)
}

/// Makes the catalog list every served API at `public_url` in `region`; returns what changed.
pub async fn ensure_catalog(store: &Store, public_url: &str, region: &str) -> Result<Vec<String>, CoreError> {
    let mut changes = Vec::new();
    let base = public_url.trim_end_matches('/');
    if store.region_get::<Region>(region).await.is_err() {
        store.region_create(&Region { id: region.into(), description: String::new(), parent_region_id: None }).await?;
        changes.push(format!("created region {region}"));
    }
    let services = store.service_list::<Service>().await?;
    let endpoints = store.endpoint_list::<Endpoint>().await?;
    for (stype, name, prefix) in SERVICES {
        let service = match services.iter().find(|s| s.service_type == *stype && s.name == *name) {
            Some(s) => s.clone(),
            None => {
                let s = Service {
                    id: new_id(),
                    service_type: stype.to_string(),
                    name: name.to_string(),
                    description: String::new(),
                    enabled: true,
                };
                store.service_create(&s).await?;
                changes.push(format!("created service {name} ({stype})"));
                s
            }
        };
        let url = format!("{base}{prefix}");
        for interface in ["public", "internal", "admin"] {
            let existing = endpoints.iter().find(|e| {
                e.service_id == service.id && e.interface == interface && e.region_id.as_deref() == Some(region)
            });
            match existing {
                Some(e) if e.url == url => {}
                Some(e) => {
                    store.endpoint_update(&Endpoint { url: url.clone(), ..e.clone() }).await?;
                    changes.push(format!("moved {interface} {stype} endpoint to {url}"));
                }
                None => {
                    store
                        .endpoint_create(&Endpoint {
                            id: new_id(),
                            service_id: service.id.clone(),
                            interface: interface.into(),
                            region_id: Some(region.into()),
                            url: url.clone(),
                            enabled: true,
                        })
                        .await?;
                    changes.push(format!("created {interface} {stype} endpoint {url}"));
                }
            }
        }
    }
    Ok(changes)
}
