//! The schema's history: one set of migration files (`migrations/`, written in the SQL both
//! databases share) and the few words PostgreSQL spells differently, translated at start-up.
//!
//! sqlx records each applied migration's SHA-384 and refuses to start when a file it applied
//! has changed, so the translation must give exactly the text every PostgreSQL database
//! already applied; `tests::applied_migrations_never_change` holds both backends to the
//! checksums they were first applied with.

use std::borrow::Cow;

use sqlx::migrate::{Migration, Migrator};

use crate::Backend;

/// The migrations as written: SQLite runs them as they are.
static SHARED: Migrator = sqlx::migrate!("./migrations");

/// Where PostgreSQL's DDL differs: an auto-increment key.
const POSTGRES_SPELLING: &[(&str, &str)] = &[("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY")];

/// The migrator for `backend`.
pub(crate) fn migrator(backend: Backend) -> Migrator {
    match backend {
        Backend::Sqlite => Migrator { migrations: SHARED.migrations.clone(), ..Migrator::DEFAULT },
        Backend::Postgres => {
            let migrations = SHARED.iter().map(|m| translate(m, POSTGRES_SPELLING)).collect::<Vec<_>>();
            Migrator { migrations: Cow::Owned(migrations), ..Migrator::DEFAULT }
        }
    }
}

fn translate(m: &Migration, spelling: &[(&str, &str)]) -> Migration {
    if !spelling.iter().any(|(from, _)| m.sql.contains(from)) {
        return m.clone();
    }
    let sql = spelling.iter().fold(m.sql.to_string(), |sql, (from, to)| sql.replace(from, to));
    Migration::new(m.version, m.description.clone(), m.migration_type, Cow::Owned(sql), m.no_tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// SHA-384 of each migration as SQLite databases applied it (version 1 first); a new
    /// migration adds a line, an old line never changes.
    const APPLIED: &[&str] = &[
        "8859970bc9c5a60c7cf3fab70ba8470668ddbbc20448fc7112b4add314fc9d605ade68fbd5d6dea10d189de01b4980c5",
        "a4a163934aa9d4af6650ee4fc2de2a686c08a7f7087d96938c43fe4ae9981af1b44d5636c06d706142a1ae6007503c45",
        "0db42e28d8f2cdb0f477f8eb26bbc97af64112da27c6bd7d267fcdcfc7289880228595a932cb663e79b7ba3588029d1f",
        "18d6164a3019dc6a3543eaf2bd16182acd7f77009a1a266e41760d10df00b71e6f704ec8b563c55218ab551599e0a929",
        "e3fa04fdacb4c622288516c69921176cc50483be31c558cb3cd74c5f98a4933249d664b339b1ca49941b677ef340b6ef",
        "1b9393826ce78e817b8074eeea04633ec82d9c1078565791c208e5d4a346bf33ef10beb3bbe2b76a3317e8aceb1a25eb",
        "b1e357e1d4a3bd44898baa5c79ca636d336fdd68d4e507e946abb67724c404a7ce4a70e0573ec05538b0a5786044412e",
        "24c0d1974bd827640041455067c570948716207bb00effd9b0537727b723d119cc8d929a9bfec4e920d555524432d2fc",
        "45f3c44f67ba8c643b25219f88b55b255011e6238bac9e4a6fd4f6f2b77cb66941ff2f9594ae4436ca8d18ac12963873",
    ];

    /// Where PostgreSQL databases applied a different text.
    const APPLIED_ON_POSTGRES: &[(i64, &str)] =
        &[(1, "8d7ecb02e21e920b4f9a3a5e4dd57ca38d3ba3365231a1341c27fb74aaabeb0b4bbdd0ffc706868c523929bef6c984ef")];

    #[test]
    fn applied_migrations_never_change() {
        let sqlite = migrator(Backend::Sqlite);
        let postgres = migrator(Backend::Postgres);
        assert_eq!(sqlite.iter().count(), APPLIED.len(), "a new migration adds its checksum to APPLIED");
        for (version, on_sqlite) in (1..).zip(APPLIED) {
            let on_postgres =
                APPLIED_ON_POSTGRES.iter().find(|(v, _)| *v == version).map_or(*on_sqlite, |(_, sum)| *sum);
            let find = |m: &Migrator| m.iter().find(|x| x.version == version).map(|x| hex(&x.checksum));
            assert_eq!(find(&sqlite).as_deref(), Some(*on_sqlite), "SQLite migration {version} changed");
            assert_eq!(find(&postgres).as_deref(), Some(on_postgres), "PostgreSQL migration {version} changed");
        }
    }

    /// Runs migrations up to 8 on `store`, writes one object into each of the three document
    /// tables that 0009 folds together, then migrates to the end: every object must be
    /// readable through the new table with its columns where they belong.
    async fn documents_survive_the_fold(store: &crate::Store) {
        let all = migrator(store.backend());
        let before = Migrator {
            migrations: Cow::Owned(all.iter().filter(|m| m.version <= 8).cloned().collect()),
            ..Migrator::DEFAULT
        };
        before.run(store.pool()).await.expect("migrate to 8");
        for sql in [
            "INSERT INTO net_objects (kind, id, project_id, parent_id, body, created_at) \
             VALUES ('port', 'p1', 'proj', 'net1', '{}', 5)",
            "INSERT INTO volume_objects (kind, id, project_id, parent_id, body, created_at, version) \
             VALUES ('snapshot', 's1', 'proj', 'vol1', '{}', 6, 4)",
            "INSERT INTO compute_objects (kind, id, owner, name, body, created_at) \
             VALUES ('keypair', 'k1', 'user1', 'key', '{}', 7)",
        ] {
            sqlx::query(sql).execute(store.pool()).await.expect("old row");
        }
        all.run(store.pool()).await.expect("migrate to the end");
        let port = store.doc_get("port", "p1").await.expect("port");
        assert_eq!((port.owner.as_str(), port.parent_id.as_str(), port.created_at), ("proj", "net1", 5));
        let snap = store.doc_get("snapshot", "s1").await.expect("snapshot");
        assert_eq!((snap.owner.as_str(), snap.parent_id.as_str(), snap.version), ("proj", "vol1", 4));
        let key = store.doc_get("keypair", "k1").await.expect("keypair");
        assert_eq!((key.owner.as_str(), key.name.as_str(), key.created_at), ("user1", "key", 7));
    }

    #[tokio::test]
    async fn documents_survive_the_fold_on_sqlite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        documents_survive_the_fold(&crate::Store::connect(&url).await.expect("connect")).await;
    }

    #[tokio::test]
    async fn documents_survive_the_fold_on_postgres() {
        match crate::testing::postgres_database().await {
            Some(url) => documents_survive_the_fold(&crate::Store::connect(&url).await.expect("connect")).await,
            None => assert!(std::env::var("CI").map(|v| v != "true").unwrap_or(true), "CI must test PostgreSQL"),
        }
    }

    #[test]
    fn postgres_gets_no_sqlite_only_words() {
        for m in migrator(Backend::Postgres).iter() {
            assert!(!m.sql.contains("AUTOINCREMENT"), "migration {} keeps SQLite's AUTOINCREMENT", m.version);
        }
    }
}
