//! `GET /api/auth/me` (a service endpoint, in no seed): resolves a bearer
//! access token of any contract from its claims; refuses anything else with
//! 401, `WWW-Authenticate: Bearer error="invalid_token"` and
//! `{"status", "message"}`. Stateless: a logged-out session's access token
//! answers until it expires. See `docs/contracts/service.md`.

use crate::{Reply, Target, TestApp};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::{
    account_sign_in, assert_keys, jwt_claims, now_s, picsel_tokens, session_login, session_refresh,
    sign_hs256, standard_logout, tamper,
};

const PATH: &str = "/api/auth/me";
const MISSING: &str = "인증이 필요합니다.";
const INVALID: &str = "유효하지 않은 액세스 토큰입니다.";
const SECRET: &str = "me-test-signing-secret-0123456789abcdef";

crate::scenarios!(
    standard_token_answers_its_claims,
    every_contracts_token_resolves_to_one_user,
    missing_or_malformed_credentials_are_refused,
    forged_and_expired_tokens_are_refused,
    logout_does_not_stop_a_live_access_token,
    social_start_still_served_beside_me,
    served_with_picsel_prefixed_or_disabled,
);

/// `GET /api/auth/me` with a raw `Authorization` value (or none).
async fn me(app: &TestApp, authorization: Option<&str>) -> Reply {
    match authorization {
        Some(value) => app.get_headers(PATH, &[("authorization", value)]).await,
        None => app.get(PATH).await,
    }
}

async fn me_bearer(app: &TestApp, token: &str) -> Reply {
    me(app, Some(&format!("Bearer {token}"))).await
}

/// Asserts the 200 shape, that it states `token`'s own claims, and returns it.
#[track_caller]
fn assert_claims_of(reply: &Reply, token: &str) -> Value {
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_keys(&reply.json, &["userId", "sessionId", "issuedAt", "expiresAt"]);
    let claims = jwt_claims(token);
    assert_eq!(reply.json["userId"], claims["sub"], "{}", reply.text);
    assert_eq!(reply.json["sessionId"], claims["sid"], "{}", reply.text);
    assert_eq!(reply.json["issuedAt"], claims["iat"], "{}", reply.text);
    assert_eq!(reply.json["expiresAt"], claims["exp"], "{}", reply.text);
    uuid::Uuid::parse_str(reply.json["userId"].as_str().unwrap()).unwrap();
    uuid::Uuid::parse_str(reply.json["sessionId"].as_str().unwrap()).unwrap();
    assert!(!reply.text.contains(token), "the token is echoed: {}", reply.text);
    reply.json.clone()
}

/// Asserts the refusal: 401, the bearer challenge, exactly
/// `{"status": 401, "message": message}`, and no trace of `token`.
#[track_caller]
fn assert_refused(what: &str, reply: &Reply, message: &str, token: &str) {
    assert_eq!(reply.status.as_u16(), 401, "{what}: {}", reply.text);
    assert_eq!(
        reply
            .headers
            .get("www-authenticate")
            .unwrap_or_else(|| panic!("{what}: no WWW-Authenticate"))
            .to_str()
            .unwrap(),
        r#"Bearer error="invalid_token""#,
        "{what}"
    );
    assert_eq!(
        reply.headers.get("content-type").unwrap().to_str().unwrap(),
        "application/json",
        "{what}"
    );
    assert_eq!(
        reply.json,
        json!({"status": 401, "message": message}),
        "{what}: {}",
        reply.text
    );
    if !token.is_empty() {
        assert!(!reply.text.contains(token), "{what}: the token is echoed");
        for (name, value) in &reply.headers {
            assert!(
                !value.to_str().unwrap_or_default().contains(token),
                "{what}: the token is echoed in {name}"
            );
        }
    }
}

