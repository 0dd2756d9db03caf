//! The inbox's search index on SQLite is filled behind the writes: every
//! new or edited item waits in `feedback_search_backlog` (a trigger puts
//! it there) until `index_search_backlog` indexes it. Indexing an item's
//! words costs as much as the rest of its import, so a bulk import leaves
//! it to the background (see `vouch_app::search`). PostgreSQL indexes as
//! it writes (a generated tsvector, GIN), so its backlog is always empty.

use crate::feedback::Connection;
use crate::store::{BeginWrite, Pool};
use crate::{FeedbackWriter, Result, Store};

impl Store {
    /// How many items wait to be indexed for search.
    pub async fn search_backlog(&self) -> Result<u64> {
        let Pool::Sqlite(pool) = &self.pool else {
            return Ok(0);
        };
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM feedback_search_backlog")
            .fetch_one(pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Indexes up to `limit` of the oldest items in the backlog, in one
    /// transaction, and says how many it indexed (0: the backlog is empty).
    /// A whole backlog goes faster through `FeedbackWriter::index_search_backlog`
    /// on a bulk writer.
    pub async fn index_search_backlog(&self, limit: u32) -> Result<u64> {
        self.feedback_writer()
            .await?
            .index_search_backlog(limit)
            .await
    }
}

impl FeedbackWriter {
    /// `Store::index_search_backlog` on this writer's connection. On a bulk
    /// writer's, a million reviews were indexed in 67.1 s instead of 100.6 s
    /// (46 s of it in the kernel): the pool's connections checkpoint the
    /// WAL every 4 MiB, and indexing rewrites many index pages per batch.
    pub async fn index_search_backlog(&mut self, limit: u32) -> Result<u64> {
        let Connection::Sqlite(connection) = &mut self.connection else {
            return Ok(0);
        };
        let mut tx = (&mut **connection).begin_write().await?;
        let upto: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(feedback_id) FROM \
             (SELECT feedback_id FROM feedback_search_backlog ORDER BY feedback_id LIMIT $1)",
        )
        .bind(i64::from(limit))
        .fetch_one(&mut *tx)
        .await?;
        let Some(upto) = upto else {
            // Nothing waits: end the transaction cleanly, nothing written.
            tx.rollback().await?;
            return Ok(0);
        };
        sqlx::query(
            "INSERT INTO feedback_search (rowid, title, body) \
             SELECT f.id, f.title, f.body FROM feedback_search_backlog b \
             JOIN feedback_items f ON f.id = b.feedback_id WHERE b.feedback_id <= $1",
        )
        .bind(upto)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM feedback_search_backlog WHERE feedback_id <= $1")
            .bind(upto)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(done)
    }
}
