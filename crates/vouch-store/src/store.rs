use std::path::Path;
use std::time::Duration;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, Postgres, Sqlite, Transaction};

use crate::answer_queue::AnswerQueue;
use crate::location::redact;
use crate::sealed::Keys;
use crate::{DatabaseLocation, Result, SecretKey, StoreError};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Starts a transaction that will write. On SQLite it takes the write lock
/// at `BEGIN IMMEDIATE`: a deferred transaction that reads first and then
/// writes fails at once with `SQLITE_BUSY` (no busy timeout applies) when
/// another connection wrote in between, which a server with background
/// workers meets in ordinary use. PostgreSQL's plain `BEGIN` does not fail
/// that way (its read-then-insert race is `FeedbackWriter::upsert`'s lock).
pub(crate) trait BeginWrite<'c> {
    type Transaction;
    fn begin_write(self) -> impl Future<Output = sqlx::Result<Self::Transaction>> + Send + 'c;
}

const BEGIN_IMMEDIATE: &str = "BEGIN IMMEDIATE";

impl<'c> BeginWrite<'c> for &'c SqlitePool {
    type Transaction = Transaction<'static, Sqlite>;
    fn begin_write(self) -> impl Future<Output = sqlx::Result<Self::Transaction>> + Send + 'c {
        self.begin_with(BEGIN_IMMEDIATE)
    }
}

impl<'c> BeginWrite<'c> for &'c PgPool {
    type Transaction = Transaction<'static, Postgres>;
    fn begin_write(self) -> impl Future<Output = sqlx::Result<Self::Transaction>> + Send + 'c {
        self.begin()
    }
}

impl<'c> BeginWrite<'c> for &'c mut SqliteConnection {
    type Transaction = Transaction<'c, Sqlite>;
    fn begin_write(self) -> impl Future<Output = sqlx::Result<Self::Transaction>> + Send + 'c {
        Connection::begin_with(self, BEGIN_IMMEDIATE)
    }
}

impl<'c> BeginWrite<'c> for &'c mut PgConnection {
    type Transaction = Transaction<'c, Postgres>;
    fn begin_write(self) -> impl Future<Output = sqlx::Result<Self::Transaction>> + Send + 'c {
        Connection::begin(self)
    }
}

/// Runs `$body` with `$pool` bound to the open pool, whichever backend it is.
/// The body is written once and compiled for each backend, so every query
/// exists in exactly one place and both backends run the same SQL.
macro_rules! on_backend {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_backend;

/// Inserts rows in multi-row statements inside the transaction `$tx` and
/// returns the new ids in row order. Expands to an `async` block.
/// `$backend` chooses the placeholder style (see `insert_statements`).
macro_rules! insert_rows {
    ($backend:expr, $tx:expr, $table:expr, $columns:expr, $rows:expr) => {
        async {
            let mut ids: Vec<i64> = Vec::with_capacity($rows.len());
            for statement in
                $crate::batch::insert_statements($backend, $table, $columns, "RETURNING id", $rows)
            {
                let query = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(statement.sql))
                    .persistent(statement.reusable);
                let query = $crate::batch::bind_values!(query, statement.rows.iter().flatten());
                let mut chunk_ids = query.fetch_all(&mut *$tx).await?;
                // Both engines hand out ids in increasing order along one
                // VALUES list, but neither promises RETURNING's row order.
                chunk_ids.sort_unstable();
                ids.extend(chunk_ids);
            }
            Ok::<_, $crate::StoreError>(ids)
        }
    };
}
pub(crate) use insert_rows;

/// Inserts rows (whose table may have no id) inside `$tx`, with `$suffix`
/// after each statement (e.g. an `ON CONFLICT` clause). Expands to an `async`
/// block yielding the number of rows written.
macro_rules! execute_inserts {
    ($backend:expr, $tx:expr, $table:expr, $columns:expr, $suffix:expr, $rows:expr) => {
        async {
            let mut written = 0u64;
            for statement in
                $crate::batch::insert_statements($backend, $table, $columns, $suffix, $rows)
            {
                let query = $crate::batch::bind_values!(
                    sqlx::query(sqlx::AssertSqlSafe(statement.sql)).persistent(statement.reusable),
                    statement.rows.iter().flatten()
                );
                written += query.execute(&mut *$tx).await?.rows_affected();
            }
            Ok::<_, $crate::StoreError>(written)
        }
    };
}
pub(crate) use execute_inserts;

