//! Keeping the inbox's search index caught up with what is written.
//!
//! On SQLite the index is filled behind the writes (`Store::search_backlog`):
//! indexing a review's words costs as much as the rest of its import. A
//! short backlog is indexed at once, by the import that made it or by the
//! search that meets it, so small writes are found as soon as they are
//! made; a long one (a bulk import) is the `search.index` job's, and until
//! it is done the inbox says how many of the newest items a search misses.

use std::time::{Duration, Instant};

use chrono::Utc;
use vouch_store::{FeedbackFilter, Store, search_words};

use crate::Result;
use crate::jobs::Task;

/// A backlog this short is indexed on the spot (about a fifth of a second).
pub const INDEX_AT_ONCE: u64 = 5_000;

/// Items indexed per transaction: other writers wait for it, well inside
/// the store's busy timeout. Fewer, larger batches build fewer index
/// segments to merge (300,000 reviews: 18.0 s in batches of 5,000, 11.6 s
/// in batches of 20,000); a batch holds the database longer as the index
/// grows (12,000 reviews: 0.4 s into an empty index, 1.1-1.6 s into one of
/// a million). Shrinking the batch when one is slow made it worse: every
/// commit adds a segment, and merging them is what grows.
const BATCH: u32 = 8_000;

/// Indexes the backlog batch after batch, all of it or as much as `budget`
/// allows; `progress` is told how many items are done so far. Returns that
/// number.
pub async fn catch_up(
    store: &Store,
    budget: Option<Duration>,
    mut progress: impl FnMut(u64),
) -> Result<u64> {
    let started = Instant::now();
    let mut done = 0;
    // A connection of its own, set up for large writes (see `Store::bulk_feedback_writer`).
    let mut writer = store.bulk_feedback_writer().await?;
    loop {
        if budget.is_some_and(|b| started.elapsed() >= b) {
            break;
        }
        let indexed = writer.index_search_backlog(BATCH).await?;
        if indexed == 0 {
            break;
        }
        done += indexed;
        progress(done);
        tokio::task::yield_now().await;
    }
    writer.finish().await?;
    Ok(done)
}

/// After a write: a short backlog is indexed now; a long one is queued for
/// the `search.index` job. Returns how many items wait for that job.
pub async fn after_writing(store: &Store) -> Result<u64> {
    let backlog = store.search_backlog().await?;
    if backlog == 0 {
        return Ok(0);
    }
    if backlog <= INDEX_AT_ONCE {
        index_now(store).await?;
        return Ok(0);
    }
    store
        .enqueue_jobs(&[Task::SearchIndex.job(Utc::now())], Utc::now())
        .await?;
    Ok(backlog)
}

/// Before a search by `filter`: a short backlog is indexed first, so what
/// was just written is found. Returns how many items the search cannot
/// find yet (a long backlog, being indexed by the job); 0 without words.
pub async fn before_searching(store: &Store, filter: &FeedbackFilter) -> Result<u64> {
    let searching = filter
        .search
        .as_deref()
        .is_some_and(|s| !search_words(s).is_empty());
    if !searching {
        return Ok(0);
    }
    let backlog = store.search_backlog().await?;
    if backlog == 0 || backlog > INDEX_AT_ONCE {
        return Ok(backlog);
    }
    index_now(store).await?;
    Ok(0)
}

/// A short backlog in one transaction on a pooled connection: a search or
/// a small write should not open a bulk writer's connection of its own and
/// checkpoint the WAL, as `catch_up` does for a long one.
async fn index_now(store: &Store) -> Result<()> {
    store.index_search_backlog(INDEX_AT_ONCE as u32).await?;
    Ok(())
}
