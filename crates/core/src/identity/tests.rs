//! Identity service tests against a real store (SQLite, and PostgreSQL when configured).

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::policy::RequestContext;
use crate::secrets::PasswordHasher;
use hybridstack_store::testing::{self, TestStore};

struct Node {
    id: Arc<Identity>,
    _t: Option<TestStore>,
    _dir: tempfile::TempDir,
}

const PW: &str = "admin-secret";

async fn node_on(t: TestStore) -> Node {
    let dir = tempfile::tempdir().expect("tempdir");
    crate::keys::Keys::create_missing(dir.path()).expect("keys");
    let hasher = PasswordHasher::new(4).expect("cost");
    bootstrap(&t.store, hasher, PW, "http://127.0.0.1:1", "RegionOne").await.expect("bootstrap");
    let keys = crate::keys::Keys::load(dir.path()).expect("load keys");
    let id = Identity::new(t.store.clone(), keys, hasher, IdentityConfig::default()).await.expect("identity");
    Node { id, _t: Some(t), _dir: dir }
}

async fn node() -> Node {
    node_on(testing::sqlite().await).await
}

fn password_auth(user: &str, password: &str, project: Option<&str>) -> AuthRequest {
    let mut v = json!({"identity": {"methods": ["password"],
        "password": {"user": {"name": user, "domain": {"id": "default"}, "password": password}}}});
    if let Some(p) = project {
        v["scope"] = json!({"project": {"name": p, "domain": {"name": "Default"}}});
    }
    AuthRequest(v)
}

async fn login(n: &Node, user: &str, pw: &str, project: Option<&str>) -> Result<IssuedToken, crate::CoreError> {
    n.id.authenticate(&password_auth(user, pw, project)).await
}

async fn admin_ctx(n: &Node) -> RequestContext {
    let t = login(n, "admin", PW, Some("admin")).await.expect("admin login");
    (*n.id.context(&t.token).await.expect("context").1).clone()
}

/// A project with a user holding `role` on it; returns (project id, user id).
async fn user_with_role(n: &Node, admin: &RequestContext, name: &str, role: &str) -> (String, String) {
    let p = n.id.project_create(admin, project_named(&format!("proj-{name}"))).await.expect("project");
    let u =
        n.id.user_create(
            admin,
            User {
                id: String::new(),
                name: name.into(),
                domain_id: DEFAULT_DOMAIN_ID.into(),
                enabled: true,
                default_project_id: None,
                description: String::new(),
                extra: Default::default(),
                password_expires_at: None,
                created_at: 0,
            },
            Some(format!("{name}-pw")),
        )
        .await
        .expect("user");
    let r = n.id.role_list(admin).await.expect("roles").into_iter().find(|r| r.name == role).expect("role exists");
    let a = Assignment {
        actor_type: ActorType::User,
        actor_id: u.id.clone(),
        target_type: TargetType::Project,
        target_id: p.id.clone(),
        role_id: r.id,
        inherited: false,
    };
    n.id.grant(admin, &a).await.expect("grant");
    (p.id, u.id)
}

#[tokio::test]
async fn bootstrap_twice_changes_nothing() {
    let t = testing::sqlite().await;
    let h = PasswordHasher::new(4).expect("cost");
    let first = bootstrap(&t.store, h, PW, "http://h:1", "RegionOne").await.expect("first");
    assert!(first.changes.len() > 5);
    let second = bootstrap(&t.store, h, "another", "http://h:1", "RegionOne").await.expect("second");
    assert!(second.changes.is_empty(), "{:?}", second.changes);
    let moved = ensure_catalog(&t.store, "http://elsewhere:2", "RegionOne").await.expect("move");
    assert_eq!(moved.len(), 3 * SERVICES.len(), "every endpoint follows the public URL: {moved:?}");
}

#[tokio::test]
async fn admin_token_carries_implied_roles_and_catalog_scope() {
    for (_, t) in testing::all().await {
        let n = node_on(t).await;
        let issued = login(&n, "admin", PW, Some("admin")).await.expect("login");
        let mut names: Vec<_> = issued.principal.roles.iter().map(|r| r.name.clone()).collect();
        names.sort();
        assert_eq!(names, ["admin", "member", "reader"]);
        let (payload, again) = n.id.validate(&issued.token).await.expect("validate");
        assert_eq!(*payload, issued.payload);
        assert_eq!(again.user.name, "admin");
        let cat = n.id.catalog_for(Some("p")).await.expect("catalog");
        let identity = cat.iter().find(|c| c.service_type == "identity").expect("identity in the catalog");
        assert_eq!(identity.endpoints.len(), 3);
        assert!(cat.iter().any(|c| c.service_type == "compute"), "compute in the catalog");
    }
}