/// The open database: the one seam between Vouch and its storage. Clones
/// share the connection pool.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: Pool,
    pub(crate) location: DatabaseLocation,
    pub(crate) answer_queue: AnswerQueue,
    pub(crate) keys: std::sync::Arc<Keys>,
}

impl Store {
    /// Opens (creating an SQLite file if needed) and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Store> {
        let store = Store::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Seals secrets with `key` (the `secret_key` setting) rather than the
    /// key file beside an SQLite database; on PostgreSQL, the only way to
    /// keep them sealed.
    pub fn with_secret_key(self, key: SecretKey) -> Store {
        Store {
            keys: Keys::configured(key).into(),
            ..self
        }
    }

    /// Whether webhook and TOTP secrets written now are sealed: false only
    /// on PostgreSQL with no `secret_key`.
    pub fn seals_secrets(&self) -> bool {
        self.keys.can_seal()
    }

    /// Opens without migrating.
    pub async fn connect(url: &str) -> Result<Store> {
        let location = DatabaseLocation::parse(url)?;
        let pool = match &location {
            DatabaseLocation::Sqlite(path) => Pool::Sqlite(open_sqlite(path).await?),
            DatabaseLocation::Postgres(url) => Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(16)
                    .after_release(|connection, _| {
                        Box::pin(async move { Ok(is_clean(connection)) })
                    })
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await
                    .map_err(|e| StoreError::CannotConnect {
                        url: redact(url),
                        reason: e.to_string(),
                    })?,
            ),
        };
        let keys = Keys::beside(location.sqlite_file());
        Ok(Store {
            pool,
            location,
            answer_queue: AnswerQueue::default(),
            keys: keys.into(),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn location(&self) -> &DatabaseLocation {
        &self.location
    }

    /// Where the store is, safe to print (no passwords).
    pub fn describe(&self) -> String {
        self.location.display()
    }

    fn migrator(&self) -> &'static Migrator {
        match self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &POSTGRES_MIGRATIONS,
        }
    }

    /// The newest schema version this binary knows.
    pub fn binary_schema_version(&self) -> i64 {
        self.migrator().iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// Applies pending migrations. A database migrated by a newer Vouch is
    /// refused with `SchemaTooNew` rather than touched.
    pub async fn migrate(&self) -> Result<()> {
        let migrator = self.migrator();
        let outcome = on_backend!(self, pool => migrator.run(pool).await);
        outcome.map_err(|e| match e {
            MigrateError::VersionMissing(database) => StoreError::SchemaTooNew {
                database,
                binary: self.binary_schema_version(),
            },
            MigrateError::VersionMismatch(version) => StoreError::MigrationChanged { version },
            MigrateError::Execute(sqlx::Error::Database(db)) if is_not_a_database(db.message()) => {
                self.not_a_database()
            }
            other => StoreError::Migration(other),
        })
    }

    /// The newest migration applied to the database (0 for an empty one).
    pub async fn schema_version(&self) -> Result<i64> {
        const SQL: &str =
            "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM _sqlx_migrations WHERE success";
        Ok(on_backend!(self, pool => sqlx::query_scalar::<_, i64>(SQL).fetch_one(pool).await)?)
    }

    /// Why the database cannot take writes now, if it cannot: a read-only
    /// file or database, a standby, or (SQLite) less than
    /// `MIN_FREE_BYTES` left on its disk. `/readyz` asks this.
    pub async fn write_refusal(&self) -> Result<Option<String>> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                // A schema change rolled back writes nothing, but a
                // read-only file or directory refuses it.
                let mut tx = pool.begin_write().await?;
                let probe = sqlx::query("CREATE TABLE IF NOT EXISTS write_probe (x INTEGER)")
                    .execute(&mut *tx)
                    .await;
                tx.rollback().await?;
                if let Err(e) = probe {
                    let e = StoreError::from(e);
                    if e.is_unavailable_for_writes() {
                        return Ok(Some(format!("the database cannot be written: {e}")));
                    }
                    return Err(e);
                }
                let DatabaseLocation::Sqlite(path) = &self.location else {
                    return Ok(None);
                };
                Ok(match free_bytes(path) {
                    Some(free) if free < MIN_FREE_BYTES => Some(format!(
                        "the disk holding the database has {free} bytes free"
                    )),
                    _ => None,
                })
            }
            Pool::Postgres(pool) => {
                const SQL: &str =
                    "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'";
                let read_only: bool = sqlx::query_scalar(SQL).fetch_one(pool).await?;
                Ok(read_only.then(|| "the database is read-only (a standby?)".to_owned()))
            }
        }
    }

    /// What a consistency check finds wrong, empty when sound: on SQLite
    /// `PRAGMA integrity_check` and `foreign_key_check`; on PostgreSQL,
    /// which checks its own pages and keys as it writes, nothing.
    pub async fn integrity_problems(&self) -> Result<Vec<String>> {
        let Pool::Sqlite(pool) = &self.pool else {
            return Ok(Vec::new());
        };
        let mut problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(pool)
            .await?;
        problems.retain(|p| p != "ok");
        let orphans: Vec<(String,)> =
            sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
                .fetch_all(pool)
                .await?;
        problems.extend(
            orphans
                .into_iter()
                .map(|(t,)| format!("a row of {t} points nowhere")),
        );
        Ok(problems)
    }

    fn not_a_database(&self) -> StoreError {
        match &self.location {
            DatabaseLocation::Sqlite(path) => StoreError::NotADatabase { path: path.clone() },
            DatabaseLocation::Postgres(_) => StoreError::corrupt("schema", "not a Vouch database"),
        }
    }

    /// Closes every connection, waiting for queries in flight.
    pub async fn close(&self) {
        on_backend!(self, pool => pool.close().await)
    }
}

