use std::path::PathBuf;

use crate::{Result, StoreError};

/// Where the database lives, parsed from `--db` / `VOUCH_DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    /// An SQLite file, created on first use.
    Sqlite(PathBuf),
    /// A PostgreSQL server, as a `postgres://` URL.
    Postgres(String),
}

impl DatabaseLocation {
    /// The default: `vouch.db` in the working directory.
    pub const DEFAULT_URL: &'static str = "sqlite://vouch.db";

    /// Accepts `sqlite://PATH`, `sqlite:PATH`, a bare file path, and
    /// `postgres://…` / `postgresql://…`. Any other scheme is an error.
    pub fn parse(url: &str) -> Result<Self> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseLocation::Postgres(url.to_owned()));
        }
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            // Query options (`?mode=rwc`) are ours to set, not the caller's.
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err(StoreError::UnsupportedUrl {
                    url: url.to_owned(),
                    reason: "give SQLite a file path, e.g. sqlite://vouch.db (in-memory databases would vanish on exit)",
                });
            }
            return Ok(DatabaseLocation::Sqlite(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = url.split_once("://") {
            return Err(StoreError::UnsupportedUrl {
                url: redact(url),
                reason: if scheme.is_empty() {
                    "missing scheme"
                } else {
                    "unknown scheme"
                },
            });
        }
        if url.is_empty() {
            return Err(StoreError::UnsupportedUrl {
                url: String::new(),
                reason: "empty database URL",
            });
        }
        Ok(DatabaseLocation::Sqlite(PathBuf::from(url)))
    }

    /// A form safe to print and log: passwords replaced by `***`.
    /// The SQLite file, if it is one.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        match self {
            DatabaseLocation::Sqlite(path) => Some(path.clone()),
            DatabaseLocation::Postgres(_) => None,
        }
    }

    pub fn display(&self) -> String {
        match self {
            DatabaseLocation::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseLocation::Postgres(url) => redact(url),
        }
    }
}

/// Replaces the password in `scheme://user:password@host…` with `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_backend() {
        let sqlite = |p: &str| DatabaseLocation::Sqlite(PathBuf::from(p));
        assert_eq!(
            DatabaseLocation::parse("sqlite://vouch.db").unwrap(),
            sqlite("vouch.db")
        );
        assert_eq!(
            DatabaseLocation::parse("sqlite:/tmp/x.db?mode=rwc").unwrap(),
            sqlite("/tmp/x.db")
        );
        assert_eq!(
            DatabaseLocation::parse("data/v.db").unwrap(),
            sqlite("data/v.db")
        );
        assert!(matches!(
            DatabaseLocation::parse("postgresql://h/db").unwrap(),
            DatabaseLocation::Postgres(_)
        ));
        let err = DatabaseLocation::parse("mysql://root:hunter2@h/db")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown scheme") && !err.contains("hunter2"),
            "{err}"
        );
        assert!(DatabaseLocation::parse("sqlite::memory:").is_err());
    }

    #[test]
    fn passwords_never_show() {
        let loc = DatabaseLocation::parse("postgres://vouch:s3cret@db:5432/vouch").unwrap();
        assert_eq!(loc.display(), "postgres://vouch:***@db:5432/vouch");
        assert_eq!(redact("postgres://vouch@db/v"), "postgres://vouch@db/v");
    }
}