#[tokio::test]
async fn bad_credentials_are_unauthorized() {
    let n = node().await;
    assert!(matches!(login(&n, "admin", "wrong", None).await, Err(crate::CoreError::Unauthorized(_))));
    assert!(matches!(login(&n, "nobody", PW, None).await, Err(crate::CoreError::Unauthorized(_))));
    assert!(matches!(n.id.context("not-a-token").await, Err(crate::CoreError::Unauthorized(_))));
    assert!(matches!(n.id.validate("not-a-token").await, Err(crate::CoreError::NotFound(_))));
}

#[tokio::test]
async fn readers_cannot_write_and_projects_are_private() {
    let n = node().await;
    let admin = admin_ctx(&n).await;
    let (p1, _) = user_with_role(&n, &admin, "rita", "reader").await;
    let (p2, _) = user_with_role(&n, &admin, "mark", "member").await;
    let rita =
        n.id.context(&login(&n, "rita", "rita-pw", Some("proj-rita")).await.expect("login").token)
            .await
            .expect("ctx")
            .1;
    assert_eq!(rita.roles, ["reader"]);
    let attempt = n.id.project_create(&rita, project_named("x")).await;
    assert!(matches!(attempt, Err(crate::CoreError::Forbidden(_))));
    assert!(n.id.project_get(&rita, &p1).await.is_ok());
    assert!(matches!(n.id.project_get(&rita, &p2).await, Err(crate::CoreError::NotFound(_))));
    let listed: Vec<_> = n.id.project_list(&rita).await.expect("list").into_iter().map(|p| p.id).collect();
    assert_eq!(listed, vec![p1]);
    assert!(rita.require_member().is_err());
    // A user cannot scope to a project it has no role on.
    assert!(matches!(login(&n, "rita", "rita-pw", Some("proj-mark")).await, Err(crate::CoreError::Unauthorized(_))));
}

#[tokio::test]
async fn revoked_and_rescoped_tokens() {
    let n = node().await;
    let t = login(&n, "admin", PW, None).await.expect("default scope");
    let admin = admin_ctx(&n).await;
    let default_project = admin.project_id().expect("admin project").to_string();
    assert_eq!(t.payload.scope, TokenScope::Project(default_project), "no scope asked: the default project");
    let rescoped =
        n.id.authenticate(&AuthRequest(json!({"identity": {"methods": ["token"], "token": {"id": t.token}},
            "scope": {"system": {"all": true}}})))
            .await
            .expect("rescope");
    assert_eq!(rescoped.payload.audit_ids.len(), 2);
    assert_eq!(rescoped.payload.expires_at, t.payload.expires_at);
    n.id.revoke_token(&admin, &t.token).await.expect("revoke");
    assert!(n.id.validate(&t.token).await.is_err());
    assert!(n.id.validate(&rescoped.token).await.is_err(), "revoking a token revokes what was rescoped from it");
}

#[tokio::test]
async fn password_change_revokes_sessions_and_checks_history() {
    let n = node().await;
    let admin = admin_ctx(&n).await;
    let (_, uid) = user_with_role(&n, &admin, "pat", "member").await;
    let before = login(&n, "pat", "pat-pw", Some("proj-pat")).await.expect("login");
    assert!(matches!(
        n.id.user_change_password(&uid, "wrong".into(), "new-1".into()).await,
        Err(crate::CoreError::Unauthorized(_))
    ));
    n.id.user_change_password(&uid, "pat-pw".into(), "new-1".into()).await.expect("change");
    assert!(n.id.validate(&before.token).await.is_err(), "old sessions end");
    assert!(login(&n, "pat", "pat-pw", None).await.is_err());
    let after = login(&n, "pat", "new-1", Some("proj-pat")).await.expect("new password works");
    assert!(n.id.validate(&after.token).await.is_ok());
    for reused in ["new-1", "pat-pw"] {
        assert!(
            matches!(
                n.id.user_change_password(&uid, "new-1".into(), reused.into()).await,
                Err(crate::CoreError::BadRequest(_))
            ),
            "{reused} was one of the last two passwords"
        );
    }
    n.id.user_change_password(&uid, "new-1".into(), "new-2".into()).await.expect("fresh password");
}

