//! End-to-end: the unmodified `openstack` CLI (python-openstackclient, from the test venv
//! that `scripts/install-test-deps` builds) against a real `hybridstack serve`.

mod support;

use support::cli::{field, Cli};

#[test]
fn the_openstack_cli_drives_identity() {
    let server = support::start();
    let admin = Cli::password(&server.url, "admin", support::ADMIN_PASSWORD, "admin");

    let token = admin.json(&["token", "issue"]);
    assert!(!field(&token, "id").is_empty());
    assert!(!field(&token, "project_id").is_empty());

    let catalog = admin.json(&["catalog", "list"]);
    let types: Vec<&str> = catalog.as_array().expect("list").iter().map(|s| field(s, "Type")).collect();
    assert!(types.contains(&"identity"), "{catalog}");

    let project = admin.json(&["project", "create", "--description", "e2e", "demo"]);
    let project_id = field(&project, "id").to_string();
    admin.json(&["user", "create", "--password", "demo-pw-1", "--project", "demo", "demo-user"]);
    admin.ok(&["role", "add", "--project", "demo", "--user", "demo-user", "member"]);
    let assignments = admin.json(&["role", "assignment", "list", "--project", "demo", "--names"]);
    let lines: Vec<(String, String)> = assignments
        .as_array()
        .expect("list")
        .iter()
        .map(|a| (field(a, "Role").to_string(), field(a, "User").to_string()))
        .collect();
    assert_eq!(lines, vec![("member".to_string(), "demo-user@Default".to_string())]);

    // The member logs in to its project and sees only it.
    let demo = Cli::password(&server.url, "demo-user", "demo-pw-1", "demo");
    let demo_token = demo.json(&["token", "issue"]);
    assert_eq!(field(&demo_token, "project_id"), project_id);

    // An application credential authenticates on its own.
    let cred = demo.json(&["application", "credential", "create", "--description", "for ci", "ci"]);
    let via_cred = Cli::app_credential(&server.url, field(&cred, "ID"), field(&cred, "Secret"));
    let cred_token = via_cred.json(&["token", "issue"]);
    assert_eq!(field(&cred_token, "project_id"), project_id);
    assert_eq!(field(&cred_token, "user_id"), field(&demo_token, "user_id"));

    // A reader cannot create a project: 403.
    admin.json(&["user", "create", "--password", "reader-pw-1", "reader-user"]);
    admin.ok(&["role", "add", "--project", "demo", "--user", "reader-user", "reader"]);
    let reader = Cli::password(&server.url, "reader-user", "reader-pw-1", "demo");
    let refused = reader.run(&["project", "create", "not-allowed"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("403") && stderr.contains("not authorized"), "expected a 403, got: {stderr}");
    let projects = admin.json(&["project", "list"]);
    assert!(!projects.to_string().contains("not-allowed"));
}
