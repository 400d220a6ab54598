//! The unmodified `openstack` CLI from the test venv (`scripts/install-test-deps` builds it).

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn openstack_cli() -> PathBuf {
    let venv = std::env::var("HYBRIDSTACK_TEST_VENV").unwrap_or_else(|_| "/var/tmp/hybridstack-venv".into());
    let cli = PathBuf::from(venv).join("bin/openstack");
    assert!(cli.exists(), "{} is missing: run scripts/install-test-deps (or set HYBRIDSTACK_TEST_VENV)", cli.display());
    cli
}

pub struct Cli {
    bin: PathBuf,
    env: Vec<(String, String)>,
}

impl Cli {
    pub fn password(url: &str, user: &str, password: &str, project: &str) -> Self {
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

    pub fn app_credential(url: &str, id: &str, secret: &str) -> Self {
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

    pub fn run<S: AsRef<str>>(&self, args: &[S]) -> Output {
        let mut c = Command::new(&self.bin);
        // Only our OS_* variables: an operator's own cloud settings must not leak in.
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("OS_")) {
            c.env_remove(k);
        }
        c.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c.args(args.iter().map(AsRef::as_ref)).output().expect("run openstack")
    }

    pub fn ok<S: AsRef<str>>(&self, args: &[S]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "openstack {} failed:\n{}", joined(args), String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn json<S: AsRef<str>>(&self, args: &[S]) -> Value {
        let mut a: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        a.extend(["-f", "json"]);
        let text = self.ok(&a);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("openstack {}: not JSON ({e}): {text}", joined(args)))
    }
}

fn joined<S: AsRef<str>>(args: &[S]) -> String {
    args.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(" ")
}

/// A command line written as the shell would show it, `format!`-style:
/// `cmd!("server create --image {image} --wait vm")`. Split on white space, so no word may
/// hold a space (write those as an array).
#[allow(unused_macros)] // each test binary uses its own part of the support code
macro_rules! cmd {
    ($($t:tt)*) => {
        format!($($t)*).split_whitespace().map(String::from).collect::<Vec<String>>()
    };
}
#[allow(unused_imports)]
pub(crate) use cmd;

impl Cli {
    /// A raw API call with this CLI's password credentials (keystoneauth from the same
    /// venv), for what the CLI has no command for; returns the status and the body.
    pub fn api(&self, method: &str, service_type: &str, path: &str, body: Option<&Value>) -> (u16, String) {
        const CALL: &str = r#"import json, os, sys
from keystoneauth1 import loading, session
auth = loading.get_plugin_loader("password").load_from_options(
    auth_url=os.environ["OS_AUTH_URL"], username=os.environ["OS_USERNAME"], password=os.environ["OS_PASSWORD"],
    project_name=os.environ["OS_PROJECT_NAME"], user_domain_name="Default", project_domain_name="Default")
r = session.Session(auth=auth).request(sys.argv[3], sys.argv[1], raise_exc=False,
    endpoint_filter={"service_type": sys.argv[2], "interface": "public"},
    json=json.loads(sys.argv[4]) if sys.argv[4] else None)
print(r.status_code)
print(r.text)"#;
        let python = self.bin.with_file_name("python");
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut c = Command::new(python);
        c.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let out = c.args(["-c", CALL, method, service_type, path, &body]).output().expect("python");
        assert!(out.status.success(), "api call: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (status, rest) = text.split_once('\n').unwrap_or((&text, ""));
        (status.trim().parse().unwrap_or(0), rest.to_string())
    }
}

impl Cli {
    /// Shows `kind` `name` (`server`, `volume`…) until its status is one of `wants` (three
    /// minutes at most) and returns it; a status of error that is not among them fails at once.
    pub fn wait_status(&self, kind: &str, name: &str, wants: &[&str]) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
        loop {
            let shown = self.json(&[kind, "show", name]);
            let status = field(&shown, "status").to_string();
            if wants.contains(&status.as_str()) {
                return shown;
            }
            assert!(!status.eq_ignore_ascii_case("error"), "{kind} {name} went to {status}: {shown}");
            assert!(std::time::Instant::now() < deadline, "{kind} {name} is not {wants:?}: {shown}");
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
    }
}

pub fn field<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_else(|| panic!("no {k} in {v}"))
}