#[tokio::test]
async fn application_credentials_delegate_a_subset_of_roles() {
    let n = node().await;
    let admin = admin_ctx(&n).await;
    let req = NewAppCredential {
        name: "ci".into(),
        description: String::new(),
        secret: None,
        expires_at: None,
        unrestricted: false,
        roles: vec![(None, Some("reader".into()))],
    };
    let (cred, secret) = n.id.app_credential_create(&admin, &admin.user_id, req).await.expect("create");
    assert!(cred.secret_hash.starts_with("sha256$"));
    let t =
        n.id.authenticate(&AuthRequest(json!({"identity": {"methods": ["application_credential"],
            "application_credential": {"id": cred.id, "secret": secret}}})))
            .await
            .expect("app cred login");
    assert_eq!(t.payload.scope, TokenScope::Project(admin.project_id().expect("project").to_string()));
    let ctx = n.id.context(&t.token).await.expect("ctx").1;
    assert_eq!(ctx.roles, ["reader"]);
    assert!(ctx.require_admin().is_err());
    let wrong =
        n.id.authenticate(&AuthRequest(json!({"identity": {"methods": ["application_credential"],
            "application_credential": {"id": cred.id, "secret": "nope"}}})))
            .await;
    assert!(matches!(wrong, Err(crate::CoreError::Unauthorized(_))));
    let nested = NewAppCredential {
        name: "nested".into(),
        description: String::new(),
        secret: None,
        expires_at: None,
        unrestricted: false,
        roles: vec![],
    };
    assert!(matches!(
        n.id.app_credential_create(&ctx, &admin.user_id, nested).await,
        Err(crate::CoreError::Forbidden(_))
    ));
    n.id.app_credential_delete(&admin, &admin.user_id, &cred.id).await.expect("delete");
    assert!(n.id.validate(&t.token).await.is_err());
}

#[tokio::test]
async fn a_removed_role_ends_the_tokens_that_relied_on_it() {
    let n = node().await;
    let admin = admin_ctx(&n).await;
    let (pid, uid) = user_with_role(&n, &admin, "rob", "member").await;
    let t = login(&n, "rob", "rob-pw", Some("proj-rob")).await.expect("login");
    let member = n.id.role_list(&admin).await.expect("roles").into_iter().find(|r| r.name == "member").expect("member");
    let a = Assignment {
        actor_type: ActorType::User,
        actor_id: uid,
        target_type: TargetType::Project,
        target_id: pid,
        role_id: member.id,
        inherited: false,
    };
    n.id.revoke_grant(&admin, &a).await.expect("revoke grant");
    assert!(n.id.validate(&t.token).await.is_err());
}

#[tokio::test]
async fn nodes_sharing_keys_and_store_share_tokens_and_revocations() {
    let t = testing::sqlite().await;
    let store = t.store.clone();
    let a = node_on(t).await;
    let keys = crate::keys::Keys::load(a._dir.path()).expect("keys");
    let b = Identity::new(store, keys, PasswordHasher::new(4).expect("cost"), IdentityConfig::default())
        .await
        .expect("second node");
    let tok = login(&a, "admin", PW, Some("admin")).await.expect("login on a");
    assert!(b.validate(&tok.token).await.is_ok(), "b validates a's token with no shared memory");
    let admin = a.id.context(&tok.token).await.expect("ctx").1;
    a.id.revoke_token(&admin, &tok.token).await.expect("revoke on a");
    b.housekeeping().await.expect("sync");
    assert!(b.validate(&tok.token).await.is_err(), "b learns of the revocation");
}

#[tokio::test]
async fn ten_thousand_revocations_leave_other_tokens_valid() {
    let n = node().await;
    let admin = admin_ctx(&n).await;
    let keep = login(&n, "admin", PW, Some("admin")).await.expect("login");
    for i in 0..10_000 {
        n.id.store
            .revocation_add("audit_id", &format!("gone-{i}"), crate::clock::now_micros(), i64::MAX)
            .await
            .expect("event");
    }
    let victim = login(&n, "admin", PW, Some("admin")).await.expect("login");
    n.id.revoke_token(&admin, &victim.token).await.expect("revoke");
    assert!(n.id.revocation_count() >= 10_001);
    assert!(n.id.validate(&keep.token).await.is_ok());
    assert!(n.id.validate(&victim.token).await.is_err());
}

/// A project of the default domain, as a create request gives it.
fn project_named(name: &str) -> Project {
    Project {
        id: String::new(),
        name: name.into(),
        domain_id: DEFAULT_DOMAIN_ID.into(),
        parent_id: None,
        description: String::new(),
        enabled: true,
        tags: vec![],
        extra: Default::default(),
    }
}
