//! `POST /ssf/poll`: the pull feed of session ends for services that
//! cannot receive a back-channel POST. RFC 8936 (poll-based delivery) of
//! RFC 8417 Security Event Tokens, each carrying one CAEP
//! `session-revoked` event; authenticated with the client's credentials
//! (HTTP Basic), acknowledged by `jti`. The use case is
//! `auth_domain::oidc::signals::Signals::poll`.
//!
//! Without `returnImmediately: true`, an empty feed holds the request open
//! up to `AUTH_SSF_POLL_WAIT_SECONDS` (long polling, RFC 8936 §2.4), woken
//! by the event bus when a session ends (on any instance, through
//! PostgreSQL `LISTEN/NOTIFY`).

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use auth_domain::oidc::grants::ClientAuthError;
use auth_domain::oidc::signals::{MAX_EVENTS_PER_POLL, PollRequest};
use auth_domain::sessions::events::Event;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::body::read_bytes;
use crate::openapi::Op;
use crate::routes::{Access, Method, Route};
use crate::state::AppState;

/// `POST /ssf/poll`.
pub const POLL_PATH: &str = "/ssf/poll";

/// The largest poll body accepted (acknowledgements of a full page fit).
const MAX_BODY: usize = 256 * 1024;

/// How the feed answers, from the settings.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// How long an unacknowledged event stays in the feed.
    pub retention: Duration,
    /// How long an empty long poll waits.
    pub poll_wait: Duration,
    /// Session ends, as announced on this instance (the wake-up).
    pub wake: auth_infra::LocalEventBus,
}

/// An RFC 8936 answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PollResponse {
    /// SETs by `jti`.
    sets: BTreeMap<String, String>,
    /// Whether more SETs wait (poll again at once).
    more_available: bool,
}

/// An error (RFC 8935 §2.3's shape: `err`, `description`).
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedError {
    /// `invalid_request`, `authentication_failed`, `temporarily_unavailable`.
    err: String,
    /// What is wrong.
    description: String,
}

fn refuse(status: StatusCode, err: &str, description: &str) -> HttpResponse {
    let mut reply = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        reply.insert_header((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"ssf\""),
        ));
    }
    reply.content_type(ContentType::json()).json(FeedError {
        err: err.to_owned(),
        description: description.to_owned(),
    })
}

fn bad(description: &str) -> HttpResponse {
    refuse(StatusCode::BAD_REQUEST, "invalid_request", description)
}

fn unavailable() -> HttpResponse {
    refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "the service cannot answer now",
    )
}

/// The request's fields (RFC 8936 §2.4): `maxEvents`, `returnImmediately`,
/// `ack`, `setErrs`; others are ignored.
fn parse(bytes: &[u8]) -> Result<(PollRequest, bool), &'static str> {
    let value: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(bytes).map_err(|_| "the body is not JSON")?
    };
    let Value::Object(body) = value else {
        return Err("the body must be a JSON object");
    };
    let max_events = match body.get("maxEvents") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
                .ok_or("maxEvents must be a non-negative integer")?,
        ),
    };
    let return_immediately = match body.get("returnImmediately") {
        None | Some(Value::Null) => false,
        Some(v) => v.as_bool().ok_or("returnImmediately must be true or false")?,
    };
    let mut ack = Vec::new();
    match body.get("ack") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                ack.push(
                    item.as_str()
                        .ok_or("ack must be an array of jti strings")?
                        .to_owned(),
                );
            }
        }
        Some(_) => return Err("ack must be an array of jti strings"),
    }
    match body.get("setErrs") {
        None | Some(Value::Null) => {}
        Some(Value::Object(errors)) => {
            for (jti, error) in errors {
                if !error.is_object() {
                    return Err("setErrs must map each jti to an object with err and description");
                }
                // A SET the receiver refused is answered: it is not sent
                // again (RFC 8936 §2.4.2); the operator sees why.
                let code = error.get("err").and_then(serde_json::Value::as_str).unwrap_or("");
                tracing::warn!(err = code, "a feed receiver refused a SET");
                ack.push(jti.clone());
            }
        }
        Some(_) => return Err("setErrs must be an object"),
    }
    if ack.len() > 10 * MAX_EVENTS_PER_POLL as usize {
        return Err("too many acknowledgements in one poll");
    }
    Ok((PollRequest { max_events, ack }, return_immediately))
}