async fn standard_token_answers_its_claims(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (access, _) = app.standard_login(&user).await;
    let reply = me_bearer(&app, &access).await;
    let body = assert_claims_of(&reply, &access);
    assert_eq!(
        reply.headers.get("content-type").unwrap().to_str().unwrap(),
        "application/json"
    );
    // Unix seconds, about now, 30 minutes apart (the default access TTL).
    let iat = body["issuedAt"].as_i64().unwrap();
    let exp = body["expiresAt"].as_i64().unwrap();
    assert!((iat - now_s()).abs() < 60, "issuedAt {iat} is not now in seconds");
    assert_eq!(exp - iat, 30 * 60);
    // The userId is the user's UUID, as `picsel` reports it.
    let picsel = super::picsel_login(&app, &user.email, &user.password).await;
    assert_eq!(body["userId"], picsel.json["data"]["user"]["uuid"]);
    // The scheme is matched case-insensitively, as on every contract.
    let lower = me(&app, Some(&format!("bearer {access}"))).await;
    assert_claims_of(&lower, &access);
    // A second login is another session of the same user.
    let (again, _) = app.standard_login(&user).await;
    let other = assert_claims_of(&me_bearer(&app, &again).await, &again);
    assert_eq!(other["userId"], body["userId"]);
    assert_ne!(other["sessionId"], body["sessionId"]);
}

async fn every_contracts_token_resolves_to_one_user(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (standard, _) = app.standard_login(&user).await;
    let (session, _) = session_login(&app, &user).await;
    let account = account_sign_in(&app, &user).await;
    let (picsel, _) = picsel_tokens(&app, &user).await;
    let mut users = vec![];
    let mut sessions = vec![];
    for token in [&standard, &session, &account, &picsel] {
        let body = assert_claims_of(&me_bearer(&app, token).await, token);
        users.push(body["userId"].clone());
        sessions.push(body["sessionId"].clone());
    }
    assert!(users.iter().all(|u| *u == users[0]), "one user: {users:?}");
    sessions.sort_by_key(Value::to_string);
    sessions.dedup();
    assert_eq!(sessions.len(), 4, "one session per login");
}

async fn missing_or_malformed_credentials_are_refused(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (access, refresh) = app.standard_login(&user).await;

    assert_refused("no header", &me(&app, None).await, MISSING, "");
    for (what, value) in [
        ("Basic scheme", "Basic dXNlcjpwYXNzd29yZA==".to_owned()),
        ("Basic scheme with our token", format!("Basic {access}")),
        ("token without scheme", access.clone()),
        ("Bearer without token", "Bearer".to_owned()),
        ("Bearer and blanks", "Bearer    ".to_owned()),
        ("empty header", String::new()),
    ] {
        let token = if value.contains(&access) {
            access.as_str()
        } else {
            ""
        };
        assert_refused(what, &me(&app, Some(&value)).await, MISSING, token);
    }
    for (what, token) in [
        ("garbage", "not-a-jwt".to_owned()),
        ("three garbage parts", "a.b.c".to_owned()),
        ("tampered signature", tamper(&access)),
        ("truncated", access[..access.len() - 4].to_owned()),
        ("refresh token", refresh.clone()),
    ] {
        assert_refused(what, &me_bearer(&app, &token).await, INVALID, &token);
    }
    // The genuine token still works after all that.
    assert_claims_of(&me_bearer(&app, &access).await, &access);
}

