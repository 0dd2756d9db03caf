//! Batches over every core.

use rayon::prelude::*;

/// `items.iter().map(f)` on every core, results in input order. Runs on
/// rayon's pool, whose threads live as long as the process: their
/// per-thread caches (the stems `topics::stems` remembers) stay warm from
/// one batch to the next, which threads spawned per batch would lose.
pub fn map_on_all_cores<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let f = &f;
    items.par_iter().with_min_len(64).map(f).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_input_order() {
        let items: Vec<u32> = (0..10_001).collect();
        assert_eq!(
            super::map_on_all_cores(&items, |i| i * 2),
            items.iter().map(|i| i * 2).collect::<Vec<_>>()
        );
        assert!(super::map_on_all_cores(&[] as &[u32], |i| *i).is_empty());
    }
}
