//! Secrets the server must read back, webhook signing secrets and TOTP
//! secrets, are kept sealed: ChaCha20-Poly1305 under a key that is not in
//! the database, so a copy of the database alone opens none of them.
//! The key is the `secret_key` setting, or else, for an SQLite database,
//! the file beside it (`vouch.db.key`, made on first use, mode 0600).
//! A value is bound to its column, so a sealed TOTP secret cannot be
//! passed off as a webhook's.

use std::path::PathBuf;
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::store::{Pool, on_backend};
use crate::{Result, Store, StoreError};

/// The columns sealed values are bound to.
pub(crate) const WEBHOOK_SECRET: &str = "webhooks.secret";
pub(crate) const TOTP_SECRET: &str = "users.totp_secret";
/// A connector's API key or token.
pub(crate) const SOURCE_CREDENTIALS: &str = "feedback_sources.credentials";
/// Settings named `secret.…` (the erasure key) are sealed too.
pub(crate) const SECRET_SETTING: &str = "settings.secret";

/// How a sealed value starts; a value without it was stored readable
/// (before sealing, or on PostgreSQL with no `secret_key`).
const SEALED: &str = "sealed:v1:";

/// The 256-bit key secrets are sealed with.
pub struct SecretKey(LessSafeKey);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// 32 random bytes in standard base64, as `vouch secret-key` prints.
    pub fn generate() -> String {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("the system's random source works");
        STANDARD.encode(bytes)
    }

    /// A key as the `secret_key` setting writes it: 32 bytes in base64.
    pub fn parse(text: &str) -> std::result::Result<SecretKey, String> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| "secret_key is not base64".to_owned())?;
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, &bytes).map_err(|_| {
            format!(
                "secret_key has {} bytes; it needs 32 (make one with `vouch secret-key`)",
                bytes.len()
            )
        })?;
        Ok(SecretKey(LessSafeKey::new(unbound)))
    }

    fn seal(&self, column: &str, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the system's random source works");
        let mut sealed = plain.as_bytes().to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(column.as_bytes()),
                &mut sealed,
            )
            .expect("a secret of a few bytes seals");
        let mut both = nonce.to_vec();
        both.extend_from_slice(&sealed);
        format!("{SEALED}{}", STANDARD.encode(both))
    }

    fn open(&self, column: &str, sealed: &str) -> Option<String> {
        let mut both = STANDARD.decode(sealed).ok()?;
        if both.len() < NONCE_LEN {
            return None;
        }
        let mut body = both.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&both).ok()?;
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(column.as_bytes()), &mut body)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

/// Where a store's key comes from: the setting, or the file beside the
/// SQLite database, read or made when first needed.
#[derive(Debug, Default)]
pub(crate) struct Keys {
    configured: Option<SecretKey>,
    file: Option<PathBuf>,
    from_file: OnceLock<SecretKey>,
}

impl Keys {
    pub(crate) fn beside(database: Option<PathBuf>) -> Keys {
        Keys {
            file: database.map(|path| {
                let mut name = path.into_os_string();
                name.push(".key");
                PathBuf::from(name)
            }),
            ..Keys::default()
        }
    }

    /// The `secret_key` setting: no file is read or made.
    pub(crate) fn configured(key: SecretKey) -> Keys {
        Keys {
            configured: Some(key),
            ..Keys::default()
        }
    }

    /// The key, reading the file or (when `create`) making it.
    fn key(&self, create: bool) -> Result<Option<&SecretKey>> {
        if let Some(key) = &self.configured {
            return Ok(Some(key));
        }
        let Some(file) = &self.file else {
            return Ok(None);
        };
        if let Some(key) = self.from_file.get() {
            return Ok(Some(key));
        }
        let unusable = |reason: String| StoreError::SecretKey {
            file: file.display().to_string(),
            reason,
        };
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let text = SecretKey::generate();
                write_private(file, &text).map_err(|e| unusable(e.to_string()))?;
                // Another process may have made it first: its key is the one.
                std::fs::read_to_string(file).map_err(|e| unusable(e.to_string()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(unusable(e.to_string())),
        };
        let key = SecretKey::parse(&text).map_err(unusable)?;
        Ok(Some(self.from_file.get_or_init(|| key)))
    }

    /// Whether a secret written now would be sealed.
    pub(crate) fn can_seal(&self) -> bool {
        self.configured.is_some() || self.file.is_some()
    }

    /// What the store keeps of `plain` in `column`: sealed when there is a
    /// key, readable otherwise (PostgreSQL with no `secret_key`).
    pub(crate) fn seal(&self, column: &str, plain: &str) -> Result<String> {
        Ok(match self.key(true)? {
            Some(key) => key.seal(column, plain),
            None => plain.to_owned(),
        })
    }

    /// The secret a stored value holds.
    pub(crate) fn open(&self, column: &'static str, stored: &str) -> Result<String> {
        let Some(sealed) = stored.strip_prefix(SEALED) else {
            return Ok(stored.to_owned());
        };
        let key = self.key(false)?.ok_or_else(|| {
            StoreError::corrupt(
                column,
                "it is sealed and no key opens it: set secret_key, or restore the .key file beside the database",
            )
        })?;
        key.open(column, sealed)
            .ok_or_else(|| StoreError::corrupt(column, "it is sealed with another key"))
    }

    pub(crate) fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED)
    }
}

