//! Codes of the advocate program: gift codes a company loads for a reward
//! (sealed at rest, handed out once: to a fulfilled redemption or to a
//! referred friend) and join codes that let anyone holding one join.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::store::{BeginWrite, on_backend};
use crate::{Result, Store};

/// The column gift codes are sealed to.
pub(crate) const REWARD_CODE: &str = "reward_codes.code";

/// What a code's hash is made of: the reward and the code, so a re-upload
/// of the same file adds nothing.
fn code_hash(reward: i64, code: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{reward}\u{0}{code}").as_bytes(),
    );
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Hands out one free code of `$reward` by setting `$column` (a name
/// written here) to `$owner`, inside `$tx`: its sealed text, or none when
/// no code is free. Two writers never get the same code: the update
/// checks the code is still free and the loop takes the next one if not.
macro_rules! claim_code {
    ($tx:expr, $reward:expr, $column:literal, $owner:expr, $now:expr) => {
        async {
            loop {
                let free: Option<(i64, String)> = sqlx::query_as(
                    "SELECT id, code FROM reward_codes WHERE reward_id = $1 AND redemption_id IS NULL AND referral_id IS NULL ORDER BY id LIMIT 1",
                )
                .bind($reward)
                .fetch_optional(&mut *$tx)
                .await?;
                let Some((id, code)) = free else {
                    break Ok::<Option<String>, $crate::StoreError>(None);
                };
                let taken = sqlx::query(concat!(
                    "UPDATE reward_codes SET ",
                    $column,
                    " = $2, handed_at = $3 WHERE id = $1 AND redemption_id IS NULL AND referral_id IS NULL"
                ))
                .bind(id)
                .bind($owner)
                .bind($now)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
                if taken == 1 {
                    break Ok(Some(code));
                }
            }
        }
    };
}
pub(crate) use claim_code;

/// A join code as kept.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct JoinCode {
    pub code: String,
    /// None: any number of people.
    pub max_uses: Option<i64>,
    pub uses: i64,
    pub expires_at: Option<DateTime<Utc>>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl JoinCode {
    /// Whether someone may join with it at `now`.
    pub fn open_at(&self, now: DateTime<Utc>) -> bool {
        self.active
            && self.expires_at.is_none_or(|at| at > now)
            && self.max_uses.is_none_or(|max| self.uses < max)
    }
}

const JOIN_CODE_COLUMNS: &str = "code, max_uses, uses, expires_at, active, created_at";

impl Store {
    /// Adds gift codes to reward `reward`: those it holds already are
    /// skipped, and its stock grows by the number added, in one
    /// transaction. How many were added.
    pub async fn add_reward_codes(
        &self,
        reward: i64,
        codes: &[String],
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let mut sealed = Vec::with_capacity(codes.len());
        for code in codes {
            sealed.push((code_hash(reward, code), self.keys.seal(REWARD_CODE, code)?));
        }
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut added = 0u64;
            for (hash, code) in &sealed {
                added += sqlx::query("INSERT INTO reward_codes (reward_id, code_hash, code, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (reward_id, code_hash) DO NOTHING")
                    .bind(reward).bind(hash).bind(code).bind(now)
                    .execute(&mut *tx).await?.rows_affected();
            }
            sqlx::query("UPDATE rewards SET stock = COALESCE(stock, 0) + $2, updated_at = $3 WHERE id = $1")
                .bind(reward).bind(added as i64).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(added as usize)
        })
    }

    /// Free gift codes by reward.
    pub async fn free_codes(&self) -> Result<HashMap<i64, i64>> {
        let rows: Vec<(i64, i64)> = on_backend!(self, pool => sqlx::query_as(
            "SELECT reward_id, COUNT(*) FROM reward_codes WHERE redemption_id IS NULL AND referral_id IS NULL GROUP BY reward_id")
            .fetch_all(pool).await)?;
        Ok(rows.into_iter().collect())
    }

    /// The gift codes handed out for a member's redemptions, by redemption.
    pub async fn redemption_codes(&self, member: i64) -> Result<HashMap<i64, String>> {
        let rows: Vec<(i64, String)> = on_backend!(self, pool => sqlx::query_as(
            "SELECT c.redemption_id, c.code FROM reward_codes c JOIN redemptions r ON r.id = c.redemption_id WHERE r.member_id = $1")
            .bind(member).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(id, code)| Ok((id, self.keys.open(REWARD_CODE, &code)?)))
            .collect()
    }

    /// The friend's code of referral `referral`: the one handed out
    /// already, else a free one of `reward` (its stock one lower); none
    /// when no code is free.
    pub async fn friend_code(
        &self,
        reward: i64,
        referral: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<String>> {
        let sealed: Option<String> = on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let had: Option<String> = sqlx::query_scalar("SELECT code FROM reward_codes WHERE referral_id = $1")
                .bind(referral).fetch_optional(&mut *tx).await?;
            let code = match had {
                Some(code) => Some(code),
                None => {
                    let code = claim_code!(tx, reward, "referral_id", referral, now).await?;
                    if code.is_some() {
                        sqlx::query("UPDATE rewards SET stock = stock - 1, updated_at = $2 WHERE id = $1 AND stock > 0")
                            .bind(reward).bind(now).execute(&mut *tx).await?;
                    }
                    code
                }
            };
            tx.commit().await?;
            Ok::<_, crate::StoreError>(code)
        })?;
        sealed
            .map(|code| self.keys.open(REWARD_CODE, &code))
            .transpose()
    }

    /// Adds a join code; a taken code is a unique violation.
    pub async fn add_join_code(
        &self,
        code: &str,
        max_uses: Option<i64>,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<JoinCode> {
        let sql = format!(
            "INSERT INTO join_codes (code, max_uses, uses, expires_at, active, created_at) VALUES ($1, $2, 0, $3, $4, $5) RETURNING {JOIN_CODE_COLUMNS}"
        );
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(code).bind(max_uses).bind(expires_at).bind(true).bind(now).fetch_one(pool).await)?,
        )
    }

    /// Every join code, newest first.
    pub async fn join_codes(&self) -> Result<Vec<JoinCode>> {
        let sql =
            format!("SELECT {JOIN_CODE_COLUMNS} FROM join_codes ORDER BY created_at DESC, code");
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await)?,
        )
    }

    pub async fn join_code(&self, code: &str) -> Result<Option<JoinCode>> {
        let sql = format!("SELECT {JOIN_CODE_COLUMNS} FROM join_codes WHERE code = $1");
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(code).fetch_optional(pool).await)?,
        )
    }

    /// Switches a join code on or off; none when there is no such code.
    pub async fn set_join_code_active(&self, code: &str, active: bool) -> Result<Option<JoinCode>> {
        on_backend!(self, pool => sqlx::query("UPDATE join_codes SET active = $2 WHERE code = $1")
            .bind(code).bind(active).execute(pool).await.map(|_| ()))?;
        self.join_code(code).await
    }

    /// Counts one use of a join code if it is still open at `now`.
    pub async fn spend_join_code(&self, code: &str, now: DateTime<Utc>) -> Result<bool> {
        let n = on_backend!(self, pool => sqlx::query(
            "UPDATE join_codes SET uses = uses + 1 WHERE code = $1 AND active = $2 AND (expires_at IS NULL OR expires_at > $3) AND (max_uses IS NULL OR uses < max_uses)")
            .bind(code).bind(true).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }
}