/// Below this much free space on an SQLite database's disk, `/readyz`
/// says not ready: writes are about to fail with SQLITE_FULL.
pub const MIN_FREE_BYTES: u64 = 1 << 20;

/// Bytes free for unprivileged writers on the filesystem holding `path`.
fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let c_path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a statvfs the call fills.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stats) } != 0 {
        return None;
    }
    Some(stats.f_bavail as u64 * stats.f_frsize as u64)
}

/// Whether a connection handed back to the pool may serve again. One whose
/// transaction could not be rolled back (SQLite ends a transaction itself
/// on SQLITE_FULL, so sqlx's ROLLBACK fails and it still counts one open)
/// would refuse every later BEGIN: the pool closes it and opens a new one.
fn is_clean(connection: &impl Connection) -> bool {
    let clean = !connection.is_in_transaction();
    if !clean {
        tracing::warn!("a connection left inside a failed transaction was closed");
    }
    clean
}

fn is_not_a_database(message: &str) -> bool {
    message.contains("file is not a database")
}

pub(crate) fn sqlite_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        // WAL lets dashboards read while an import writes; NORMAL is durable in WAL mode.
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        // The default 2 MiB page cache makes index inserts thrash once a
        // database passes a few hundred MB (a 1M-customer load ran 2x slower).
        // (16 MiB per connection: eight connections with 64 MiB each held
        // over 300 MB during a large import.)
        .pragma("cache_size", "-16384")
        // Checkpoint every ~32 MB of WAL instead of 4 MB: bulk writes touch
        // the same index pages again and again, and each checkpoint copies
        // them back to the database (an import ran 18% faster).
        .pragma("wal_autocheckpoint", "8000")
        // A multi-row insert keeps a statement journal (to undo itself on a
        // constraint error); past 64 KiB SQLite spills it to a temporary
        // file, and those writes were a third of an import's kernel time.
        .pragma("temp_store", "memory")
}

async fn open_sqlite(path: &Path) -> Result<SqlitePool> {
    SqlitePoolOptions::new()
        .max_connections(8)
        .after_release(|connection, _| Box::pin(async move { Ok(is_clean(connection)) }))
        .connect_with(sqlite_options(path))
        .await
        .map_err(|e| cannot_open(path, e))
}

pub(crate) fn cannot_open(path: &Path, e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if is_not_a_database(db.message()) => StoreError::NotADatabase {
            path: path.to_owned(),
        },
        sqlx::Error::Database(db) => StoreError::CannotOpen {
            path: path.to_owned(),
            reason: db.message().to_owned(),
        },
        sqlx::Error::Io(io) => StoreError::CannotOpen {
            path: path.to_owned(),
            reason: io.to_string(),
        },
        _ => StoreError::CannotOpen {
            path: path.to_owned(),
            reason: e.to_string(),
        },
    }
}