impl Store {
    /// The secret setting `name` (`secret.` + a name), opened.
    pub async fn secret_setting(&self, name: &str) -> Result<Option<String>> {
        let name = format!("secret.{name}");
        let stored: Option<String> = on_backend!(self, pool => sqlx::query_scalar("SELECT value FROM settings WHERE name = $1").bind(&name).fetch_optional(pool).await)?;
        stored
            .map(|stored| self.keys.open(SECRET_SETTING, &stored))
            .transpose()
    }

    /// Keeps `value` sealed as secret setting `name` unless one is there
    /// already; the secret that is kept (the first writer's, when two race).
    pub async fn keep_secret_setting(&self, name: &str, value: &str) -> Result<String> {
        let sealed = self.keys.seal(SECRET_SETTING, value)?;
        let key = format!("secret.{name}");
        on_backend!(self, pool => sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING").bind(&key).bind(&sealed).execute(pool).await.map(|_| ()))?;
        Ok(self
            .secret_setting(name)
            .await?
            .unwrap_or_else(|| value.to_owned()))
    }

    /// Seals the webhook and TOTP secrets and secret settings still stored readable (written
    /// before sealing, or on PostgreSQL before `secret_key` was set); the
    /// number sealed. `vouch serve` runs it at start.
    pub async fn seal_readable_secrets(&self) -> Result<usize> {
        if !self.keys.can_seal() {
            return Ok(0);
        }
        let hooks: Vec<(i64, String)> = on_backend!(self, pool => sqlx::query_as("SELECT id, secret FROM webhooks").fetch_all(pool).await)?;
        let users: Vec<(i64, String)> = on_backend!(self, pool => sqlx::query_as("SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL").fetch_all(pool).await)?;
        let mut sealed = 0;
        // Kept readable under its own name by earlier versions.
        let legacy: Option<String> = on_backend!(self, pool => sqlx::query_scalar("SELECT value FROM settings WHERE name = 'erasure_key'").fetch_optional(pool).await)?;
        if let Some(key) = legacy {
            self.keep_secret_setting("erasure_key", &key).await?;
            self.remove_setting("erasure_key").await?;
            sealed += 1;
        }
        let settings: Vec<(String, String)> = on_backend!(self, pool => sqlx::query_as("SELECT name, value FROM settings WHERE name LIKE 'secret.%'").fetch_all(pool).await)?;
        for (name, readable) in settings.into_iter().filter(|(_, s)| !Keys::is_sealed(s)) {
            let value = self.keys.seal(SECRET_SETTING, &readable)?;
            on_backend!(self, pool => sqlx::query("UPDATE settings SET value = $2 WHERE name = $1 AND value = $3").bind(&name).bind(&value).bind(&readable).execute(pool).await.map(|_| ()))?;
            sealed += 1;
        }
        // Compare-and-set: a secret changed meanwhile is left to its writer.
        for (sql, bound, rows) in [
            (
                "UPDATE webhooks SET secret = $2 WHERE id = $1 AND secret = $3",
                WEBHOOK_SECRET,
                hooks,
            ),
            (
                "UPDATE users SET totp_secret = $2 WHERE id = $1 AND totp_secret = $3",
                TOTP_SECRET,
                users,
            ),
        ] {
            for (id, readable) in rows.into_iter().filter(|(_, s)| !Keys::is_sealed(s)) {
                let value = self.keys.seal(bound, &readable)?;
                on_backend!(self, pool => sqlx::query(sql).bind(id).bind(&value).bind(&readable).execute(pool).await.map(|_| ()))?;
                sealed += 1;
            }
        }
        if sealed > 0
            && let Pool::Sqlite(pool) = &self.pool
        {
            // The readable bytes would linger in free pages and the WAL:
            // rewrite the file, then empty the WAL.
            sqlx::query("VACUUM").execute(pool).await?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(pool)
                .await?;
        }
        Ok(sealed)
    }
}

/// Writes a new file only its owner can read; fails if it exists.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_with_its_key_and_column_only() {
        let keys = Keys::configured(SecretKey::parse(&SecretKey::generate()).unwrap());
        let sealed = keys.seal("webhooks.secret", "whsec_abc").unwrap();
        assert!(Keys::is_sealed(&sealed) && !sealed.contains("whsec_abc"));
        assert_ne!(sealed, keys.seal("webhooks.secret", "whsec_abc").unwrap());
        assert_eq!(keys.open("webhooks.secret", &sealed).unwrap(), "whsec_abc");
        assert!(keys.open("users.totp_secret", &sealed).is_err());
        let other = Keys::configured(SecretKey::parse(&SecretKey::generate()).unwrap());
        assert!(other.open("webhooks.secret", &sealed).is_err());
        assert!(Keys::default().open("webhooks.secret", &sealed).is_err());
        // Readable values (stored before sealing) are read as they are.
        assert_eq!(
            keys.open("webhooks.secret", "whsec_old").unwrap(),
            "whsec_old"
        );
        assert!(
            SecretKey::parse("c2hvcnQ=")
                .unwrap_err()
                .contains("needs 32")
        );
    }

    #[test]
    fn the_key_file_is_made_once_beside_the_database_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keys::beside(Some(dir.path().join("vouch.db")));
        assert_eq!(
            keys.key(false).unwrap().map(|_| ()),
            None,
            "not made to read"
        );
        let sealed = keys.seal("webhooks.secret", "whsec_abc").unwrap();
        let file = dir.path().join("vouch.db.key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = Keys::beside(Some(dir.path().join("vouch.db")));
        assert_eq!(again.open("webhooks.secret", &sealed).unwrap(), "whsec_abc");
    }
}
