//! Counted attempts for rate limits, shared by every instance on the
//! database. Keys arrive hashed; the rules live in `vouch-app::access`.

use chrono::{DateTime, Utc};

use crate::store::{BeginWrite, on_backend};
use crate::{Result, Store};

impl Store {
    /// How many attempts under `key_hash` were made since `since`.
    pub async fn attempts_since(&self, key_hash: &str, since: DateTime<Utc>) -> Result<u64> {
        const SQL: &str = "SELECT COUNT(*) FROM attempts WHERE key_hash = $1 AND at > $2";
        let n: i64 = on_backend!(self, pool => sqlx::query_scalar(SQL)
            .bind(key_hash).bind(since).fetch_one(pool).await)?;
        Ok(n as u64)
    }

    /// Counts one attempt under each of `key_hashes` at `at`, and forgets
    /// their attempts from before `forget_before` (no window looks back
    /// that far).
    pub async fn add_attempts(
        &self,
        key_hashes: &[&str],
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<()> {
        const FORGET: &str = "DELETE FROM attempts WHERE key_hash = $1 AND at < $2";
        const ADD: &str = "INSERT INTO attempts (key_hash, at) VALUES ($1, $2)";
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for key in key_hashes {
                sqlx::query(FORGET).bind(key).bind(forget_before).execute(&mut *tx).await?;
                sqlx::query(ADD).bind(key).bind(at).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Forgets every attempt under `key_hash` (a successful sign-in).
    pub async fn clear_attempts(&self, key_hash: &str) -> Result<()> {
        const SQL: &str = "DELETE FROM attempts WHERE key_hash = $1";
        on_backend!(self, pool => sqlx::query(SQL).bind(key_hash).execute(pool).await.map(|_| ()))?;
        Ok(())
    }
}
