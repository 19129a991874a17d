//! [`Poller`]: pulls the server's security event tokens (RFC 8936 poll
//! delivery of RFC 8417 SETs) and records the revoked sessions.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::task::JoinHandle;

use crate::{AuthClient, Error, RevocationList};

/// Polls `POST {issuer}/ssf/poll` (RFC 8936) in a background task and
/// records every CAEP `session-revoked` event it receives in the
/// [`RevocationList`] of its [`AuthClient`].
///
/// ```no_run
/// # async fn demo() -> Result<(), auth_client::Error> {
/// use auth_client::{AuthClient, Poller, RevocationList};
///
/// let revocations = RevocationList::new();
/// let auth = AuthClient::builder("https://auth.example.com")
///     .client_id("orders")
///     .revocations(revocations)
///     .build()
///     .await?;
/// let poller = Poller::new(auth.clone(), "the client secret")?.spawn();
/// // … serve; `auth.verify` now refuses tokens of revoked sessions.
/// poller.abort();
/// # Ok(()) }
/// ```
///
/// Each request authenticates with HTTP Basic (the client id and secret),
/// asks for up to [`Poller::max_events`] events with
/// `returnImmediately: false` (the server holds the request until events
/// arrive, up to about 25 s; the request times out after 45 s), and
/// acknowledges the SETs of the previous answer that verified
/// ([`AuthClient::verify_security_event`]); those that did not are reported
/// in `setErrs` (RFC 8935 §2.3 codes) and not recorded. A SET that cannot
/// be checked because the key set is unreachable is neither acknowledged
/// nor reported, so the server delivers it again.
///
/// On a network error, a 5xx or an unreadable answer the poller waits 1 s,
/// doubling up to 30 s, and keeps the acknowledgements for the next try; on
/// 401 or 403 (wrong credentials) it logs an error and retries every 60 s.
/// It never panics and runs until its task is aborted.
#[derive(Clone)]
pub struct Poller {
    auth: AuthClient,
    list: RevocationList,
    client_id: String,
    client_secret: String,
    endpoint: String,
    max_events: u32,
    request_timeout: Duration,
    first_backoff: Duration,
    max_backoff: Duration,
    refused_retry: Duration,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .field("max_events", &self.max_events)
            .finish_non_exhaustive()
    }
}

/// An answer of the poll endpoint (RFC 8936 §2.5).
#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    sets: Map<String, Value>,
    #[serde(default, rename = "moreAvailable")]
    more_available: bool,
}

/// Why a poll failed, and so how long to wait.
#[derive(Debug)]
enum Failure {
    /// Network, 5xx, unreadable answer: back off.
    Transient(String),
    /// 401 or 403: the credentials are wrong.
    Refused(u16),
    /// Another 4xx: the request was refused; the acknowledgements are
    /// dropped (the server delivers again what was not acknowledged).
    Rejected(u16, String),
}

/// The RFC 8935 §2.3 error code for a SET that did not verify.
fn set_error_code(error: &Error) -> &'static str {
    match error {
        Error::Invalid(
            "unknown key"
            | "bad signature"
            | "no kid"
            | "algorithm not allowed"
            | "algorithm does not match the key"
            | "the token names its own key",
        ) => "invalid_key",
        Error::Invalid("wrong issuer") => "invalid_issuer",
        Error::Invalid("wrong audience") => "invalid_audience",
        _ => "invalid_request",
    }
}

impl Poller {
    /// A poller for `auth`'s issuer, authenticating as
    /// [`crate::Builder::client_id`] with `client_secret`, recording into
    /// [`crate::Builder::revocations`]. Polls `{issuer}/ssf/poll` for up to
    /// 100 events at a time.
    ///
    /// # Errors
    /// [`Error::Config`] when `auth` has no client id or no revocation list.
    pub fn new(auth: AuthClient, client_secret: impl Into<String>) -> Result<Self, Error> {
        let client_id = auth
            .client_id()
            .ok_or_else(|| Error::Config("the poller needs Builder::client_id".into()))?
            .to_owned();
        let list = auth
            .revocations()
            .ok_or_else(|| Error::Config("the poller needs Builder::revocations".into()))?
            .clone();
        Ok(Self {
            endpoint: format!("{}/ssf/poll", auth.issuer()),
            auth,
            list,
            client_id,
            client_secret: client_secret.into(),
            max_events: 100,
            request_timeout: Duration::from_secs(45),
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            refused_retry: Duration::from_secs(60),
        })
    }

