//! End-to-end: the unmodified `openstack` CLI (python-openstackclient, from the test venv
//! that `scripts/install-test-deps` builds) against a real `hybridstack serve`.

mod support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn openstack_cli() -> PathBuf {
    let venv = std::env::var("HYBRIDSTACK_TEST_VENV").unwrap_or_else(|_| "/var/tmp/hybridstack-venv".into());
    let cli = PathBuf::from(venv).join("bin/openstack");
    assert!(cli.exists(), "{} is missing: run scripts/install-test-deps (or set HYBRIDSTACK_TEST_VENV)", cli.display());
    cli
}

struct Cli {
    bin: PathBuf,
    env: Vec<(String, String)>,
}

impl Cli {
    fn password(url: &str, user: &str, password: &str, project: &str) -> Self {
        let env = [
            ("OS_AUTH_URL", format!("{url}/identity")),
            ("OS_IDENTITY_API_VERSION", "3".into()),
            ("OS_USERNAME", user.into()),
            ("OS_PASSWORD", password.into()),
            ("OS_PROJECT_NAME", project.into()),
            ("OS_USER_DOMAIN_NAME", "Default".into()),
            ("OS_PROJECT_DOMAIN_NAME", "Default".into()),
            ("OS_REGION_NAME", "RegionOne".into()),
        ];
        Self { bin: openstack_cli(), env: env.into_iter().map(|(k, v)| (k.to_string(), v)).collect() }
    }

    fn app_credential(url: &str, id: &str, secret: &str) -> Self {
        let env = [
            ("OS_AUTH_URL", format!("{url}/identity")),
            ("OS_AUTH_TYPE", "v3applicationcredential".into()),
            ("OS_APPLICATION_CREDENTIAL_ID", id.into()),
            ("OS_APPLICATION_CREDENTIAL_SECRET", secret.into()),
            ("OS_IDENTITY_API_VERSION", "3".into()),
            ("OS_REGION_NAME", "RegionOne".into()),
        ];
        Self { bin: openstack_cli(), env: env.into_iter().map(|(k, v)| (k.to_string(), v)).collect() }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut c = Command::new(&self.bin);
        // Only our OS_* variables: an operator's own cloud settings must not leak in.
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("OS_")) {
            c.env_remove(k);
        }
        c.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c.args(args).output().expect("run openstack")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "openstack {} failed:\n{}", args.join(" "), String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend(["-f", "json"]);
        let text = self.ok(&a);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("openstack {}: not JSON ({e}): {text}", args.join(" ")))
    }
}

fn field<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_else(|| panic!("no {k} in {v}"))
}

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
