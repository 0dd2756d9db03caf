//! Test support shared by Vouch's crates.
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
