//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), with the
//! parameters every authenticator app accepts: HMAC-SHA-1, 6 digits, a 30 s
//! step, a 160-bit secret.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};

/// Length of a secret, in bytes (160 bits, RFC 4226 §4's recommendation).
pub const SECRET_BYTES: usize = 20;
/// The time step, in seconds.
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps of clock drift accepted either way.
pub const DRIFT_STEPS: i64 = 1;

/// The time step of `t` (T = floor(unix time / 30), T0 = 0).
pub fn step_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(STEP_SECONDS)
}

/// HOTP (RFC 4226 §5.3) of `secret` at counter `counter`, truncated to
/// `digits` digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret) else {
        return 0;
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = (u32::from(digest[offset]) & 0x7f) << 24
        | u32::from(digest[offset + 1]) << 16
        | u32::from(digest[offset + 2]) << 8
        | u32::from(digest[offset + 3]);
    binary % 10_u32.pow(digits)
}

/// The 6-digit code of `secret` at time step `step`, zero-padded.
pub fn code_at(secret: &[u8], step: i64) -> String {
    format!("{:06}", hotp(secret, step.max(0).unsigned_abs(), DIGITS))
}

/// A well-formed code: exactly six ASCII digits once spaces are removed
/// (apps show `123 456`). `None` for anything else.
pub fn normalize_code(raw: &str) -> Option<String> {
    let code: String = raw.chars().filter(|c| *c != ' ').collect();
    (code.len() == DIGITS as usize && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// The time step within one step of drift of `now` whose code is `code`,
/// checking every candidate (no early exit on a match: timing says nothing).
pub fn matching_step(secret: &[u8], code: &str, now: DateTime<Utc>) -> Option<i64> {
    let current = step_of(now);
    let mut found = None;
    for step in (current - DRIFT_STEPS)..=(current + DRIFT_STEPS) {
        let candidate = code_at(secret, step);
        if constant_eq(candidate.as_bytes(), code.as_bytes()) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// RFC 4648 base32 without padding, as authenticator apps read secrets.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The `otpauth://totp/…` URI (Google Authenticator's key-URI format) that
/// a QR code carries: issuer and account label, secret, and the parameters
/// spelled out.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let label = format!("{}:{}", percent(issuer), percent(account));
    format!(
        "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        base32(secret),
        percent(issuer)
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    /// RFC 6238 Appendix B, SHA-1 column (8 digits).
    #[test]
    fn rfc_6238_test_vectors() {
        for (time, expected) in [
            (59_i64, 94_287_082_u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            let t = DateTime::from_timestamp(time, 0).unwrap();
            assert_eq!(hotp(RFC_SECRET, step_of(t) as u64, 8), expected, "T = {time}");
            assert_eq!(
                code_at(RFC_SECRET, step_of(t)),
                format!("{:06}", expected % 1_000_000)
            );
        }
    }

    /// RFC 4226 Appendix D.
    #[test]
    fn rfc_4226_test_vectors() {
        let expected = [
            755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871, 520_489,
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(RFC_SECRET, counter as u64, 6), *code);
        }
    }

    #[test]
    fn one_step_of_drift_either_way_and_no_more() {
        let now = DateTime::from_timestamp(1_111_111_111, 0).unwrap();
        let step = step_of(now);
        for offset in -1..=1 {
            assert_eq!(
                matching_step(RFC_SECRET, &code_at(RFC_SECRET, step + offset), now),
                Some(step + offset)
            );
        }
        for offset in [-3, -2, 2, 3] {
            assert_eq!(
                matching_step(RFC_SECRET, &code_at(RFC_SECRET, step + offset), now),
                None
            );
        }
    }

    #[test]
    fn codes_are_six_digits() {
        assert_eq!(normalize_code("123 456").as_deref(), Some("123456"));
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６", "-12345"] {
            assert_eq!(normalize_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(RFC_SECRET), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn the_uri_names_every_parameter() {
        assert_eq!(
            otpauth_uri("Auth Service", "kim@example.com", RFC_SECRET),
            "otpauth://totp/Auth%20Service:kim%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Auth%20Service&algorithm=SHA1&digits=6&period=30"
        );
    }
}
