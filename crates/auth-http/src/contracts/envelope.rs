//! What every contract's error type shares, and how one is rendered.
//!
//! Each contract has one error enum (`StandardError`, `SessionError`, …)
//! built from the use cases' errors with `From`, so a handler is `?` from
//! top to bottom. The enum's [`ContractError::reply`] is the contract's whole
//! error mapping, in one place; its [`Envelope`] turns a [`Reply`] into the
//! contract's JSON shape. [`respond`] adds `Retry-After` and logs an
//! infrastructure failure exactly once, for every contract alike.

use std::borrow::Cow;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use chrono::TimeDelta;
use serde_json::Value;

use auth_domain::PortError;

use crate::body::BodyError;

/// What can go wrong in any contract before or around its use case.
#[derive(Debug, thiserror::Error)]
pub enum Common {
    /// The body cannot be used.
    #[error("unusable body: {0:?}")]
    Body(BodyError),
    /// A required field is missing, null, empty or blank.
    #[error("blank field {0}")]
    Blank(&'static str),
    /// Over the per-IP request rate limit, for this long.
    #[error("rate limited")]
    RateLimited(TimeDelta),
    /// Password checks locked out (login throttling), for this long.
    #[error("throttled")]
    Throttled(TimeDelta),
    /// Infrastructure failure (database, hashing queue full, mail).
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

impl From<BodyError> for Common {
    fn from(e: BodyError) -> Self {
        Self::Body(e)
    }
}

/// One error answer, before it is shaped by a contract's envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// The human-readable message (Korean, as the documents write them).
    pub message: Cow<'static, str>,
    /// A stable code, for contracts whose envelope carries one (`picsel`).
    pub code: &'static str,
    /// Extra details (`picsel`'s `error.details`), `null` when none.
    pub details: Value,
    /// `Retry-After`, for 429 answers.
    pub retry_after: Option<TimeDelta>,
    /// A login's pending second step, rendered as a top-level `mfa` field
    /// beside the contract's own fields.
    pub mfa: Option<Value>,
}

impl Reply {
    /// A reply with a status and a message (code `ERROR`, no details).
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
            code: "ERROR",
            details: Value::Null,
            retry_after: None,
            mfa: None,
        }
    }

    /// The 401 of a login that needs a second step (`추가 인증이 필요합니다.`),
    /// whatever the contract: its envelope plus `"mfa": {"mfaToken",
    /// "methods", "expiresIn"}`.
    pub fn second_factor(challenge: &auth_domain::factors::Challenge) -> Self {
        let mut reply = Self::new(StatusCode::UNAUTHORIZED, SECOND_FACTOR_REQUIRED).code("MFA_REQUIRED");
        reply.mfa = Some(serde_json::json!({
            "mfaToken": challenge.mfa_token,
            "methods": challenge.methods,
            "expiresIn": challenge.expires_in,
        }));
        reply
    }

    /// With a stable code.
    #[must_use]
    pub fn code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    /// With details.
    #[must_use]
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// With `Retry-After`.
    #[must_use]
    pub fn retry_after(mut self, wait: TimeDelta) -> Self {
        self.retry_after = Some(wait);
        self
    }
}

/// A required field's value, non-blank, or [`Common::Blank`] naming it.
///
/// # Errors
/// [`Common::Blank`] when absent, null, empty or only whitespace.
pub fn required<'a>(value: &'a Option<String>, field: &'static str) -> Result<&'a str, Common> {
    non_blank(value).ok_or(Common::Blank(field))
}

/// An optional field's value, when present and not blank.
pub fn non_blank(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.trim().is_empty())
}

