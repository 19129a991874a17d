//! [`PasswordHasher`] with argon2id.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash as PhcHash;
use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::password::{NewPassword, PasswordHash};
use auth_domain::ports::PasswordHasher;
use rand::Rng;
use tokio::sync::Semaphore;

/// Why an [`Argon2Hasher`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HasherError {
    /// `max_concurrent` was zero.
    #[error("max_concurrent must be at least 1")]
    ZeroConcurrency,
    /// Computing the dummy hash failed.
    #[error("argon2 failed: {0}")]
    Argon2(argon2::password_hash::Error),
}

/// argon2id with the crate defaults (m=19456 KiB, t=2, p=1; OWASP).
///
/// Each hash or verification runs on tokio's blocking pool, at most
/// `max_concurrent` at a time (a permit is taken before the work is spawned;
/// the core count is a good value). Verifying against no hash does the same
/// work against a dummy hash, so unknown users cost as much as known ones.
#[derive(Clone)]
pub struct Argon2Hasher {
    permits: Arc<Semaphore>,
    dummy: Arc<str>,
}

impl std::fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Argon2Hasher")
            .field("available_permits", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

/// A hashing failure (the message of `password_hash::Error`, which never
/// contains the password).
#[derive(Debug, thiserror::Error)]
#[error("argon2: {0}")]
struct HashFailure(argon2::password_hash::Error);

impl Argon2Hasher {
    /// A hasher running at most `max_concurrent` argon2 computations at once.
    /// Computes the dummy hash (one argon2 run, on the calling thread).
    ///
    /// # Errors
    /// [`HasherError`] when `max_concurrent` is 0 or argon2 fails.
    pub fn new(max_concurrent: usize) -> Result<Self, HasherError> {
        if max_concurrent == 0 {
            return Err(HasherError::ZeroConcurrency);
        }
        let mut random = [0u8; 32];
        rand::rng().fill_bytes(&mut random);
        let dummy = Argon2::default()
            .hash_password(&random)
            .map_err(HasherError::Argon2)?
            .to_string();
        Ok(Self {
            permits: Arc::new(Semaphore::new(max_concurrent)),
            dummy: dummy.into(),
        })
    }

    /// Runs `work` on the blocking pool once a permit is free.
    async fn run<T, F>(&self, context: &'static str, work: F) -> Result<T, PortError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| PortError::new(context, e))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| PortError::new(context, e))
    }
}

/// Verifies `password` against a PHC string; any failure is `false`.
fn verify_phc(password: &[u8], phc: &str) -> Result<bool, ()> {
    let parsed = PhcHash::new(phc).map_err(|_| ())?;
    match Argon2::default().verify_password(password, &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(_) => Err(()),
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &NewPassword) -> Result<PasswordHash, PortError> {
        const CONTEXT: &str = "hash password";
        let password = password.clone();
        let phc = self
            .run(CONTEXT, move || {
                Argon2::default()
                    .hash_password(password.expose().as_bytes())
                    .map(|h| h.to_string())
            })
            .await?
            .map_err(|e| PortError::new(CONTEXT, HashFailure(e)))?;
        Ok(PasswordHash::from_phc(phc))
    }

    async fn verify(&self, password: &str, hash: Option<&PasswordHash>) -> Result<bool, PortError> {
        let password = password.to_owned();
        let stored = hash.map(|h| h.as_phc().to_owned());
        let dummy = Arc::clone(&self.dummy);
        self.run("verify password", move || match stored {
            Some(phc) => match verify_phc(password.as_bytes(), &phc) {
                Ok(ok) => ok,
                Err(()) => {
                    tracing::warn!("stored password hash is malformed or unsupported; login refused");
                    // Spend the usual work anyway.
                    let _ = verify_phc(password.as_bytes(), &dummy);
                    false
                }
            },
            None => {
                let _ = verify_phc(password.as_bytes(), &dummy);
                false
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use auth_domain::password::PasswordPolicy;

    fn pw(s: &str) -> NewPassword {
        PasswordPolicy::default().check(s).unwrap()
    }

    #[tokio::test]
    async fn hashes_and_verifies() {
        let h = Argon2Hasher::new(2).unwrap();
        let hash = h.hash(&pw("correct horse")).await.unwrap();
        assert!(
            hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_phc()
        );
        assert!(h.verify("correct horse", Some(&hash)).await.unwrap());
        assert!(!h.verify("wrong horse", Some(&hash)).await.unwrap());
        assert!(!h.verify("correct horse", None).await.unwrap());
        // Fresh salt each time.
        let again = h.hash(&pw("correct horse")).await.unwrap();
        assert_ne!(hash, again);
    }

    #[tokio::test]
    async fn malformed_hash_is_false() {
        let h = Argon2Hasher::new(1).unwrap();
        for bad in [
            "",
            "not a hash",
            "$argon2id$v=19$m=19456,t=2,p=1$garbage",
            "$2b$12$abcdefghijklmnopqrstuv",
        ] {
            let stored = PasswordHash::from_phc(bad.into());
            assert!(!h.verify("whatever1", Some(&stored)).await.unwrap(), "{bad}");
        }
    }

    #[test]
    fn zero_concurrency_is_refused() {
        assert!(matches!(Argon2Hasher::new(0), Err(HasherError::ZeroConcurrency)));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn works_on_a_current_thread_runtime() {
        let h = Argon2Hasher::new(1).unwrap();
        let hash = h.hash(&pw("password1")).await.unwrap();
        assert!(h.verify("password1", Some(&hash)).await.unwrap());
    }
}