async fn forged_and_expired_tokens_are_refused(target: &Target) {
    let app = TestApp::spawn_with(target, |c| {
        c.set("AUTH_JWT_SECRET", SECRET);
    })
    .await;
    let key = SECRET.as_bytes();
    let user = app.new_user().await;
    let (access, _) = app.standard_login(&user).await;
    let claims = jwt_claims(&access);
    // Sanity: our own re-signing of the genuine claims is accepted, so the
    // refusals below are for the forgery, not for a wrong setup.
    let resigned = sign_hs256(key, &claims);
    assert_claims_of(&me_bearer(&app, &resigned).await, &resigned);

    let mut expired = claims.clone();
    expired["iat"] = json!(now_s() - 7200);
    expired["exp"] = json!(now_s() - 3600);
    let mut as_refresh = claims.clone();
    as_refresh["typ"] = json!("refresh");
    as_refresh["jti"] = json!("forged-jti");
    let mut no_typ = claims.clone();
    no_typ.as_object_mut().unwrap().remove("typ");
    for (what, token) in [
        (
            "another key",
            sign_hs256(b"not-the-server-key-0123456789abcdef", &claims),
        ),
        ("expired, right key", sign_hs256(key, &expired)),
        ("refresh kind, right key", sign_hs256(key, &as_refresh)),
        ("no typ, right key", sign_hs256(key, &no_typ)),
        (
            "HS512, right key",
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS512),
                &claims,
                &EncodingKey::from_secret(key),
            )
            .unwrap(),
        ),
    ] {
        assert_refused(what, &me_bearer(&app, &token).await, INVALID, &token);
    }
}

/// An access token outlives its session on this endpoint (by design).
async fn logout_does_not_stop_a_live_access_token(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (access, refresh) = app.standard_login(&user).await;
    let before = assert_claims_of(&me_bearer(&app, &access).await, &access);
    assert_eq!(standard_logout(&app, &access).await.status.as_u16(), 200);
    // The session is gone: its refresh token no longer refreshes …
    assert_eq!(session_refresh(&app, &refresh).await.status.as_u16(), 401);
    // … but /me answers from the claims until the access token expires.
    let after = assert_claims_of(&me_bearer(&app, &access).await, &access);
    assert_eq!(before, after);
}

async fn social_start_still_served_beside_me(target: &Target) {
    let fake = target.deployment().oauth().await;
    let app = TestApp::spawn_with(target, |c| fake.configure(c)).await;
    for provider in ["google", "kakao", "naver"] {
        let reply = app.get(&format!("/api/auth/{provider}")).await;
        assert_eq!(reply.status.as_u16(), 302, "{provider}: {}", reply.text);
        assert!(reply.headers.contains_key("location"), "{provider}");
    }
    // /api/auth/me is not taken for a provider called `me` (which would be
    // `picsel`'s 404 envelope).
    let reply = me(&app, None).await;
    assert_refused("no header, social configured", &reply, MISSING, "");
    assert!(reply.json.get("statusCode").is_none(), "{}", reply.text);
    let user = app.new_user().await;
    let (access, _) = app.standard_login(&user).await;
    assert_claims_of(&me_bearer(&app, &access).await, &access);
}

async fn served_with_picsel_prefixed_or_disabled(target: &Target) {
    let fake = target.deployment().oauth().await;
    let app = TestApp::spawn_with(target, |c| {
        fake.configure(c);
        c.set("AUTH_CONTRACTS__PICSEL__PREFIX", "/picsel");
    })
    .await;
    let user = app.new_user().await;
    let (access, _) = app.standard_login(&user).await;
    // The service endpoint stays at its fixed path; no prefix applies to it.
    assert_claims_of(&me_bearer(&app, &access).await, &access);
    assert_eq!(app.get("/picsel/api/auth/google").await.status.as_u16(), 302);
    assert_eq!(app.get("/api/auth/google").await.status.as_u16(), 404);
    assert_eq!(me_bearer(&app, &access).await.status.as_u16(), 200);
    drop(app);

    let app = TestApp::spawn_with(target, |c| {
        c.set("AUTH_CONTRACTS__PICSEL__ENABLED", false);
    })
    .await;
    let user = app.new_user().await;
    let (access, _) = app.standard_login(&user).await;
    assert_claims_of(&me_bearer(&app, &access).await, &access);
    assert_refused("no header, picsel off", &me(&app, None).await, MISSING, "");
    assert_eq!(app.get("/api/auth/google").await.status.as_u16(), 404);
}
