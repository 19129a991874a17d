//! [`Caller`]: who is calling a use case.

use std::net::IpAddr;

/// Who calls a use case: the contract (API) the request came through, and
/// the client's IP address and user agent.
///
/// Every use case that records the client on the audit trail, limits by
/// client (login throttling per IP) or stores it on a session takes one,
/// explicitly: there is no other way for the client to reach the domain.
///
/// ```
/// use auth_domain::Caller;
///
/// let caller = Caller::new("standard")
///     .with_ip("203.0.113.7".parse().ok())
///     .with_user_agent(Some("curl/8".to_owned()));
/// assert_eq!(caller.contract, "standard");
/// assert_eq!(caller.ip, Some("203.0.113.7".parse().unwrap()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The contract the request came through (`standard`, `session`, ...;
    /// `internal` for the administrator's API, `cli` for `auth-server`
    /// commands). Stored on the sessions it opens.
    pub contract: &'static str,
    /// The client's IP address (the socket peer, or the forwarded address
    /// from a trusted proxy), when known. Used for per-IP throttling and the
    /// audit trail.
    pub ip: Option<IpAddr>,
    /// The client's `User-Agent`, when known (sessions and the audit trail;
    /// control characters are dropped and it is cut at 256 characters
    /// where stored).
    pub user_agent: Option<String>,
}

impl Caller {
    /// A caller through `contract` whose IP and user agent are unknown.
    pub fn new(contract: &'static str) -> Self {
        Self {
            contract,
            ip: None,
            user_agent: None,
        }
    }

    /// The same caller, from `ip`.
    #[must_use]
    pub fn with_ip(self, ip: Option<IpAddr>) -> Self {
        Self { ip, ..self }
    }

    /// The same caller, with `user_agent`.
    #[must_use]
    pub fn with_user_agent(self, user_agent: Option<String>) -> Self {
        Self { user_agent, ..self }
    }
}
