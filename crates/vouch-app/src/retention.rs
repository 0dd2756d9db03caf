//! Applying the retention policy: what `vouch purge` and the server's
//! hourly sweep do.

use chrono::Utc;
use vouch_domain::RetentionPolicy;
use vouch_store::{Purged, Store};

use crate::Result;

/// Deletes what `policy` no longer keeps, as of now.
pub async fn purge(store: &Store, policy: &RetentionPolicy) -> Result<Purged> {
    if policy.keeps_everything() {
        return Ok(Purged::default());
    }
    Ok(store.purge(&policy.cutoffs(Utc::now())).await?)
}
