//! Test support shared by Vouch's crates: a fresh database per test on
//! either backend (`TestDb`, `on_both_backends!`).
//!
//! Tests that need an outside program read where it is from an environment
//! variable; without it they skip and say why, once per test binary.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// Names the environment variable that makes PostgreSQL tests run.
pub const POSTGRES_URL_VARIABLE: &str = "VOUCH_TEST_POSTGRES_URL";

/// Prints `reason` on stderr once per test binary. Written straight to
/// stderr because the test harness swallows `println!` of passing tests.
pub fn say_skipping(reason: &str) {
    static SAID: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !said.iter().any(|r| r == reason) {
        let _ = writeln!(std::io::stderr(), "skipping: {reason}");
        said.push(reason.to_owned());
    }
}

/// Whether test data at `path` is there; when it is not (a fresh machine
/// without `../shared`), says that `what` is skipped and why.
pub fn data_present(path: &std::path::Path, what: &str) -> bool {
    let present = path.exists();
    if !present {
        say_skipping(&format!("{what}, because {} is absent", path.display()));
    }
    present
}

/// A PostgreSQL schema of one test's own, on the server named by
/// `VOUCH_TEST_POSTGRES_URL`, so tests can run in parallel.
pub struct PostgresSchema {
    base: String,
    name: String,
    /// A URL whose connections use the schema as their search path.
    pub url: String,
}

impl PostgresSchema {
    /// `None`, after saying why, when no server is configured.
    pub async fn create() -> Option<PostgresSchema> {
        let Ok(base) = std::env::var(POSTGRES_URL_VARIABLE) else {
            say_skipping(&format!(
                "PostgreSQL tests, because {POSTGRES_URL_VARIABLE} is not set"
            ));
            return None;
        };
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "vouch_test_{}_{}_{}",
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin(&base, &format!("CREATE SCHEMA {name}")).await;
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{name}");
        Some(PostgresSchema { base, name, url })
    }

    /// Drops the schema and everything in it.
    pub async fn drop_schema(self) {
        admin(
            &self.base,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        )
        .await;
    }
}

/// Runs one DDL statement; schema names are generated above, never input.
async fn admin(base: &str, statement: &str) {
    let pool = sqlx::PgPool::connect(base)
        .await
        .unwrap_or_else(|e| panic!("connect to {POSTGRES_URL_VARIABLE}: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    pool.close().await;
}

/// A fresh database for one test: an SQLite file in a temporary directory,
/// or a PostgreSQL schema of its own (`PostgresSchema`).
pub struct TestDb {
    pub store: vouch_store::Store,
    pub url: String,
    /// The SQLite file, for tests that inspect or fault it from outside.
    pub sqlite_path: Option<std::path::PathBuf>,
    _dir: Option<tempfile::TempDir>,
    schema: Option<PostgresSchema>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("vouch.db");
        let url = format!("sqlite://{}", path.display());
        let store = vouch_store::Store::open(&url).await.expect("open SQLite");
        TestDb {
            store,
            url,
            sqlite_path: Some(path),
            _dir: Some(dir),
            schema: None,
        }
    }

    /// `None` (after saying why) when no PostgreSQL server is configured.
    pub async fn postgres() -> Option<TestDb> {
        let schema = PostgresSchema::create().await?;
        let store = vouch_store::Store::open(&schema.url)
            .await
            .expect("open PostgreSQL");
        Some(TestDb {
            store,
            url: schema.url.clone(),
            sqlite_path: None,
            _dir: None,
            schema: Some(schema),
        })
    }

    /// Runs SQL on the test's database from outside the store (a fault to
    /// inject, a trigger to install): one statement or a script.
    pub async fn execute(&self, sql: &str) {
        use sqlx::Executor;
        match &self.sqlite_path {
            Some(_) => {
                let pool = sqlx::SqlitePool::connect(&self.url)
                    .await
                    .expect("open SQLite");
                pool.execute(sqlx::AssertSqlSafe(sql.to_owned()))
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                pool.close().await;
            }
            None => {
                let pool = sqlx::PgPool::connect(&self.url)
                    .await
                    .expect("open PostgreSQL");
                pool.execute(sqlx::AssertSqlSafe(sql.to_owned()))
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                pool.close().await;
            }
        }
    }

    /// Everything the database holds, as text, to search for what must not
    /// be there (a secret in clear): the SQLite files' bytes, or every row
    /// of every table of the test's PostgreSQL schema.
    pub async fn everything_stored(&self) -> String {
        if let Some(path) = &self.sqlite_path {
            let mut text = String::new();
            for suffix in ["", "-wal"] {
                let file = format!("{}{suffix}", path.display());
                if let Ok(bytes) = std::fs::read(&file) {
                    text.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
            return text;
        }
        let pool = sqlx::PgPool::connect(&self.url)
            .await
            .expect("open PostgreSQL");
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
        )
        .fetch_all(&pool)
        .await
        .expect("list tables");
        let mut text = String::new();
        for table in tables {
            // Names come from the catalogue, quoted; no input reaches this.
            let sql = format!("SELECT COALESCE(string_agg(t::text, ' '), '') FROM \"{table}\" t");
            let rows: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&pool)
                .await
                .expect("read a table");
            text.push_str(&rows);
        }
        pool.close().await;
        text
    }

    /// Drops the test's schema (SQLite files go with their directory).
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(schema) = self.schema {
            schema.drop_schema().await;
        }
    }
}

/// Runs each named `async fn NAME(db: &TestDb)` on SQLite and on PostgreSQL
/// (when configured), each in a database of its own, on a two-thread
/// runtime (servers and their workers run beside the test).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let db = $crate::TestDb::sqlite().await;
                super::$name(&db).await;
                db.cleanup().await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(db) = $crate::TestDb::postgres().await else { return };
                super::$name(&db).await;
                db.cleanup().await;
            })*
        }
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn absent_data_is_reported_not_failed() {
        assert!(!super::data_present(
            std::path::Path::new("/no/such/vouch/data"),
            "a check"
        ));
        assert!(super::data_present(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
            "a check"
        ));
    }
}
