//! Each provider's user-info JSON, mapped to one [`SocialProfile`].
//!
//! The shapes are the providers' real ones:
//! - Google, OpenID Connect user info:
//!   `{"sub","email","email_verified","name","picture",…}`;
//! - Kakao, `GET /v2/user/me`: `{"id": 123, "kakao_account": {"email",
//!   "is_email_valid", "is_email_verified", "name", "profile": {"nickname",
//!   "profile_image_url", "is_default_image"}}, "properties": {…}}`;
//! - Naver, `GET /v1/nid/me`: `{"resultcode": "00", "message": "success",
//!   "response": {"id", "email", "name", "nickname", "profile_image",…}}`.
//!
//! Unknown fields are ignored; a missing subject, or Naver's `resultcode`
//! other than `"00"`, is an error.
//!
//! What each provider guarantees about the email ([`EmailTrust`]):
//! - Google: `email_verified: true` (or `"true"`) states that Google checked
//!   the user controls the address: verified. Anything else: unverified.
//! - Kakao: `is_email_verified` (Kakao confirmed the user receives mail
//!   there) **and** `is_email_valid` (the address was not since taken over
//!   by a newer Kakao account): verified. Either one missing or false:
//!   unverified.
//! - Naver: the answer has no verification field at all, so no Naver
//!   address is verified. `email` is the account's contact address, by
//!   default its own `@naver.com` mailbox, otherwise an address the user
//!   chose; a `@naver.com` address is [`EmailTrust::ProviderMailbox`] (may
//!   open a new account, never links to an existing one), any other is
//!   unverified.

use auth_domain::social::{EmailTrust, Provider, SocialProfile};
use serde::Deserialize;
use serde_json::Value;

/// Why a user-info body could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProfileError {
    /// Not the provider's JSON shape.
    #[error("unexpected user-info JSON: {0}")]
    Shape(#[from] serde_json::Error),
    /// No usable user id in the answer.
    #[error("user info has no subject")]
    NoSubject,
    /// Naver answered with an error result code.
    #[error("naver resultcode {code:?}: {message}")]
    Naver {
        /// `resultcode`.
        code: String,
        /// `message`.
        message: String,
    },
}

/// Maps a provider's user-info body.
pub(crate) fn parse(provider: Provider, body: &[u8]) -> Result<SocialProfile, ProfileError> {
    match provider {
        Provider::Google => google(body),
        Provider::Kakao => kakao(body),
        Provider::Naver => naver(body),
    }
}

/// A string or a number as a non-empty string (ids come as either).
fn subject(value: Option<&Value>) -> Result<String, ProfileError> {
    let s = match value {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    if s.is_empty() || s.len() > 255 {
        return Err(ProfileError::NoSubject);
    }
    Ok(s)
}

fn trust(verified: bool) -> EmailTrust {
    if verified {
        EmailTrust::Verified
    } else {
        EmailTrust::Unverified
    }
}

/// `true`, or the string `"true"` (older Google answers).
fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

#[derive(Deserialize)]
struct GoogleUser {
    sub: Option<Value>,
    email: Option<String>,
    email_verified: Option<Value>,
    name: Option<String>,
    given_name: Option<String>,
    picture: Option<String>,
}

fn google(body: &[u8]) -> Result<SocialProfile, ProfileError> {
    let u: GoogleUser = serde_json::from_slice(body)?;
    Ok(SocialProfile {
        provider: Provider::Google,
        subject: subject(u.sub.as_ref())?,
        email: non_empty(u.email),
        email_trust: trust(truthy(u.email_verified.as_ref())),
        name: non_empty(u.name),
        nickname: non_empty(u.given_name),
        picture: non_empty(u.picture),
    })
}

#[derive(Deserialize)]
struct KakaoUser {
    id: Option<Value>,
    kakao_account: Option<KakaoAccount>,
    properties: Option<KakaoProperties>,
}

#[derive(Deserialize)]
struct KakaoAccount {
    email: Option<String>,
    is_email_valid: Option<bool>,
    is_email_verified: Option<bool>,
    name: Option<String>,
    profile: Option<KakaoProfile>,
}

#[derive(Deserialize)]
struct KakaoProfile {
    nickname: Option<String>,
    profile_image_url: Option<String>,
    is_default_image: Option<bool>,
}

/// The older, app-level copy of the profile (`properties`).
#[derive(Deserialize)]
struct KakaoProperties {
    nickname: Option<String>,
    profile_image: Option<String>,
}

fn kakao(body: &[u8]) -> Result<SocialProfile, ProfileError> {
    let u: KakaoUser = serde_json::from_slice(body)?;
    let account = u.kakao_account;
    let (profile, email, verified, name) = match account {
        Some(a) => (
            a.profile,
            a.email,
            // Valid: not an address since taken over by another account;
            // verified: Kakao confirmed the user receives mail there.
            a.is_email_valid == Some(true) && a.is_email_verified == Some(true),
            a.name,
        ),
        None => (None, None, false, None),
    };
    let props = u.properties;
    let nickname = profile
        .as_ref()
        .and_then(|p| p.nickname.clone())
        .or_else(|| props.as_ref().and_then(|p| p.nickname.clone()));
    // Kakao's placeholder picture is no picture.
    let picture = match &profile {
        Some(p) if p.is_default_image == Some(true) => None,
        Some(p) => p.profile_image_url.clone(),
        None => props.and_then(|p| p.profile_image),
    };
    Ok(SocialProfile {
        provider: Provider::Kakao,
        subject: subject(u.id.as_ref())?,
        email: non_empty(email),
        email_trust: trust(verified),
        name: non_empty(name),
        nickname: non_empty(nickname),
        picture: non_empty(picture),
    })
}

#[derive(Deserialize)]
struct NaverEnvelope {
    resultcode: Option<String>,
    message: Option<String>,
    response: Option<NaverUser>,
}

#[derive(Deserialize)]
struct NaverUser {
    id: Option<Value>,
    email: Option<String>,
    name: Option<String>,
    nickname: Option<String>,
    profile_image: Option<String>,
}

/// Naver has no "verified" flag. It returns the account's contact
/// address: by default the account's own `@naver.com` mailbox, which Naver
/// operates, otherwise an address the user chose. Neither is stated to be
/// verified; a `@naver.com` one counts as the provider's mailbox.
fn naver_mailbox(email: &str) -> bool {
    email
        .trim()
        .rsplit_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.eq_ignore_ascii_case("naver.com"))
}

