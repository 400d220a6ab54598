//! `bootstrap` is idempotent and says so; `migrate` and the config file behave.

use std::process::Command;

fn run(args: &[&str], data: &std::path::Path) -> String {
    let out =
        Command::new(env!("CARGO_BIN_EXE_hybridstack")).args(args).arg("--data-dir").arg(data).output().expect("run");
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bootstrap_twice_changes_nothing_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = run(&["bootstrap", "--admin-password", "pw-1"], dir.path());
    assert!(first.contains("created user admin"), "{first}");
    assert!(first.contains("created key token-keys"), "{first}");
    let second = run(&["bootstrap", "--admin-password", "pw-1"], dir.path());
    assert_eq!(second.trim(), "already bootstrapped: nothing changed");
    assert_eq!(run(&["migrate"], dir.path()).trim(), "store is up to date");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("keys/token-keys")).expect("key file").permissions().mode();
        assert_eq!(mode & 0o077, 0, "key files are private to their owner");
    }
}

#[test]
fn the_config_file_sets_the_catalog_url_and_flags_override_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("hybridstack.toml"), "public_url = \"http://from-file:1\"\n").expect("config");
    let out = run(&["bootstrap", "--admin-password", "pw-1"], dir.path());
    assert!(out.contains("endpoint http://from-file:1/identity"), "{out}");
    let out = run(&["bootstrap", "--admin-password", "pw-1", "--public-url", "http://from-flag:2"], dir.path());
    assert!(out.contains("to http://from-flag:2/identity"), "{out}");
    std::fs::write(dir.path().join("hybridstack.toml"), "no_such_setting = 1\n").expect("config");
    let bad = Command::new(env!("CARGO_BIN_EXE_hybridstack"))
        .args(["migrate", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!bad.status.success(), "an unknown setting is an error, not silently ignored");
}
