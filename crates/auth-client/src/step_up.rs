//! Step-up: how strongly and how recently the user of a token signed in
//! (`amr`, `auth_time`), checked per route.

use std::time::Duration;

use crate::{Claims, Error};

impl Claims {
    /// Whether the user signed in with more than one factor (`amr`
    /// contains `mfa`).
    pub fn is_multi_factor(&self) -> bool {
        self.amr.iter().any(|m| m == "mfa")
    }

    /// Refuses a token whose user did not sign in with a second factor:
    /// for a route that needs one when the client does not require it
    /// everywhere ([`crate::Builder::require_mfa`]).
    ///
    /// # Errors
    /// [`Error::InsufficientAuthentication`].
    pub fn require_mfa(&self) -> Result<(), Error> {
        if self.is_multi_factor() {
            Ok(())
        } else {
            Err(Error::InsufficientAuthentication { max_age: None })
        }
    }

    /// Refuses a token whose user signed in longer than `max_age` ago (or
    /// that does not say when): step-up for a sensitive route (RFC 9470's
    /// `max_age`).
    ///
    /// # Errors
    /// [`Error::InsufficientAuthentication`].
    pub fn require_auth_within(&self, max_age: Duration) -> Result<(), Error> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let limit = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
        match self.auth_time {
            Some(t) if now.saturating_sub(t) <= limit => Ok(()),
            _ => Err(Error::InsufficientAuthentication {
                max_age: Some(max_age.as_secs()),
            }),
        }
    }
}
