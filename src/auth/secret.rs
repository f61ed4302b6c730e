//! Where the HS256 secret comes from: `JWT_SECRET`, or (SQLite only) a
//! secret generated once and kept in a 0600 file beside the database.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use secrecy::ExposeSecret as _;

use crate::config::Config;

/// Shortest accepted secret, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// Why no usable secret could be had; shown as one line at start-up.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("JWT_SECRET is {0} bytes; it must be at least {MIN_SECRET_BYTES} bytes")]
    TooShort(usize),
    #[error("a JWT_PREVIOUS_SECRETS entry is {0} bytes; each must be at least {MIN_SECRET_BYTES} bytes")]
    PreviousTooShort(usize),
    #[error("JWT_SECRET is required with PostgreSQL (every replica must share it)")]
    Required,
    #[error("secret file {path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("secret file {0} holds fewer than {MIN_SECRET_BYTES} bytes; delete it to generate a new one")]
    BadFile(PathBuf),
    #[error("no randomness available: {0}")]
    Random(String),
}

/// The secret to sign with, and whether it was generated just now.
pub fn resolve(config: &Config) -> Result<Vec<u8>, SecretError> {
    if let Some(secret) = &config.jwt_secret {
        let secret = secret.expose_secret();
        return match secret.len() {
            n if n < MIN_SECRET_BYTES => Err(SecretError::TooShort(n)),
            _ => Ok(secret.as_bytes().to_vec()),
        };
    }
    if config.is_postgres() {
        return Err(SecretError::Required);
    }
    match config.sqlite_file() {
        Some(db) => from_file(&secret_path(&db)),
        None => {
            tracing::warn!(
                "JWT_SECRET is not set: using a random secret for this in-memory database; tokens die with the process"
            );
            random_secret()
        }
    }
}

/// `JWT_PREVIOUS_SECRETS`, each held to the same minimum length.
pub fn previous(config: &Config) -> Result<Vec<Vec<u8>>, SecretError> {
    config
        .jwt_previous_secrets
        .iter()
        .map(|s| s.expose_secret().trim())
        .filter(|s| !s.is_empty())
        .map(|s| match s.len() {
            n if n < MIN_SECRET_BYTES => Err(SecretError::PreviousTooShort(n)),
            _ => Ok(s.as_bytes().to_vec()),
        })
        .collect()
}

/// `todo.db` keeps its secret in `todo.db.jwt-secret`.
pub fn secret_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".jwt-secret");
    PathBuf::from(name)
}

fn from_file(path: &Path) -> Result<Vec<u8>, SecretError> {
    let file_err = |source| SecretError::File { path: path.to_owned(), source };
    match fs::read(path) {
        Ok(bytes) => {
            let trimmed = bytes.trim_ascii().to_vec();
            if trimmed.len() < MIN_SECRET_BYTES {
                return Err(SecretError::BadFile(path.to_owned()));
            }
            Ok(trimmed)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = random_secret()?;
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).map_err(file_err)?;
            file.write_all(&secret).and_then(|()| file.sync_all()).map_err(file_err)?;
            tracing::warn!(
                path = %path.display(),
                "JWT_SECRET is not set: generated a secret and saved it beside the database; set JWT_SECRET in production"
            );
            Ok(secret)
        }
        Err(e) => Err(file_err(e)),
    }
}

fn random_secret() -> Result<Vec<u8>, SecretError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| SecretError::Random(e.to_string()))?;
    Ok(hex::encode(bytes).into_bytes())
}
