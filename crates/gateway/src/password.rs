//! Passwords, stored as argon2id PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$…`, the
//! `argon2` crate's defaults, which follow OWASP's minimum).
//!
//! A hash is deliberately slow and takes 19 MiB, so it runs on the blocking pool and only a few
//! at a time: a flood of sign-ins queues up instead of starving the async workers or the memory.

use std::sync::{LazyLock, OnceLock};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};

/// Shortest password accepted, in characters.
pub const MIN_LEN: usize = 12;
/// Longest password accepted, in characters.
pub const MAX_LEN: usize = 1024;

static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    Semaphore::new(cpus.max(2))
});

/// `422 validation_failed` unless `password` has an acceptable length. Never quotes it.
pub fn validate(field: &str, password: &str) -> ApiResult<()> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(ApiError::invalid(
            field,
            format!("must be at least {MIN_LEN} characters long"),
        ));
    }
    if len > MAX_LEN {
        return Err(ApiError::invalid(
            field,
            format!("must be at most {MAX_LEN} characters long"),
        ));
    }
    Ok(())
}

fn hash_now(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Verifies against `stored`, or, when there is none (unknown e-mail, no password set), against
/// a dummy hash with the same parameters, so that the answer takes as long either way.
fn verify_now(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let (hash, real) = match stored {
        Some(hash) => (hash, true),
        None => (
            DUMMY
                .get_or_init(|| hash_now("not the password of anyone").expect("hashing a constant"))
                .as_str(),
            false,
        ),
    };
    let parsed = match PasswordHash::new(hash) {
        Ok(parsed) => parsed,
        Err(e) => {
            tracing::warn!(error = %e, "a stored password hash is not a PHC string");
            return false;
        }
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    matches && real
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|_| ApiError::Internal("the hashing semaphore is closed".into()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(format!("password hashing task: {e}")))
}

/// The argon2id PHC string of `password`.
pub async fn hash(password: String) -> ApiResult<String> {
    blocking(move || hash_now(&password))
        .await?
        .map_err(|e| ApiError::Internal(format!("hashing a password: {e}")))
}

/// Whether `password` matches `stored`; `None` never matches but costs the same.
pub async fn verify(password: String, stored: Option<String>) -> ApiResult<bool> {
    blocking(move || verify_now(&password, stored.as_deref())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let stored = hash("correct horse battery".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$"), "{stored}");
        assert!(!stored.contains("correct horse"));
        assert!(
            verify("correct horse battery".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("wrong horse battery".into(), Some(stored))
                .await
                .unwrap()
        );
        assert!(!verify("anything at all".into(), None).await.unwrap());
        assert!(
            !verify("x".into(), Some("not a phc string".into()))
                .await
                .unwrap()
        );
    }

    #[test]
    fn lengths_are_checked_in_characters() {
        assert!(validate("password", "short").is_err());
        assert!(validate("password", &"é".repeat(12)).is_ok());
        assert!(validate("password", &"a".repeat(MAX_LEN)).is_ok());
        let err = validate("password", &"a".repeat(MAX_LEN + 1)).unwrap_err();
        assert_eq!(err.problem().status, 422);
    }
}
