//! Tokens from an external identity provider (CONTRACT §8): Better Auth's
//! `jwt` plugin or any issuer publishing a JWKS.
//!
//! Only asymmetric algorithms from the configured list, keys only from the
//! issuer's JWKS, chosen by `kid`. The key set is held in memory, refetched
//! on an unknown `kid` (single-flight, at most once per 5 s) and on
//! `Cache-Control` expiry; the last good set is kept while the issuer is down.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::tokens::{now_secs, LEEWAY_SECS};
use super::{AuthError, Scope, Scopes};
use crate::config::Config;

/// Fewest seconds between two fetches of the key set.
pub const MIN_REFETCH: Duration = Duration::from_secs(5);
/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest `Cache-Control: max-age` honoured, in seconds.
const MAX_AGE_CAP: u64 = 86_400;
/// Largest key set accepted.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The checked §8 settings.
#[derive(Debug, Clone)]
pub struct ExternalConfig {
    pub jwks_url: String,
    pub issuer: String,
    pub audience: String,
    pub algorithms: Vec<Algorithm>,
    /// The claim that holds a token's scopes (CONTRACT §10).
    pub scope_claim: String,
    /// The scopes of a token without that claim.
    pub default_scopes: Scopes,
}

impl ExternalConfig {
    /// `None` when no JWKS URL is set; an error (one line) for a bad combination.
    pub fn from_config(config: &Config) -> Result<Option<Self>, String> {
        let Some(url) = config.auth_jwks_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
            if config.auth_external_issuer.is_some() || config.auth_external_audience.is_some() {
                return Err("AUTH_EXTERNAL_ISSUER and AUTH_EXTERNAL_AUDIENCE need AUTH_JWKS_URL".into());
            }
            return Ok(None);
        };
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(format!("AUTH_JWKS_URL must be an http(s) URL, not {url:?}"));
        }
        let issuer = config
            .auth_external_issuer
            .clone()
            .filter(|i| !i.is_empty())
            .ok_or("AUTH_JWKS_URL needs AUTH_EXTERNAL_ISSUER (the exact `iss` of external tokens)")?;
        let audience = config
            .auth_external_audience
            .clone()
            .filter(|a| !a.is_empty())
            .ok_or("AUTH_JWKS_URL needs AUTH_EXTERNAL_AUDIENCE (a value of external tokens' `aud`)")?;
        if issuer == config.jwt_issuer {
            return Err("AUTH_EXTERNAL_ISSUER must differ from JWT_ISSUER".into());
        }
        let algorithms: Vec<Algorithm> = config.auth_external_algorithms.iter().map(|a| a.0).collect();
        if algorithms.is_empty() {
            return Err("AUTH_EXTERNAL_ALGORITHMS is empty".into());
        }
        let mut default_scopes = Vec::new();
        for word in config.auth_external_default_scopes.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            default_scopes.push(Scope::parse(word).ok_or_else(|| {
                format!("AUTH_EXTERNAL_DEFAULT_SCOPES: unknown scope {word:?} (tasks:read, tasks:write, profile:read, account)")
            })?);
        }
        let scope_claim = config.auth_external_scope_claim.trim().to_owned();
        if scope_claim.is_empty() {
            return Err("AUTH_EXTERNAL_SCOPE_CLAIM is empty".into());
        }
        Ok(Some(Self {
            jwks_url: url.to_owned(),
            issuer,
            audience,
            algorithms,
            scope_claim,
            default_scopes: default_scopes.into_iter().collect(),
        }))
    }
}

/// What a verified external token says about its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    pub issuer: String,
    pub subject: String,
    /// As the token has it; the account service normalises and validates it.
    pub email: String,
    /// Present only when the token has a `name` claim.
    pub name: Option<Option<String>>,
    pub expires_at: i64,
    /// From the scope claim, else the configured default.
    pub scopes: Scopes,
}

