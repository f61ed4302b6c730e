//! Our own tokens (CONTRACT §6): HS256 access tokens signed with
//! `JWT_SECRET` itself, refresh tokens signed with a key derived from it.
//! All keys and validations are built once at start-up.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use super::{AuthError, Principal, Scopes};

/// `typ` of access tokens (RFC 9068).
pub const ACCESS_TYP: &str = "at+jwt";
/// `typ` of refresh tokens.
pub const REFRESH_TYP: &str = "rt+jwt";
/// Largest clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

/// One signing secret: the raw access key, the derived refresh key and
/// the `kid` that names them.
struct KeyPair {
    kid: String,
    access_enc: EncodingKey,
    access_dec: DecodingKey,
    refresh_enc: EncodingKey,
    refresh_dec: DecodingKey,
}

impl KeyPair {
    fn new(secret: &[u8]) -> Self {
        let refresh = hmac(secret, b"todo-graphql/refresh-token/v1");
        // A short, one-way name for the secret: never the secret itself.
        let kid = URL_SAFE_NO_PAD.encode(&hmac(secret, b"todo-graphql/kid/v1")[..9]);
        Self {
            kid,
            access_enc: EncodingKey::from_secret(secret),
            access_dec: DecodingKey::from_secret(secret),
            refresh_enc: EncodingKey::from_secret(&refresh),
            refresh_dec: DecodingKey::from_secret(&refresh),
        }
    }
}

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// Signing and verification keys of this server, built once.
pub struct Keys {
    current: KeyPair,
    /// Secrets from `JWT_PREVIOUS_SECRETS`: verify only, never sign.
    previous: Vec<KeyPair>,
    issuer: String,
    audience: String,
    access_ttl: u64,
    refresh_ttl: u64,
    validation: Validation,
}

/// A freshly issued access and refresh token.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Access-token lifetime in seconds.
    pub expires_in: u64,
}

#[derive(Serialize)]
struct OutClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    iat: u64,
    nbf: u64,
    exp: u64,
    jti: String,
    ver: i32,
    /// RFC 9068 §2.2.3; on access tokens only.
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

#[derive(Deserialize)]
struct InClaims {
    sub: String,
    exp: i64,
    #[serde(default)]
    ver: Option<i32>,
    #[serde(default)]
    scope: Option<String>,
}

/// What a verified refresh token says.
#[derive(Debug, Clone, Copy)]
pub struct RefreshClaims {
    pub user_id: Uuid,
    pub token_version: i32,
}

impl Keys {
    /// `secret` must already be checked (at least 32 bytes).
    pub fn new(secret: &[u8], issuer: &str, audience: &str, access_ttl: u64, refresh_ttl: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Self {
            current: KeyPair::new(secret),
            previous: Vec::new(),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            access_ttl,
            refresh_ttl,
            validation,
        }
    }

    /// Accepts tokens signed with these older secrets until they expire.
    pub fn with_previous_secrets(mut self, secrets: &[Vec<u8>]) -> Self {
        self.previous = secrets.iter().map(|s| KeyPair::new(s)).collect();
        self
    }

    /// `iss` of our own tokens: what routes a token to this path.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Access-token lifetime in seconds.
    pub fn access_ttl(&self) -> u64 {
        self.access_ttl
    }

    /// Signs a new access and refresh token for a user at `token_version`.
    pub fn issue(
        &self,
        user_id: Uuid,
        email: &str,
        token_version: i32,
    ) -> Result<TokenPair, jsonwebtoken::errors::Error> {
        let now = now_secs();
        let mut access = self.claims(user_id, Some(email), now, self.access_ttl, token_version);
        // A session holds every scope (CONTRACT §10).
        access.scope = Some(Scopes::ALL.to_claim());
        let refresh = self.claims(user_id, None, now, self.refresh_ttl, token_version);
        Ok(TokenPair {
            access_token: jsonwebtoken::encode(&self.header(ACCESS_TYP), &access, &self.current.access_enc)?,
            refresh_token: jsonwebtoken::encode(&self.header(REFRESH_TYP), &refresh, &self.current.refresh_enc)?,
            expires_in: self.access_ttl,
        })
    }

    fn claims<'a>(&'a self, user_id: Uuid, email: Option<&'a str>, now: u64, ttl: u64, ver: i32) -> OutClaims<'a> {
        OutClaims {
            iss: &self.issuer,
            aud: &self.audience,
            sub: user_id.to_string(),
            email,
            iat: now,
            nbf: now,
            exp: now + ttl,
            jti: Uuid::new_v4().to_string(),
            ver,
            scope: None,
        }
    }

    fn header(&self, typ: &str) -> Header {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(typ.to_owned());
        header.kid = Some(self.current.kid.clone());
        header
    }

    /// Verifies an access token: algorithm, `typ`, key, signature, times,
    /// issuer, audience, required claims.
    pub fn verify_access(&self, token: &str) -> Result<Principal, AuthError> {
        let claims = self.decode(token, ACCESS_TYP, |k| &k.access_dec)?;
        Ok(Principal {
            user_id: parse_sub(&claims.sub)?,
            token_version: claims.ver,
            expires_at: claims.exp,
            external: false,
            // Without `scope` (minted by another holder of the secret): a session.
            scopes: claims.scope.as_deref().map_or(Scopes::ALL, |s| Scopes::from_words(s.split_whitespace())),
            api_token: None,
        })
    }

    /// Verifies a refresh token; the caller still checks its version
    /// against the account.
    pub fn verify_refresh(&self, token: &str) -> Result<RefreshClaims, AuthError> {
        let claims = self.decode(token, REFRESH_TYP, |k| &k.refresh_dec)?;
        Ok(RefreshClaims { user_id: parse_sub(&claims.sub)?, token_version: claims.ver.ok_or(AuthError::BadClaims)? })
    }

    fn decode(&self, token: &str, typ: &str, key: impl Fn(&KeyPair) -> &DecodingKey) -> Result<InClaims, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| map_error(&e))?;
        if header.alg != Algorithm::HS256 {
            return Err(AuthError::WrongAlgorithm);
        }
        if !typ_matches(header.typ.as_deref(), typ) {
            return Err(AuthError::WrongType);
        }
        // No `kid`: only the current secret (tokens minted elsewhere with
        // it); a `kid` picks the secret it names, or nothing.
        let pair = match header.kid.as_deref() {
            None => &self.current,
            Some(kid) => std::iter::once(&self.current)
                .chain(&self.previous)
                .find(|p| p.kid == kid)
                .ok_or(AuthError::UnknownKey)?,
        };
        jsonwebtoken::decode::<InClaims>(token, key(pair), &self.validation)
            .map(|data| data.claims)
            .map_err(|e| map_error(&e))
    }
}

/// `typ` compares case-insensitively and may carry the `application/`
/// prefix (RFC 8725 §3.11).
fn typ_matches(got: Option<&str>, want: &str) -> bool {
    got.map(|t| {
        let t = t.strip_prefix("application/").unwrap_or(t);
        t.eq_ignore_ascii_case(want)
    })
    .unwrap_or(false)
}

fn parse_sub(sub: &str) -> Result<Uuid, AuthError> {
    Uuid::parse_str(sub).map_err(|_| AuthError::BadClaims)
}

pub(crate) fn map_error(e: &jsonwebtoken::errors::Error) -> AuthError {
    match e.kind() {
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => AuthError::WrongAlgorithm,
        ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) | ErrorKind::Json(_) => {
            AuthError::BadClaims
        }
        _ => AuthError::Malformed,
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