/// `POST /ssf/poll`.
pub async fn poll(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let Some(Ok((id, secret))) = crate::provider::token::basic(&req) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "authentication_failed",
            "authenticate with the client's id and secret (HTTP Basic)",
        );
    };
    let client = match state
        .auth
        .provider()
        .authenticate_client(&id, Some(&secret))
        .await
    {
        Ok(c) => c,
        Err(ClientAuthError::Invalid) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "authentication_failed",
                "client authentication failed",
            );
        }
        Err(ClientAuthError::Internal(e)) => {
            tracing::error!(error = %e, "feed: cannot check the client");
            return unavailable();
        }
    };
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return bad("send the poll request as application/json");
    }
    let Ok(bytes) = read_bytes(payload, MAX_BODY).await else {
        return bad("the body is unreadable or too large");
    };
    let (request, return_immediately) = match parse(&bytes) {
        Ok(r) => r,
        Err(why) => return bad(why),
    };
    let config = &state.feed;
    let retention = chrono::TimeDelta::from_std(config.retention).unwrap_or(chrono::TimeDelta::days(1));
    // Subscribed before the first read, so an end committed in between
    // still wakes this poll.
    let mut wake = config.wake.subscribe();
    let deadline = tokio::time::Instant::now() + config.poll_wait;
    let signals = state.auth.signals();
    let mut request = request;
    loop {
        let answer = match signals.poll(&client, &request, retention).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "feed: cannot read the signals");
                return unavailable();
            }
        };
        // Acknowledged once; a later round only reads.
        request.ack.clear();
        let waited_out = tokio::time::Instant::now() >= deadline;
        if !answer.sets.is_empty() || return_immediately || request.max_events == Some(0) || waited_out {
            return HttpResponse::Ok()
                .content_type(ContentType::json())
                .json(PollResponse {
                    sets: answer.sets.into_iter().collect(),
                    more_available: answer.more_available,
                });
        }
        // Woken by a session's end, or every two seconds at most (an end
        // announced before this instance's listener reconnected).
        let slice = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .min(Duration::from_secs(2));
        let _ = tokio::time::timeout(slice, async {
            loop {
                match wake.recv().await {
                    Ok(Event::SessionsRevoked { .. }) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
    }
}

fn doc() -> Op {
    Op::new("service", "service.ssf_poll", "Session ends as Security Event Tokens (RFC 8936 poll)")
        .describe(
            "The pull feed for services that cannot receive a back-channel logout POST: each \
             ended session the client hears of (its own grants, or every session for a client \
             registered with `allSessions`) as an RFC 8417 SET (`typ: secevent+jwt`, signed \
             with the client's ID-token algorithm, keys in the JWKS) carrying one CAEP \
             `https://schemas.openid.net/secevent/caep/event-type/session-revoked` event, with \
             `sub_id` naming the user (`iss_sub`) and the session (`opaque`). Acknowledge by \
             `jti` in the next poll (`ack`; `setErrs` also acknowledges); unacknowledged SETs \
             are sent again, for `AUTH_SSF_RETENTION_SECONDS`. Without `returnImmediately: \
             true` an empty feed waits up to `AUTH_SSF_POLL_WAIT_SECONDS` for an event. \
             `maxEvents: 0` only acknowledges. Authenticated with HTTP Basic: the client's id \
             and secret.",
        )
        .security_any(&["oauthClient"])
        .raw_body(
            "application/json",
            "RFC 8936 §2.4: `maxEvents`, `returnImmediately`, `ack`, `setErrs`.",
            "{\"maxEvents\": 100, \"returnImmediately\": false, \"ack\": [\"4d3559ec-6762-47f1-a9f2-b7e5e4bbc5a3\"]}",
        )
        .reply::<PollResponse>(
            200,
            "SETs by `jti`, and whether more wait.",
            json!({"sets": {"9b2c0c1e-0c1d-4b7e-8a4a-8e7f3c1d2b6a": "eyJhbGciOiJSUzI1NiIsInR5cCI6InNlY2V2ZW50K2p3dCJ9…"}, "moreAvailable": false}),
        )
        .reply::<FeedError>(
            400,
            "The body is not a poll request.",
            json!({"err": "invalid_request", "description": "ack must be an array of jti strings"}),
        )
        .reply::<FeedError>(
            401,
            "No or wrong client credentials (with `WWW-Authenticate: Basic`).",
            json!({"err": "authentication_failed", "description": "client authentication failed"}),
        )
        .reply::<FeedError>(
            503,
            "The service cannot answer now.",
            json!({"err": "temporarily_unavailable", "description": "the service cannot answer now"}),
        )
}

/// The route.
pub fn route() -> Route {
    Route {
        method: Method::Post,
        path: POLL_PATH,
        id: "service.ssf_poll",
        to: || web::post().to(poll),
        rate_limit: None,
        access: Access::Public,
        doc,
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn a_poll_request_is_read_as_rfc_8936_says() {
        let (r, now) = parse(br#"{"maxEvents": 5, "returnImmediately": true, "ack": ["a"], "setErrs": {"b": {"err": "invalid_key", "description": "x"}}}"#).unwrap();
        assert_eq!(r.max_events, Some(5));
        assert!(now);
        assert_eq!(r.ack, ["a", "b"]);
        let (empty, wait) = parse(b"").unwrap();
        assert_eq!((empty.max_events, empty.ack.len(), wait), (None, 0, false));
    }

    #[test]
    fn wrong_types_are_refused_with_the_field_named() {
        for (body, field) in [
            (&br#"{"maxEvents": -1}"#[..], "maxEvents"),
            (br#"{"maxEvents": "5"}"#, "maxEvents"),
            (br#"{"returnImmediately": 1}"#, "returnImmediately"),
            (br#"{"ack": "a"}"#, "ack"),
            (br#"{"ack": [1]}"#, "ack"),
            (br#"{"setErrs": []}"#, "setErrs"),
            (br#"{"setErrs": {"a": 1}}"#, "setErrs"),
            (b"[]", "object"),
            (b"{", "JSON"),
        ] {
            let why = parse(body).unwrap_err();
            assert!(why.contains(field), "{why}");
        }
    }
}
