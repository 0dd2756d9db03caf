use std::path::PathBuf;

/// What can go wrong in the store, in terms a user can act on. Database URLs
/// in messages are always redacted.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot use database URL {url:?}: {reason}; use sqlite://PATH or postgres://USER@HOST/DB"
    )]
    UnsupportedUrl { url: String, reason: &'static str },
    #[error("cannot open SQLite database {}: {reason}", path.display())]
    CannotOpen { path: PathBuf, reason: String },
    #[error("{} is not a Vouch database (not an SQLite file)", path.display())]
    NotADatabase { path: PathBuf },
    #[error("cannot connect to {url}: {reason}")]
    CannotConnect { url: String, reason: String },
    #[error(
        "the database schema is version {database}, newer than this vouch binary knows (version {binary}); upgrade vouch"
    )]
    SchemaTooNew { database: i64, binary: i64 },
    #[error(
        "migration {version} already applied to this database differs from the one in this binary"
    )]
    MigrationChanged { version: i64 },
    #[error("migrating the database failed: {0}")]
    Migration(#[source] sqlx::migrate::MigrateError),
    #[error("{what} {key:?} not found")]
    NotFound { what: &'static str, key: String },
    #[error("the secret key in {file} is not usable: {reason}")]
    SecretKey { file: String, reason: String },
    #[error("stored {what} is invalid: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// A write broke a unique key (an email or external id already taken…).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }

    /// The database cannot take writes now (disk full, a read-only file
    /// or database, PostgreSQL out of space), but may later without a
    /// restart: a 503 to the caller, not a bug.
    pub fn is_unavailable_for_writes(&self) -> bool {
        let StoreError::Database(sqlx::Error::Database(e)) = self else {
            return false;
        };
        let code = e.code();
        match code.as_deref() {
            // SQLite's primary codes (extended codes keep them in the low byte):
            // 13 SQLITE_FULL, 8 SQLITE_READONLY, 10 SQLITE_IOERR.
            Some(c)
                if c.parse::<i64>()
                    .is_ok_and(|n| matches!(n & 0xff, 8 | 10 | 13)) =>
            {
                true
            }
            // PostgreSQL: class 53 (insufficient resources: disk full, out of
            // memory, too many connections) and 25006 (read-only transaction).
            Some(c) => c.starts_with("53") || c == "25006",
            None => false,
        }
    }

    pub(crate) fn corrupt(what: &'static str, detail: impl std::fmt::Display) -> Self {
        StoreError::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}
