//! How connectors prove who they are to APIs that want more than a key:
//! Google's OAuth 2.0 (a user's refresh token, or a service account's
//! signed assertion, RFC 7523) and App Store Connect's ES256 JSON Web
//! Token. Keys are read from the sealed credentials for one sync and
//! never written anywhere; errors name the vendor and the status, never
//! the secret.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, RsaKeyPair};
use serde::Deserialize;

/// Google's token endpoint, where the credentials do not name another.
pub const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The credentials Google's own tools write: `gcloud auth
/// application-default login` (an authorized user) or a service account's
/// key file.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GoogleCredentials {
    AuthorizedUser {
        client_id: String,
        client_secret: String,
        refresh_token: String,
        #[serde(default)]
        token_uri: Option<String>,
    },
    ServiceAccount {
        client_email: String,
        private_key: String,
        #[serde(default)]
        token_uri: Option<String>,
    },
}

impl GoogleCredentials {
    /// Reads and checks credentials, so that a bad file is refused when
    /// the source is added rather than at its first sync.
    pub fn parse(text: &str) -> Result<Self, String> {
        let credentials: GoogleCredentials = serde_json::from_str(text).map_err(|e| {
            format!(
                "Google credentials are a JSON file of type authorized_user (client_id, \
                 client_secret, refresh_token) or service_account (client_email, private_key): {e}"
            )
        })?;
        if let GoogleCredentials::ServiceAccount { private_key, .. } = &credentials {
            RsaKeyPair::from_pkcs8(&pem_der(private_key)?)
                .map_err(|e| format!("the service account's private_key is not an RSA key: {e}"))?;
        }
        super::check_base_url(credentials.token_uri()).map_err(|e| format!("token_uri: {e}"))?;
        Ok(credentials)
    }

    pub fn token_uri(&self) -> &str {
        match self {
            GoogleCredentials::AuthorizedUser { token_uri, .. }
            | GoogleCredentials::ServiceAccount { token_uri, .. } => {
                token_uri.as_deref().unwrap_or(GOOGLE_TOKEN_URI)
            }
        }
    }

    /// An access token for `scope`, from Google's token endpoint.
    pub async fn access_token(
        &self,
        client: &reqwest::Client,
        scope: &str,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        let form: Vec<(&str, String)> = match self {
            GoogleCredentials::AuthorizedUser {
                client_id,
                client_secret,
                refresh_token,
                ..
            } => vec![
                ("grant_type", "refresh_token".to_owned()),
                ("client_id", client_id.clone()),
                ("client_secret", client_secret.clone()),
                ("refresh_token", refresh_token.clone()),
            ],
            GoogleCredentials::ServiceAccount {
                client_email,
                private_key,
                ..
            } => {
                let claims = serde_json::json!({
                    "iss": client_email,
                    "scope": scope,
                    "aud": self.token_uri(),
                    "iat": now.timestamp(),
                    "exp": now.timestamp() + 3600,
                });
                let assertion = rs256_token(private_key, &claims)?;
                vec![
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned(),
                    ),
                    ("assertion", assertion),
                ]
            }
        };
        let response = client
            .post(self.token_uri())
            .form(&form)
            .send()
            .await
            .map_err(|e| format!("Google's token endpoint cannot be reached: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            // Google answers 400 `invalid_grant` for a revoked or expired
            // refresh token, 401 for an unknown client.
            let reason = response
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or_default();
            return Err(format!(
                "Google refused the credentials (HTTP {} {reason}): add the source again with new ones",
                status.as_u16()
            ));
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| format!("Google's token endpoint answered something else: {e}"))?;
        body.get("access_token")
            .and_then(|t| t.as_str())
            .map(str::to_owned)
            .ok_or_else(|| "Google's token endpoint gave no access_token".to_owned())
    }
}

/// An App Store Connect API key: the issuer, the key's id and the `.p8`
/// private key Apple lets one download once.
#[derive(Debug, Clone, Deserialize)]
pub struct AppStoreKey {
    pub issuer_id: String,
    pub key_id: String,
    pub private_key: String,
}