#[derive(Deserialize)]
struct ExternalClaims {
    sub: String,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    email: Option<String>,
    /// `Some(None)` for `"name": null`, `None` when absent.
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    /// Every other claim, for the configurable scope claim.
    #[serde(flatten)]
    other: std::collections::HashMap<String, serde_json::Value>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// One usable public key.
#[derive(Clone)]
struct PublicKey {
    key: Arc<DecodingKey>,
    /// The algorithm the JWK declares, if it does.
    alg: Option<Algorithm>,
    kind: KeyKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl KeyKind {
    fn fits(self, alg: Algorithm) -> bool {
        matches!(
            (self, alg),
            (Self::Rsa, Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512)
                | (Self::Rsa, Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512)
                | (Self::P256, Algorithm::ES256)
                | (Self::P384, Algorithm::ES384)
                | (Self::Ed25519, Algorithm::EdDSA)
        )
    }
}

#[derive(Default)]
struct KeySet {
    by_kid: HashMap<String, PublicKey>,
    all: Vec<PublicKey>,
    /// From `Cache-Control: max-age`, when the issuer sends one.
    expires: Option<Instant>,
}

impl KeySet {
    fn stale(&self) -> bool {
        self.expires.is_some_and(|t| Instant::now() >= t)
    }
}

/// The external issuer: its settings and its cached keys.
pub struct ExternalIssuer {
    config: ExternalConfig,
    http: reqwest::Client,
    keys: RwLock<Arc<KeySet>>,
    /// Held while fetching (single flight); remembers the last attempt.
    fetching: tokio::sync::Mutex<Option<Instant>>,
}

impl ExternalIssuer {
    /// Builds the client; fetches nothing (start-up never waits for the issuer).
    pub fn new(config: ExternalConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| format!("cannot build the JWKS client: {e}"))?;
        Ok(Self { config, http, keys: RwLock::default(), fetching: tokio::sync::Mutex::new(None) })
    }

    /// The `iss` this path accepts.
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// Verifies an external access token: algorithm from the list, key
    /// from the JWKS, signature, times, issuer, audience, `sub`, `typ`.
    pub async fn verify(&self, token: &str) -> Result<ExternalIdentity, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
        if !self.config.algorithms.contains(&header.alg) {
            return Err(AuthError::WrongAlgorithm);
        }
        if let Some(typ) = header.typ.as_deref() {
            let typ = typ.strip_prefix("application/").unwrap_or(typ);
            if !(typ.eq_ignore_ascii_case("JWT") || typ.eq_ignore_ascii_case("at+jwt")) {
                return Err(AuthError::WrongType);
            }
        }
        let key = self.key_for(header.kid.as_deref()).await?;
        if !key.kind.fits(header.alg) || key.alg.is_some_and(|a| a != header.alg) {
            return Err(AuthError::WrongAlgorithm);
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<ExternalClaims>(token, &key.key, &validation)
            .map_err(|e| super::tokens::map_error(&e))?
            .claims;
        let now = i64::try_from(now_secs()).unwrap_or(i64::MAX);
        if claims.iat.is_some_and(|iat| iat > now + LEEWAY_SECS as i64) {
            return Err(AuthError::NotYetValid);
        }
        if claims.sub.is_empty() {
            return Err(AuthError::BadClaims);
        }
        let email = claims.email.filter(|e| !e.is_empty()).ok_or(AuthError::BadClaims)?;
        Ok(ExternalIdentity {
            issuer: self.config.issuer.clone(),
            subject: claims.sub,
            email,
            scopes: match claims.other.get(&self.config.scope_claim) {
                None | Some(serde_json::Value::Null) => self.config.default_scopes,
                Some(serde_json::Value::String(s)) => Scopes::from_words(s.split_whitespace()),
                Some(serde_json::Value::Array(items)) => Scopes::from_words(items.iter().filter_map(|v| v.as_str())),
                Some(_) => return Err(AuthError::BadClaims),
            },
            name: claims.name,
            expires_at: claims.exp,
        })
    }