/// The message of a refused (throttled) login, in every contract.
pub(crate) const TOO_MANY_ATTEMPTS: &str = "로그인 시도가 너무 많습니다. 잠시 후 다시 시도해 주세요.";
/// The message of a login that needs a second factor, in every contract.
pub const SECOND_FACTOR_REQUIRED: &str = "추가 인증이 필요합니다.";
/// The message of a request over the per-IP rate limit, in every contract.
pub(crate) const TOO_MANY_REQUESTS: &str = "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.";
/// The message of an infrastructure failure (the `picsel` document writes
/// its messages without a final period; its envelope drops it).
pub(crate) const UNAVAILABLE: &str = "일시적으로 서비스를 이용할 수 없습니다.";
/// The message of an oversized body.
pub(crate) const TOO_LARGE: &str = "요청 본문이 너무 큽니다.";

/// A contract's error shape.
pub trait Envelope {
    /// The contract's name (`standard`, `session`, …), for logs.
    const NAME: &'static str;

    /// The JSON body of `reply` in this contract's shape.
    fn body(reply: &Reply) -> Value;

    /// This contract's answer to a body problem or a blank field.
    fn invalid(problem: &Common) -> Reply;

    /// This contract's answer to an infrastructure failure (503).
    fn unavailable() -> Reply {
        Reply::new(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE).code("SERVICE_UNAVAILABLE")
    }

    /// This contract's answer to what every contract shares. Rate limits
    /// and throttling are 429 with `Retry-After`, an outage is 503.
    fn common(c: &Common) -> Reply {
        match c {
            Common::Body(_) | Common::Blank(_) => Self::invalid(c),
            Common::RateLimited(wait) => Reply::new(StatusCode::TOO_MANY_REQUESTS, TOO_MANY_REQUESTS)
                .code("TOO_MANY_REQUESTS")
                .retry_after(*wait),
            Common::Throttled(wait) => Reply::new(StatusCode::TOO_MANY_REQUESTS, TOO_MANY_ATTEMPTS)
                .code("TOO_MANY_ATTEMPTS")
                .retry_after(*wait),
            Common::Unavailable(_) => Self::unavailable(),
        }
    }
}

/// A contract's error enum.
pub trait ContractError: std::fmt::Debug + std::fmt::Display {
    /// The envelope it is rendered in.
    type Envelope: Envelope;

    /// The answer: this contract's whole error mapping.
    fn reply(&self) -> Reply;

    /// The infrastructure failure behind this error, if it is one (logged
    /// once when the answer is rendered).
    fn outage(&self) -> Option<&PortError>;
}

/// Renders `error` in its contract's envelope: the status, the body,
/// `Retry-After` when the reply has one; an outage is logged here, once.
pub fn respond<E: ContractError>(error: &E) -> HttpResponse {
    if let Some(e) = error.outage() {
        crate::contracts::log_internal(E::Envelope::NAME, e);
    }
    render::<E::Envelope>(&error.reply())
}

/// Renders a reply in envelope `V`.
pub fn render<V: Envelope>(reply: &Reply) -> HttpResponse {
    let mut body = V::body(reply);
    if let (Some(mfa), Some(fields)) = (&reply.mfa, body.as_object_mut()) {
        fields.insert("mfa".to_owned(), mfa.clone());
    }
    let mut response = HttpResponse::build(reply.status).json(body);
    if let Some(wait) = reply.retry_after
        && let Ok(value) = actix_web::http::header::HeaderValue::from_str(
            &crate::contracts::retry_after_secs(wait).to_string(),
        )
    {
        response
            .headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, value);
    }
    response
}

/// Implements actix's `ResponseError` for a [`ContractError`], so handlers
/// return `Result<_, ThatError>` and actix renders the envelope.
macro_rules! response_error {
    ($error:ty) => {
        impl actix_web::ResponseError for $error {
            fn status_code(&self) -> actix_web::http::StatusCode {
                $crate::contracts::envelope::ContractError::reply(self).status
            }

            fn error_response(&self) -> actix_web::HttpResponse {
                $crate::contracts::envelope::respond(self)
            }
        }
    };
}
pub(crate) use response_error;
