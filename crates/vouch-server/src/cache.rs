//! Report answers kept between requests. A report over a million answers
//! takes milliseconds; fifty clients asking at once would queue behind each
//! other. An entry serves until this process writes anything (any
//! successful POST, PUT, PATCH or DELETE clears every entry at once) or for
//! `TTL` at most, which bounds how late writes by other processes (imports,
//! other instances) show. Concurrent misses of one key compute it once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

/// How long an entry may serve without a local write.
pub const TTL: Duration = Duration::from_secs(1);

/// Entries beyond this are dropped wholesale: keys come from query strings.
const MAX_ENTRIES: usize = 1_000;

struct Slot<V> {
    generation: u64,
    born: Instant,
    cell: Arc<OnceCell<V>>,
}

pub struct ReportCache<V> {
    generation: Arc<AtomicU64>,
    slots: Mutex<HashMap<String, Slot<V>>>,
}

impl<V: Clone> ReportCache<V> {
    /// A cache cleared whenever `generation` moves.
    pub fn new(generation: Arc<AtomicU64>) -> ReportCache<V> {
        ReportCache {
            generation,
            slots: Mutex::default(),
        }
    }

    /// The value for `key`, computed by `compute` when missing or stale.
    pub async fn get_or_compute<E, F, Fut>(&self, key: &str, compute: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let generation = self.generation.load(Ordering::Acquire);
        let cell = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            match slots.get(key) {
                Some(slot) if slot.generation == generation && slot.born.elapsed() < TTL => {
                    slot.cell.clone()
                }
                _ => {
                    if slots.len() >= MAX_ENTRIES {
                        slots.clear();
                    }
                    let cell = Arc::new(OnceCell::new());
                    slots.insert(
                        key.to_owned(),
                        Slot {
                            generation,
                            born: Instant::now(),
                            cell: cell.clone(),
                        },
                    );
                    cell
                }
            }
        };
        cell.get_or_try_init(compute).await.cloned()
    }
}

/// Moves on every local write, clearing every cache that watches it.
pub fn wrote(generation: &AtomicU64) {
    generation.fetch_add(1, Ordering::AcqRel);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_compute_once_and_a_write_clears() {
        let generation = Arc::new(AtomicU64::new(0));
        let cache = Arc::new(ReportCache::<u64>::new(generation.clone()));
        let computed = Arc::new(AtomicUsize::new(0));
        let ask = |cache: Arc<ReportCache<u64>>, computed: Arc<AtomicUsize>| async move {
            cache
                .get_or_compute("q", || async {
                    computed.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok::<_, ()>(7)
                })
                .await
        };
        let many: Vec<_> = (0..20)
            .map(|_| tokio::spawn(ask(cache.clone(), computed.clone())))
            .collect();
        for one in many {
            assert_eq!(one.await.unwrap(), Ok(7));
        }
        assert_eq!(
            computed.load(Ordering::SeqCst),
            1,
            "twenty askers, one computation"
        );
        wrote(&generation);
        ask(cache.clone(), computed.clone()).await.unwrap();
        assert_eq!(
            computed.load(Ordering::SeqCst),
            2,
            "a write makes the next ask compute"
        );
    }
}
