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

/// Reports too slow to compute per request (over every customer's
/// signals: categories, flows, retention, topic drivers): an entry is
/// served as it is, however old, while one refresh at a time runs in the
/// background once it is older than the age asked for. Only the first
/// request for a key waits for it.
pub struct StaleCache<V> {
    slots: Mutex<HashMap<String, Stale<V>>>,
}

struct Stale<V> {
    cell: Arc<OnceCell<V>>,
    born: Instant,
    refreshing: bool,
}

impl<V> Default for StaleCache<V> {
    fn default() -> Self {
        StaleCache {
            slots: Mutex::default(),
        }
    }
}

impl<V: Clone + Send + Sync + 'static> StaleCache<V> {
    /// The value for `key`: as kept, refreshed in the background when
    /// older than `max_age`; computed (and waited for) the first time.
    pub async fn get_or_refresh<E, F, Fut>(
        self: &Arc<Self>,
        key: &str,
        max_age: Duration,
        compute: F,
    ) -> Result<V, E>
    where
        E: Send + 'static,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
    {
        let (cell, refresh) = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            if slots.len() >= MAX_ENTRIES && !slots.contains_key(key) {
                slots.clear();
            }
            let slot = slots.entry(key.to_owned()).or_insert_with(|| Stale {
                cell: Arc::new(OnceCell::new()),
                born: Instant::now(),
                refreshing: false,
            });
            let stale =
                slot.cell.initialized() && slot.born.elapsed() >= max_age && !slot.refreshing;
            if stale {
                slot.refreshing = true;
            }
            (slot.cell.clone(), stale)
        };
        if refresh {
            let this = self.clone();
            let key = key.to_owned();
            let fresh = compute();
            tokio::spawn(async move {
                let result = fresh.await;
                let mut slots = this.slots.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(slot) = slots.get_mut(&key) {
                    slot.refreshing = false;
                    if let Ok(value) = result {
                        slot.cell = Arc::new(OnceCell::new_with(Some(value)));
                        slot.born = Instant::now();
                    }
                }
            });
        }
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
    async fn a_stale_report_is_served_while_one_refresh_runs() {
        let cache = Arc::new(StaleCache::<u64>::default());
        let computed = Arc::new(AtomicUsize::new(0));
        let ask = |cache: Arc<StaleCache<u64>>, computed: Arc<AtomicUsize>, age: u64| async move {
            cache
                .get_or_refresh("k", Duration::from_millis(age), move || {
                    let computed = computed.clone();
                    async move {
                        let n = computed.fetch_add(1, Ordering::SeqCst) as u64;
                        tokio::time::sleep(Duration::from_millis(30)).await;
                        Ok::<_, ()>(n)
                    }
                })
                .await
        };
        assert_eq!(
            ask(cache.clone(), computed.clone(), 10_000).await,
            Ok(0),
            "the first waits"
        );
        assert_eq!(
            ask(cache.clone(), computed.clone(), 10_000).await,
            Ok(0),
            "fresh: kept"
        );
        // Old now: the kept value comes back at once, one refresh starts.
        for _ in 0..5 {
            assert_eq!(ask(cache.clone(), computed.clone(), 0).await, Ok(0));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            computed.load(Ordering::SeqCst),
            2,
            "one refresh for five askers"
        );
        assert_eq!(
            ask(cache.clone(), computed.clone(), 10_000).await,
            Ok(1),
            "refreshed"
        );
    }

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