    /// The key a token names, fetching the set when the `kid` is unknown,
    /// when nothing is held yet, or when the set's `max-age` has passed.
    async fn key_for(&self, kid: Option<&str>) -> Result<PublicKey, AuthError> {
        let pick = |set: &KeySet| match kid {
            Some(kid) => set.by_kid.get(kid).cloned(),
            // No `kid`: only when the set holds exactly one key.
            None if set.all.len() == 1 => set.all.first().cloned(),
            None => None,
        };
        let held = self.current();
        if !held.stale() {
            if let Some(key) = pick(&held) {
                return Ok(key);
            }
            if kid.is_none() && !held.all.is_empty() {
                return Err(AuthError::UnknownKey);
            }
        }
        self.refetch().await;
        let fresh = self.current();
        pick(&fresh).ok_or(AuthError::UnknownKey)
    }

    fn current(&self) -> Arc<KeySet> {
        self.keys.read().map(|k| k.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// One fetch at a time, at most once per [`MIN_REFETCH`]; callers that
    /// waited for a fetch in flight use its result.
    async fn refetch(&self) {
        let mut last = self.fetching.lock().await;
        if last.is_some_and(|t| t.elapsed() < MIN_REFETCH) {
            return;
        }
        *last = Some(Instant::now());
        match self.fetch().await {
            Ok(set) => {
                tracing::info!(url = %self.config.jwks_url, keys = set.all.len(), "fetched the external issuer's keys");
                match self.keys.write() {
                    Ok(mut keys) => *keys = Arc::new(set),
                    Err(p) => *p.into_inner() = Arc::new(set),
                }
            }
            Err(cause) => {
                tracing::warn!(url = %self.config.jwks_url, %cause, "JWKS fetch failed; keeping the keys held");
            }
        }
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let response = self.http.get(&self.config.jwks_url).send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let max_age = response
            .headers()
            .get_all(reqwest::header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|d| d.trim().strip_prefix("max-age="))
            .find_map(|s| s.trim().parse::<u64>().ok());
        if response.content_length().is_some_and(|n| n > MAX_JWKS_BYTES as u64) {
            return Err("key set too large".into());
        }
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        if body.len() > MAX_JWKS_BYTES {
            return Err("key set too large".into());
        }
        let set: JwkSet = serde_json::from_slice(&body).map_err(|e| format!("not a JWKS: {e}"))?;
        // A day at most: an absurd max-age must neither overflow nor pin a key set.
        let expires = max_age.and_then(|s| Instant::now().checked_add(Duration::from_secs(s.min(MAX_AGE_CAP))));
        let mut keys = KeySet { expires, ..KeySet::default() };
        for jwk in &set.keys {
            if let Some(key) = usable(jwk) {
                if let Some(kid) = &jwk.common.key_id {
                    keys.by_kid.insert(kid.clone(), key.clone());
                }
                keys.all.push(key);
            }
        }
        Ok(keys)
    }
}

/// A JWK this path may use: asymmetric, for signing, of a known kind.
/// Symmetric (`oct`) keys are never taken from a key set.
fn usable(jwk: &Jwk) -> Option<PublicKey> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    let kind = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => KeyKind::Rsa,
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => KeyKind::P256,
            EllipticCurve::P384 => KeyKind::P384,
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => KeyKind::Ed25519,
        _ => return None,
    };
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(KeyAlgorithm::EdDSA) => Some(Algorithm::EdDSA),
        Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
        Some(KeyAlgorithm::ES384) => Some(Algorithm::ES384),
        Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
        Some(KeyAlgorithm::RS384) => Some(Algorithm::RS384),
        Some(KeyAlgorithm::RS512) => Some(Algorithm::RS512),
        Some(KeyAlgorithm::PS256) => Some(Algorithm::PS256),
        Some(KeyAlgorithm::PS384) => Some(Algorithm::PS384),
        Some(KeyAlgorithm::PS512) => Some(Algorithm::PS512),
        // A key declared for anything else (HS*, encryption) is not ours to use.
        Some(_) => return None,
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(PublicKey { key: Arc::new(key), alg, kind })
}