    /// The poll endpoint (default `{issuer}/ssf/poll`).
    #[must_use]
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = url.into();
        self
    }

    /// The most events asked for at once (`maxEvents`, default 100).
    #[must_use]
    pub fn max_events(mut self, max_events: u32) -> Self {
        self.max_events = max_events.max(1);
        self
    }

    /// The timeout of one poll request (default 45 s; keep it above the
    /// server's long-poll wait, about 25 s).
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The wait after a failed poll: `first`, doubling up to `max`
    /// (default 1 s to 30 s).
    #[must_use]
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.first_backoff = first;
        self.max_backoff = max.max(first);
        self
    }

    /// The wait after the server refused the credentials (default 60 s).
    #[must_use]
    pub fn refused_retry(mut self, every: Duration) -> Self {
        self.refused_retry = every;
        self
    }

    /// Runs [`Poller::run`] in a tokio task (needs a tokio runtime). Abort
    /// the handle to stop.
    #[must_use = "dropping the handle does not stop the poller; keep it to abort it"]
    pub fn spawn(self) -> JoinHandle<()> {
        tokio::spawn(self.run())
    }

    /// Polls until the future is dropped.
    pub async fn run(self) {
        let mut acks: Vec<String> = Vec::new();
        let mut errs: Map<String, Value> = Map::new();
        let mut backoff = self.first_backoff;
        let mut return_immediately = false;
        tracing::info!(endpoint = %self.endpoint, "polling the auth server for revoked sessions");
        loop {
            match self.exchange(&acks, &errs, return_immediately).await {
                Ok(answer) => {
                    backoff = self.first_backoff;
                    acks.clear();
                    errs.clear();
                    return_immediately = answer.more_available;
                    self.process(answer.sets, &mut acks, &mut errs).await;
                }
                Err(Failure::Transient(why)) => {
                    tracing::warn!(error = %why, retry_in_ms = backoff.as_millis(), "SET poll failed");
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2).min(self.max_backoff);
                }
                Err(Failure::Refused(status)) => {
                    tracing::error!(
                        status,
                        client_id = %self.client_id,
                        retry_in_s = self.refused_retry.as_secs(),
                        "the auth server refused the poller's client credentials"
                    );
                    tokio::time::sleep(self.refused_retry).await;
                }
                Err(Failure::Rejected(status, body)) => {
                    tracing::error!(status, %body, "the auth server rejected a SET poll");
                    acks.clear();
                    errs.clear();
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2).min(self.max_backoff);
                }
            }
        }
    }

    /// Verifies and records each SET; fills the acknowledgements and
    /// errors of the next request.
    async fn process(&self, sets: Map<String, Value>, acks: &mut Vec<String>, errs: &mut Map<String, Value>) {
        for (jti, set) in sets {
            let Some(set) = set.as_str() else {
                errs.insert(jti, json!({"err": "invalid_request", "description": "not a JWT"}));
                continue;
            };
            match self.auth.verify_security_event(set).await {
                Ok(event) if event.jti == jti => {
                    self.list.record_event(&event);
                    tracing::info!(
                        jti = %jti,
                        session = ?event.session,
                        user = ?event.user,
                        "session revoked (polled SET)"
                    );
                    acks.push(jti);
                }
                Ok(_) => {
                    errs.insert(
                        jti,
                        json!({"err": "invalid_request", "description": "the SET's jti is not its key"}),
                    );
                }
                Err(e @ (Error::Unavailable(_) | Error::Config(_))) => {
                    // Not the SET's fault: delivered again later.
                    tracing::warn!(jti = %jti, error = %e, "cannot verify a SET now");
                }
                Err(e) => {
                    tracing::warn!(jti = %jti, error = %e, "refused a SET");
                    errs.insert(
                        jti,
                        json!({"err": set_error_code(&e), "description": e.to_string()}),
                    );
                }
            }
        }
    }

    /// One poll request.
    async fn exchange(
        &self,
        acks: &[String],
        errs: &Map<String, Value>,
        return_immediately: bool,
    ) -> Result<Answer, Failure> {
        let mut body = json!({
            "maxEvents": self.max_events,
            "returnImmediately": return_immediately,
            "ack": acks,
        });
        if !errs.is_empty()
            && let Some(object) = body.as_object_mut()
        {
            object.insert("setErrs".into(), Value::Object(errs.clone()));
        }
        let response = self
            .auth
            .http()
            .post(&self.endpoint)
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .timeout(self.request_timeout)
            .json(&body)
            .send()
            .await
            .map_err(|e| Failure::Transient(e.to_string()))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(Failure::Refused(status.as_u16()));
        }
        if status.is_client_error() {
            let text = response.text().await.unwrap_or_default();
            return Err(Failure::Rejected(
                status.as_u16(),
                text.chars().take(500).collect(),
            ));
        }
        if !status.is_success() {
            return Err(Failure::Transient(format!("status {status}")));
        }
        response
            .json::<Answer>()
            .await
            .map_err(|e| Failure::Transient(format!("unreadable answer: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_follow_rfc_8935() {
        assert_eq!(set_error_code(&Error::Invalid("bad signature")), "invalid_key");
        assert_eq!(set_error_code(&Error::Invalid("unknown key")), "invalid_key");
        assert_eq!(set_error_code(&Error::Invalid("wrong issuer")), "invalid_issuer");
        assert_eq!(
            set_error_code(&Error::Invalid("wrong audience")),
            "invalid_audience"
        );
        assert_eq!(set_error_code(&Error::Expired), "invalid_request");
        assert_eq!(
            set_error_code(&Error::Invalid("not a session-revoked event")),
            "invalid_request"
        );
    }
}
