//! Staff accounts, sessions and API tokens. Secrets arrive here already
//! hashed: the store never sees a password, cookie or token.

use chrono::{DateTime, Utc};
use vouch_domain::Role;

use crate::store::on_backend;
use crate::{Result, Store, StoreError};

/// A staff member as the server needs them.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffUser {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub password_hash: String,
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
        const SQL: &str = "SELECT id, email, role, password_hash FROM users WHERE email = $1";
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

    /// The user and CSRF token of a session still open at `now`.
    pub async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(StaffUser, String)>> {
        const SQL: &str = "SELECT u.id, u.email, u.role, u.password_hash, s.csrf_token FROM sessions s \
            JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2";
        let row: Option<(i64, String, String, String, String)> = on_backend!(self, pool =>
            sqlx::query_as(SQL).bind(token_hash).bind(now).fetch_optional(pool).await)?;
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

    /// Records an API token by its hash; returns its id.
    pub async fn add_api_token(
        &self,
        name: &str,
        role: Role,
        token_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<i64> {
        const SQL: &str = "INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id";
        let id: i64 = on_backend!(self, pool => sqlx::query_scalar(SQL)
            .bind(name).bind(role.as_str()).bind(token_hash).bind(at).fetch_one(pool).await)?;
        Ok(id)
    }

    /// The name and role of a token that was not revoked.
    pub async fn api_token(&self, token_hash: &str) -> Result<Option<(String, Role)>> {
        const SQL: &str =
            "SELECT name, role FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL";
        let row: Option<(String, String)> = on_backend!(self, pool =>
            sqlx::query_as(SQL).bind(token_hash).fetch_optional(pool).await)?;
        row.map(|(name, r)| Ok((name, role(&r)?))).transpose()
    }
}
