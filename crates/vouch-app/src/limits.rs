//! Rate limits on what anyone can try without an account: signing in and
//! answering a public survey link. Attempts are counted in the database,
//! so every instance sharing it enforces one limit, not one each.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use vouch_store::Store;

use crate::Result;
use crate::secrets::secret_hash;

/// Failed sign-ins one address may make against one account in `WINDOW`.
pub const SIGN_IN_TRIES_PER_ADDRESS: u64 = 5;
/// Failed sign-ins against one account, from all addresses together in
/// `WINDOW`, past which the account is under attack: each address then
/// gets `SIGN_IN_TRIES_UNDER_ATTACK` tries instead. A new address always
/// has its first try, so the owner's correct password still opens the
/// account from anywhere, while an attacker spread over many addresses
/// gets one guess per address per window.
pub const SIGN_IN_ACCOUNT_ALARM: u64 = 20;
pub const SIGN_IN_TRIES_UNDER_ATTACK: u64 = 1;
/// Anonymous answers one address may give through public links in `LINK_WINDOW`.
pub const LINK_ANSWERS_PER_ADDRESS: u64 = 20;

fn window() -> Duration {
    Duration::minutes(15)
}

fn link_window() -> Duration {
    Duration::minutes(10)
}

fn account_key(account: &str) -> String {
    secret_hash(&format!(
        "sign-in account:{}",
        account.trim().to_lowercase()
    ))
}

fn pair_key(account: &str, address: IpAddr) -> String {
    secret_hash(&format!(
        "sign-in pair:{}|{address}",
        account.trim().to_lowercase()
    ))
}

/// Whether `address` may try to sign in to `account` now.
pub async fn sign_in_allowed(
    store: &Store,
    account: &str,
    address: IpAddr,
    now: DateTime<Utc>,
) -> Result<bool> {
    let since = now - window();
    let tries = store
        .attempts_since(&pair_key(account, address), since)
        .await?;
    if tries >= SIGN_IN_TRIES_PER_ADDRESS {
        return Ok(false);
    }
    let against_account = store.attempts_since(&account_key(account), since).await?;
    Ok(against_account < SIGN_IN_ACCOUNT_ALARM || tries < SIGN_IN_TRIES_UNDER_ATTACK)
}

/// Counts a failed sign-in of `address` to `account`.
pub async fn sign_in_failed(
    store: &Store,
    account: &str,
    address: IpAddr,
    now: DateTime<Utc>,
) -> Result<()> {
    let (pair, account) = (pair_key(account, address), account_key(account));
    store
        .add_attempts(&[&pair, &account], now, now - window())
        .await?;
    Ok(())
}

/// A successful sign-in clears that address's failures.
pub async fn signed_in(store: &Store, account: &str, address: IpAddr) -> Result<()> {
    store.clear_attempts(&pair_key(account, address)).await?;
    Ok(())
}

/// Counts one anonymous answer from `address`; false once it is over the limit.
pub async fn link_answer_allowed(
    store: &Store,
    address: IpAddr,
    now: DateTime<Utc>,
) -> Result<bool> {
    let key = secret_hash(&format!("link answer:{address}"));
    let since = now - link_window();
    if store.attempts_since(&key, since).await? >= LINK_ANSWERS_PER_ADDRESS {
        return Ok(false);
    }
    store.add_attempts(&[&key], now, since).await?;
    Ok(true)
}
