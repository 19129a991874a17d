//! The one error type ports return for infrastructure failures.

use std::error::Error as StdError;
use std::fmt;

/// An infrastructure failure behind a port: the database is unreachable, a
/// query failed, the hashing pool is gone. Use cases never turn it into a
/// "not found" or "wrong password"; it travels up as the `Internal` variant of
/// each use case's error, and the HTTP layer answers 503 in the contract's
/// envelope while the cause chain goes to the log.
pub struct PortError {
    context: &'static str,
    source: Box<dyn StdError + Send + Sync + 'static>,
}

impl PortError {
    /// Wraps `source` with a short, static description of what was attempted
    /// (for example `"insert user"`). The description must not contain
    /// secrets; it is logged.
    pub fn new(context: &'static str, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            context,
            source: source.into(),
        }
    }

    /// What was being attempted when the failure happened.
    pub fn context(&self) -> &'static str {
        self.context
    }
}

impl fmt::Debug for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortError")
            .field("context", &self.context)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, self.source)
    }
}

impl StdError for PortError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.source.as_ref())
    }
}