fn naver(body: &[u8]) -> Result<SocialProfile, ProfileError> {
    let envelope: NaverEnvelope = serde_json::from_slice(body)?;
    let code = envelope.resultcode.unwrap_or_default();
    if code != "00" {
        return Err(ProfileError::Naver {
            code,
            message: envelope.message.unwrap_or_default(),
        });
    }
    let u = envelope.response.ok_or(ProfileError::NoSubject)?;
    let email = non_empty(u.email);
    Ok(SocialProfile {
        provider: Provider::Naver,
        subject: subject(u.id.as_ref())?,
        email_trust: if email.as_deref().is_some_and(naver_mailbox) {
            EmailTrust::ProviderMailbox
        } else {
            EmailTrust::Unverified
        },
        email,
        name: non_empty(u.name),
        nickname: non_empty(u.nickname),
        picture: non_empty(u.profile_image),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(provider: Provider, v: Value) -> Result<SocialProfile, ProfileError> {
        parse(provider, v.to_string().as_bytes())
    }

    #[test]
    fn google_userinfo() {
        let p = map(
            Provider::Google,
            json!({
                "sub": "110169484474386276334", "name": "홍길동", "given_name": "길동",
                "family_name": "홍", "picture": "https://lh3.googleusercontent.com/a/x=s96-c",
                "email": "gildong@gmail.com", "email_verified": true, "locale": "ko"
            }),
        )
        .unwrap();
        assert_eq!(p.subject, "110169484474386276334");
        assert_eq!(p.email.as_deref(), Some("gildong@gmail.com"));
        assert_eq!(p.email_trust, EmailTrust::Verified);
        assert_eq!(p.name.as_deref(), Some("홍길동"));
        assert_eq!(
            p.picture.as_deref(),
            Some("https://lh3.googleusercontent.com/a/x=s96-c")
        );
        let p = map(
            Provider::Google,
            json!({"sub": "1", "email": "a@b.com", "email_verified": "true"}),
        )
        .unwrap();
        assert_eq!(p.email_trust, EmailTrust::Verified);
        for unverified in [json!(false), json!("false"), json!(null), json!(1)] {
            let p = map(
                Provider::Google,
                json!({"sub": "1", "email": "a@b.com", "email_verified": unverified}),
            )
            .unwrap();
            assert_eq!(p.email_trust, EmailTrust::Unverified, "{unverified}");
        }
        let p = map(Provider::Google, json!({"sub": "1", "email": "a@b.com"})).unwrap();
        assert_eq!(p.email_trust, EmailTrust::Unverified);
        assert!(matches!(
            map(Provider::Google, json!({"email": "a@b.com"})),
            Err(ProfileError::NoSubject)
        ));
        assert!(matches!(
            map(Provider::Google, json!([1])),
            Err(ProfileError::Shape(_))
        ));
    }

    #[test]
    fn kakao_user_me() {
        let body = json!({
            "id": 3141592653_u64,
            "connected_at": "2025-01-01T00:00:00Z",
            "properties": {"nickname": "옛닉네임"},
            "kakao_account": {
                "profile_nickname_needs_agreement": false,
                "profile_image_needs_agreement": false,
                "profile": {
                    "nickname": "길동이",
                    "thumbnail_image_url": "http://k.kakaocdn.net/dn/x/img_110x110.jpg",
                    "profile_image_url": "https://k.kakaocdn.net/dn/x/img_640x640.jpg",
                    "is_default_image": false,
                    "is_default_nickname": false
                },
                "has_email": true,
                "email_needs_agreement": false,
                "is_email_valid": true,
                "is_email_verified": true,
                "email": "gildong@kakao.com"
            }
        });
        let p = map(Provider::Kakao, body.clone()).unwrap();
        assert_eq!(p.subject, "3141592653");
        assert_eq!(p.email.as_deref(), Some("gildong@kakao.com"));
        assert_eq!(p.email_trust, EmailTrust::Verified);
        assert_eq!(p.name, None);
        assert_eq!(p.nickname.as_deref(), Some("길동이"));
        assert_eq!(
            p.picture.as_deref(),
            Some("https://k.kakaocdn.net/dn/x/img_640x640.jpg")
        );
        let mut invalid = body.clone();
        invalid["kakao_account"]["is_email_valid"] = json!(false);
        assert_eq!(
            map(Provider::Kakao, invalid).unwrap().email_trust,
            EmailTrust::Unverified
        );
        let mut unverified = body.clone();
        unverified["kakao_account"]["is_email_verified"] = json!(false);
        assert_eq!(
            map(Provider::Kakao, unverified).unwrap().email_trust,
            EmailTrust::Unverified
        );
        let mut unstated = body.clone();
        unstated["kakao_account"]
            .as_object_mut()
            .unwrap()
            .remove("is_email_valid");
        assert_eq!(
            map(Provider::Kakao, unstated).unwrap().email_trust,
            EmailTrust::Unverified
        );
        let mut default_image = body;
        default_image["kakao_account"]["profile"]["is_default_image"] = json!(true);
        assert_eq!(map(Provider::Kakao, default_image).unwrap().picture, None);
        // Email not consented (no business app): no email at all.
        let p = map(
            Provider::Kakao,
            json!({"id": 7, "kakao_account": {"email_needs_agreement": true, "profile": {"nickname": "n"}}}),
        )
        .unwrap();
        assert_eq!((p.email, p.email_trust), (None, EmailTrust::Unverified));
    }

    #[test]
    fn naver_nid_me() {
        let p = map(
            Provider::Naver,
            json!({
                "resultcode": "00", "message": "success",
                "response": {
                    "id": "32742776", "nickname": "OpenAPI",
                    "profile_image": "https://ssl.pstatic.net/static/pwe/address/nodata_33x33.gif",
                    "age": "40-49", "gender": "F", "email": "openapi@naver.com",
                    "mobile": "010-0000-0000", "name": "오픈 API", "birthday": "10-01"
                }
            }),
        )
        .unwrap();
        assert_eq!(p.subject, "32742776");
        // Naver states nothing: its own mailbox, not a verified address.
        assert_eq!(p.email_trust, EmailTrust::ProviderMailbox);
        assert_eq!(p.name.as_deref(), Some("오픈 API"));
        assert_eq!(p.nickname.as_deref(), Some("OpenAPI"));
        let p = map(
            Provider::Naver,
            json!({"resultcode": "00", "message": "success",
                   "response": {"id": "abc", "email": "me@gmail.com"}}),
        )
        .unwrap();
        assert_eq!(p.email_trust, EmailTrust::Unverified);
        // Even a verification-looking field is not Naver's: ignored.
        let p = map(
            Provider::Naver,
            json!({"resultcode": "00", "message": "success",
                   "response": {"id": "abc", "email": "me@gmail.com", "email_verified": true}}),
        )
        .unwrap();
        assert_eq!(p.email_trust, EmailTrust::Unverified);
        match map(
            Provider::Naver,
            json!({"resultcode": "024", "message": "Authentication failed / 인증에 실패했습니다."}),
        ) {
            Err(ProfileError::Naver { code, .. }) => assert_eq!(code, "024"),
            other => panic!("{other:?}"),
        }
    }
}
