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
    let bytes = req.headers().get(header::AUTHORIZATION)?.as_bytes();
    // What `HeaderValue::to_str` accepts (visible ASCII and tab), checked
    // without an early exit so that it runs a word at a time: on the
    // token-only path (`GET /api/auth/me`) the byte-by-byte check of a
    // 450-byte token cost more than the rest of the header handling.
    let refused = bytes.iter().fold(false, |refused, &b| {
        refused | !(b == b'\t' || (0x20..0x7f).contains(&b))
    });
    if refused {
        return None;
    }
    let value = std::str::from_utf8(bytes).ok()?;
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

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;
    use actix_web::test::TestRequest;

    use super::bearer_token;

    /// The fast check accepts exactly what `HeaderValue::to_str` accepts.
    #[test]
    fn bearer_token_accepts_what_to_str_accepts() {
        let cases: Vec<Vec<u8>> = vec![
            b"Bearer abc.def.ghi".to_vec(),
            b"bearer abc".to_vec(),
            b"Bearer \tabc\t".to_vec(),
            b"Bearer a\x01b".to_vec(),
            b"Bearer a\x7fb".to_vec(),
            "Bearer 토큰".as_bytes().to_vec(),
            b"Bearer a\xffb".to_vec(),
            b"Basic abc".to_vec(),
            b"Bearer ".to_vec(),
            b"Bearer".to_vec(),
        ];
        let mut compared = 0;
        for raw in cases {
            // Control characters and DEL cannot be in a header value at all.
            let Ok(value) = HeaderValue::from_bytes(&raw) else {
                continue;
            };
            compared += 1;
            let expected = value.to_str().ok().and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                let token = token.trim();
                (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
            });
            let req = TestRequest::default()
                .insert_header((actix_web::http::header::AUTHORIZATION, value))
                .to_http_request();
            assert_eq!(bearer_token(&req).map(str::to_owned), expected, "{raw:?}");
        }
        assert_eq!(compared, 8, "the non-ASCII values are compared too");
        assert_eq!(bearer_token(&TestRequest::default().to_http_request()), None);
    }
}