impl AppStoreKey {
    pub fn parse(text: &str) -> Result<Self, String> {
        let key: AppStoreKey = serde_json::from_str(text).map_err(|e| {
            format!(
                "App Store Connect credentials are JSON: issuer_id, key_id and private_key \
                 (the .p8 file's text): {e}"
            )
        })?;
        key.signer()?;
        Ok(key)
    }

    fn signer(&self) -> Result<EcdsaKeyPair, String> {
        EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &pem_der(&self.private_key)?,
            &SystemRandom::new(),
        )
        .map_err(|e| format!("the private_key is not an App Store Connect (P-256) key: {e}"))
    }

    /// A token for the next requests: Apple takes at most 20 minutes.
    pub fn token(&self, now: DateTime<Utc>) -> Result<String, String> {
        let header = serde_json::json!({"alg": "ES256", "kid": self.key_id, "typ": "JWT"});
        let claims = serde_json::json!({
            "iss": self.issuer_id,
            "iat": now.timestamp(),
            "exp": now.timestamp() + 15 * 60,
            "aud": "appstoreconnect-v1",
        });
        let signing_input = format!("{}.{}", part(&header), part(&claims));
        let signature = self
            .signer()?
            .sign(&SystemRandom::new(), signing_input.as_bytes())
            .map_err(|_| "the App Store Connect key could not sign".to_owned())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }
}

fn part(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn rs256_token(private_key: &str, claims: &serde_json::Value) -> Result<String, String> {
    let key = RsaKeyPair::from_pkcs8(&pem_der(private_key)?)
        .map_err(|e| format!("the service account's private_key is not an RSA key: {e}"))?;
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    let signing_input = format!("{}.{}", part(&header), part(claims));
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &signature::RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "the service account's key could not sign".to_owned())?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// The DER inside a PEM block (`-----BEGIN PRIVATE KEY-----` …).
fn pem_der(pem: &str) -> Result<Vec<u8>, String> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----"))
        .collect();
    STANDARD
        .decode(body)
        .map_err(|_| "the private_key is not a PEM block".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_store_tokens_verify_with_the_key_they_were_signed_with() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(pkcs8.as_ref())
        );
        let credentials =
            serde_json::json!({"issuer_id": "iss-1", "key_id": "KEY1", "private_key": pem});
        let key = AppStoreKey::parse(&credentials.to_string()).unwrap();
        let now = DateTime::from_timestamp(1_767_616_496, 0).unwrap();
        let token = key.token(now).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["aud"], "appstoreconnect-v1");
        assert_eq!(claims["exp"].as_i64(), Some(1_767_616_496 + 900));
        let public = key.signer().unwrap();
        let public = signature::UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            ring::signature::KeyPair::public_key(&public)
                .as_ref()
                .to_vec(),
        );
        let signed = format!("{}.{}", parts[0], parts[1]);
        public
            .verify(
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
            )
            .expect("a valid ES256 signature");
        assert!(
            AppStoreKey::parse(r#"{"issuer_id":"i","key_id":"k","private_key":"nope"}"#)
                .unwrap_err()
                .contains("private_key")
        );
    }

    #[test]
    fn google_credentials_are_checked_when_read() {
        let user =
            r#"{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r"}"#;
        let parsed = GoogleCredentials::parse(user).unwrap();
        assert_eq!(parsed.token_uri(), GOOGLE_TOKEN_URI);
        let plain = r#"{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r","token_uri":"http://example.com/token"}"#;
        assert!(
            GoogleCredentials::parse(plain)
                .unwrap_err()
                .contains("https only")
        );
        let bad_key = r#"{"type":"service_account","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}"#;
        assert!(
            GoogleCredentials::parse(bad_key)
                .unwrap_err()
                .contains("not an RSA key")
        );
        assert!(GoogleCredentials::parse("apikey").is_err());
    }
}
