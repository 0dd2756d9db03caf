//! Staff accounts, sessions and API tokens. Secrets arrive here already
//! hashed: the store never sees a password, cookie or token.

use chrono::{DateTime, Utc};
use vouch_domain::Role;

use crate::sealed::TOTP_SECRET;
use crate::store::{BeginWrite, on_backend};
use crate::{Result, Store, StoreError};

/// A staff member as the server needs them.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffUser {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub password_hash: String,
}

/// A staff account as the admins' list shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StaffAccount {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Sessions open now (expired ones included until they are swept).
    pub sessions: u64,
}

/// What to change about a staff account; each `Some` is changed.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub role: Option<Role>,
    pub password_hash: Option<String>,
    /// `Some(Some(t))` disables at `t`; `Some(None)` enables again.
    pub disabled_at: Option<Option<DateTime<Utc>>>,
}

/// An API token as its list shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ApiTokenInfo {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

fn role(text: &str) -> Result<Role> {
    text.parse()
        .map_err(|e: vouch_domain::DomainError| StoreError::corrupt("user", e.to_string()))
}

impl Store {
    /// Adds a staff user; an email already taken is an error.
    pub async fn add_user(
        &self,
        email: &str,
        role: Role,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<i64> {
        const SQL: &str = "INSERT INTO users (email, role, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id";
        let id: i64 = on_backend!(self, pool => sqlx::query_scalar(SQL)
            .bind(email).bind(role.as_str()).bind(password_hash).bind(at).fetch_one(pool).await)?;
        Ok(id)
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<StaffUser>> {
        // A disabled account cannot sign in: to the form it does not exist.
        const SQL: &str = "SELECT id, email, role, password_hash FROM users WHERE email = $1 AND disabled_at IS NULL";
        let row: Option<(i64, String, String, String)> =
            on_backend!(self, pool => sqlx::query_as(SQL).bind(email).fetch_optional(pool).await)?;
        row.map(|(id, email, r, password_hash)| {
            Ok(StaffUser {
                id,
                email,
                role: role(&r)?,
                password_hash,
            })
        })
        .transpose()
    }

    pub async fn count_users(&self) -> Result<u64> {
        let n: i64 = on_backend!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await)?;
        Ok(n as u64)
    }

    /// Opens a session for `user` until `expires_at`.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user: i64,
        csrf_token: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        const SQL: &str = "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
        on_backend!(self, pool => sqlx::query(SQL).bind(token_hash).bind(user).bind(csrf_token).bind(at).bind(expires_at).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// The user and CSRF token of a session still open at `now`: before
    /// its expiry, used since `idle_since`, of an enabled account. Marks
    /// it used (at most once a minute, to spare the database a write per
    /// request).
    pub async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        idle_since: DateTime<Utc>,
    ) -> Result<Option<(StaffUser, String)>> {
        const SQL: &str = "SELECT u.id, u.email, u.role, u.password_hash, s.csrf_token FROM sessions s \
            JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2 \
            AND COALESCE(s.last_seen_at, s.created_at) > $3 AND u.disabled_at IS NULL";
        const TOUCH: &str = "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1 \
            AND COALESCE(last_seen_at, created_at) < $3";
        let row: Option<(i64, String, String, String, String)> = on_backend!(self, pool =>
            sqlx::query_as(SQL).bind(token_hash).bind(now).bind(idle_since).fetch_optional(pool).await)?;
        if row.is_some() {
            on_backend!(self, pool => sqlx::query(TOUCH).bind(token_hash).bind(now)
                .bind(now - chrono::Duration::minutes(1)).execute(pool).await.map(|_| ()))?;
        }
        row.map(|(id, email, r, password_hash, csrf)| {
            Ok((
                StaffUser {
                    id,
                    email,
                    role: role(&r)?,
                    password_hash,
                },
                csrf,
            ))
        })
        .transpose()
    }

    pub async fn end_session(&self, token_hash: &str) -> Result<()> {
        const SQL: &str = "DELETE FROM sessions WHERE token_hash = $1";
        on_backend!(self, pool => sqlx::query(SQL).bind(token_hash).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Ends every session of `user` (a role or password change, a disabled account).
    pub async fn end_sessions_of(&self, user: i64) -> Result<u64> {
        const SQL: &str = "DELETE FROM sessions WHERE user_id = $1";
        let ended = on_backend!(self, pool => sqlx::query(SQL).bind(user).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(ended)
    }

    /// Every staff account, by email.
    pub async fn users(&self) -> Result<Vec<StaffAccount>> {
        const SQL: &str = "SELECT id, email, role, created_at, disabled_at, \
            (SELECT COUNT(*) FROM sessions s WHERE s.user_id = users.id) FROM users ORDER BY email";
        type Row = (
            i64,
            String,
            String,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
            i64,
        );
        let rows: Vec<Row> = on_backend!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(id, email, r, created_at, disabled_at, sessions)| {
                Ok(StaffAccount {
                    id,
                    email,
                    role: role(&r)?,
                    created_at,
                    disabled_at,
                    sessions: sessions as u64,
                })
            })
            .collect()
    }

    /// Changes a user's role, password hash or disabled time (whichever
    /// are given) and ends their sessions, in one transaction; false when
    /// there is no such user.
    pub async fn change_user(&self, user: i64, change: &UserChange) -> Result<bool> {
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut found = false;
            if let Some(r) = change.role {
                found |= sqlx::query("UPDATE users SET role = $2 WHERE id = $1")
                    .bind(user).bind(r.as_str()).execute(&mut *tx).await?.rows_affected() > 0;
            }
            if let Some(hash) = &change.password_hash {
                found |= sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                    .bind(user).bind(hash).execute(&mut *tx).await?.rows_affected() > 0;
            }
            if let Some(disabled_at) = change.disabled_at {
                found |= sqlx::query("UPDATE users SET disabled_at = $2 WHERE id = $1")
                    .bind(user).bind(disabled_at).execute(&mut *tx).await?.rows_affected() > 0;
            }
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(found)
        })
    }

    /// Deletes a staff account (its sessions go with it); false when there was none.
    pub async fn delete_user(&self, user: i64) -> Result<bool> {
        const SQL: &str = "DELETE FROM users WHERE id = $1";
        let n = on_backend!(self, pool => sqlx::query(SQL).bind(user).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Records an API token by its hash; returns its id.
    pub async fn add_api_token(
        &self,
        name: &str,
        role: Role,
        token_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<i64> {
        self.add_expiring_api_token(name, role, token_hash, at, None)
            .await
    }

    /// An API token that stops working at `expires_at` (never when `None`).
    pub async fn add_expiring_api_token(
        &self,
        name: &str,
        role: Role,
        token_hash: &str,
        at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<i64> {
        const SQL: &str = "INSERT INTO api_tokens (name, role, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id";
        let id: i64 = on_backend!(self, pool => sqlx::query_scalar(SQL)
            .bind(name).bind(role.as_str()).bind(token_hash).bind(at).bind(expires_at).fetch_one(pool).await)?;
        Ok(id)
    }

    /// The id, name and role of a token neither revoked nor expired at
    /// `now`; marks it used (at most once a minute).
    pub async fn api_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(i64, String, Role)>> {
        const SQL: &str = "SELECT id, name, role FROM api_tokens WHERE token_hash = $1 \
            AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)";
        const TOUCH: &str = "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 \
            AND (last_used_at IS NULL OR last_used_at < $3)";
        let row: Option<(i64, String, String)> = on_backend!(self, pool =>
            sqlx::query_as(SQL).bind(token_hash).bind(now).fetch_optional(pool).await)?;
        if let Some((id, _, _)) = &row {
            on_backend!(self, pool => sqlx::query(TOUCH).bind(id).bind(now)
                .bind(now - chrono::Duration::minutes(1)).execute(pool).await.map(|_| ()))?;
        }
        row.map(|(id, name, r)| Ok((id, name, role(&r)?)))
            .transpose()
    }

    /// Every API token, newest first (never the secret: only its hash is kept).
    pub async fn api_tokens(&self) -> Result<Vec<ApiTokenInfo>> {
        const SQL: &str = "SELECT id, name, role, created_at, expires_at, last_used_at, revoked_at \
            FROM api_tokens ORDER BY id DESC";
        #[allow(clippy::type_complexity)]
        let rows: Vec<(
            i64,
            String,
            String,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
        )> = on_backend!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        rows.into_iter()
            .map(
                |(id, name, r, created_at, expires_at, last_used_at, revoked_at)| {
                    Ok(ApiTokenInfo {
                        id,
                        name,
                        role: role(&r)?,
                        created_at,
                        expires_at,
                        last_used_at,
                        revoked_at,
                    })
                },
            )
            .collect()
    }

    /// Revokes a token at `at`; false when there is no such token, or it
    /// was revoked already.
    pub async fn revoke_api_token(&self, id: i64, at: DateTime<Utc>) -> Result<bool> {
        const SQL: &str =
            "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
        let n = on_backend!(self, pool => sqlx::query(SQL).bind(id).bind(at).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }
}

impl Store {
    /// Sets (or with `None` removes) a user's TOTP secret, forgets the last
    /// step used and replaces their recovery codes, in one transaction.
    pub async fn set_second_factor(
        &self,
        user: i64,
        secret_hex: Option<&str>,
        recovery_code_hashes: &[String],
    ) -> Result<()> {
        let secret = secret_hex
            .map(|s| self.keys.seal(TOTP_SECRET, s))
            .transpose()?;
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE users SET totp_secret = $2, totp_last_step = NULL WHERE id = $1")
                .bind(user).bind(&secret).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user).execute(&mut *tx).await?;
            for hash in recovery_code_hashes {
                sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                    .bind(user).bind(hash).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// A user's TOTP secret (hex) and the last step used, when they have one.
    pub async fn second_factor(&self, user: i64) -> Result<Option<(String, Option<i64>)>> {
        const SQL: &str = "SELECT totp_secret, totp_last_step FROM users WHERE id = $1 AND totp_secret IS NOT NULL";
        let row: Option<(String, Option<i64>)> =
            on_backend!(self, pool => sqlx::query_as(SQL).bind(user).fetch_optional(pool).await)?;
        row.map(|(secret, last)| Ok((self.keys.open(TOTP_SECRET, &secret)?, last)))
            .transpose()
    }

    /// Records that `step` was used, unless it (or a later one) was already:
    /// true when this call is the first to use it.
    pub async fn use_totp_step(&self, user: i64, step: i64) -> Result<bool> {
        const SQL: &str = "UPDATE users SET totp_last_step = $2 WHERE id = $1 \
            AND (totp_last_step IS NULL OR totp_last_step < $2)";
        let n = on_backend!(self, pool => sqlx::query(SQL).bind(user).bind(step).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Uses up a recovery code by its hash: true when it was there, unused.
    pub async fn use_recovery_code(
        &self,
        user: i64,
        code_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        const SQL: &str = "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL";
        let n = on_backend!(self, pool => sqlx::query(SQL).bind(user).bind(code_hash).bind(at).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }
}

impl Store {
    /// Records an invitation to join as `role`, valid until `expires_at`.
    pub async fn add_staff_invitation(
        &self,
        token_hash: &str,
        email: &str,
        role: Role,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        const SQL: &str = "INSERT INTO staff_invitations (token_hash, email, role, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
        on_backend!(self, pool => sqlx::query(SQL).bind(token_hash).bind(email).bind(role.as_str())
            .bind(at).bind(expires_at).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// The email and role of an invitation still open at `now`.
    pub async fn staff_invitation(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(String, Role)>> {
        const SQL: &str = "SELECT email, role FROM staff_invitations WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2";
        let row: Option<(String, String)> = on_backend!(self, pool => sqlx::query_as(SQL).bind(token_hash).bind(now).fetch_optional(pool).await)?;
        row.map(|(email, r)| Ok((email, role(&r)?))).transpose()
    }

    /// Uses an open invitation and creates its account with `password_hash`,
    /// in one transaction; the new user's id, or `None` when the invitation
    /// is unknown, used or expired.
    pub async fn accept_staff_invitation(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        const CLAIM: &str = "UPDATE staff_invitations SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING email, role";
        const ADD: &str = "INSERT INTO users (email, role, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id";
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let claimed: Option<(String, String)> = sqlx::query_as(CLAIM).bind(token_hash).bind(now).fetch_optional(&mut *tx).await?;
            let Some((email, r)) = claimed else {
                return Ok(None);
            };
            let id: i64 = sqlx::query_scalar(ADD).bind(&email).bind(&r).bind(password_hash).bind(now).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(id))
        })
    }
}
