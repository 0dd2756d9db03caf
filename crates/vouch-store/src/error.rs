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

    pub(crate) fn corrupt(what: &'static str, detail: impl std::fmt::Display) -> Self {
        StoreError::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}
