//! A fresh database per test: an SQLite file in a temporary directory, or a
//! PostgreSQL schema of its own (see `vouch_testing::PostgresSchema`).

use vouch_store::Store;
use vouch_testing::PostgresSchema;

pub struct TestDb {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    schema: Option<PostgresSchema>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("vouch.db").display());
        let store = Store::open(&url).await.expect("open SQLite");
        TestDb {
            store,
            url,
            _dir: Some(dir),
            schema: None,
        }
    }

    /// `None` (after saying why) when no PostgreSQL server is configured.
    pub async fn postgres() -> Option<TestDb> {
        let schema = PostgresSchema::create().await?;
        let store = Store::open(&schema.url).await.expect("open PostgreSQL");
        Some(TestDb {
            store,
            url: schema.url.clone(),
            _dir: None,
            schema: Some(schema),
        })
    }

    /// Drops the test's schema (SQLite files go with their directory).
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(schema) = self.schema {
            schema.drop_schema().await;
        }
    }
}

/// Runs each named test on SQLite and on PostgreSQL (when configured).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() {
                let db = $crate::harness::TestDb::sqlite().await;
                super::$name(&db).await;
                db.cleanup().await;
            })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() {
                let Some(db) = $crate::harness::TestDb::postgres().await else { return };
                super::$name(&db).await;
                db.cleanup().await;
            })*
        }
    };
}
