//! One module per contract. Each parses its requests, calls one use case,
//! and renders its own envelope; error mapping for a contract lives in one
//! function of its module.
//!
//! Helpers here return `Result<T, HttpResponse>` so a handler can bail out
//! with its envelope-shaped answer; the error variant is large by clippy's
//! measure, but it is built once per failed request and never moved in a hot
//! loop, so boxing it would only add noise.
#![allow(clippy::result_large_err)]

pub mod account;
pub mod chat;
pub mod envelope;
pub mod picsel;
pub mod picsel_social;
pub mod session;
pub mod standard;

use actix_web::HttpRequest;
use actix_web::http::header;
use chrono::{DateTime, SecondsFormat, Utc};

use auth_domain::PortError;

/// What a login with the right password of a disabled account answers, on
/// every contract (403, in the contract's envelope; see
/// `docs/contracts/*.md`). A wrong password gets the ordinary
/// wrong-credentials answer, so this reveals nothing to a guesser.
pub const ACCOUNT_DISABLED: &str = "비활성화된 계정입니다. 관리자에게 문의하세요.";

/// The access token from `Authorization: Bearer …` (the scheme is matched
/// case-insensitively).
pub(crate) fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Logs an infrastructure failure with its cause chain. The client gets a
/// 503 in its contract's envelope and nothing of the cause.
pub(crate) fn log_internal(contract: &'static str, error: &PortError) {
    let mut chain = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        chain.push_str(" <- ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    tracing::error!(contract, context = error.context(), cause = %chain, "infrastructure failure");
}

/// Whole seconds for `Retry-After`, rounded up (at least 1).
pub(crate) fn retry_after_secs(retry_after: chrono::TimeDelta) -> i64 {
    let ms = retry_after.num_milliseconds().max(1);
    (ms + 999) / 1000
}

pub(crate) use envelope::TOO_MANY_REQUESTS;

/// `2025-12-08T11:00:00.000Z`, the shape the `picsel` document shows.
pub(crate) fn iso_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}
