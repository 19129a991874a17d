//! `standard` (seed 004): username login, `reissue-token` with rotation,
//! logout of the current member. Errors `{"status", "reason"}`.

use std::time::Duration;

use crate::{Target, TestApp, unique_login};
use serde_json::json;

use super::{
    assert_jwt, assert_keys, assert_picsel_invalid_refresh, assert_session_invalid_refresh,
    assert_standard_error, now_ms, picsel_refresh, reissue, session_refresh, standard_logout, tamper,
};

const BAD_CREDENTIALS: &str = "잘못된 자격증명입니다.";
const INVALID_ACCESS: &str = "유효하지 않은 액세스 토큰입니다.";
const INVALID_REFRESH: &str = "유효하지 않은 리프레시 토큰입니다.";
const REUSED: &str = "이미 사용된 리프레시 토큰입니다. 보안을 위해 세션이 만료되었습니다.";
const MISMATCH: &str = "액세스 토큰과 리프레시 토큰의 세션이 일치하지 않습니다.";

/// Asserts the seed's token shape and returns `(access, refresh, expiresIn)`.
#[track_caller]
fn token_reply(reply: &crate::Reply) -> (String, String, i64) {
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_keys(
        &reply.json,
        &["accessToken", "refreshToken", "accessTokenExpiresIn"],
    );
    let access = reply.str("/accessToken");
    let refresh = reply.str("/refreshToken");
    assert_jwt(&access);
    assert_jwt(&refresh);
    assert_ne!(access, refresh);
    let expires = reply.json["accessTokenExpiresIn"]
        .as_i64()
        .unwrap_or_else(|| panic!("accessTokenExpiresIn is not an integer: {}", reply.text));
    // Exactly the token's own expiry: a client that refreshes at that
    // instant finds it expired, never up to a second early.
    let exp = super::jwt_claims(&access)["exp"].as_i64().unwrap();
    assert_eq!(
        expires,
        exp * 1000,
        "accessTokenExpiresIn is the access token's exp in ms"
    );
    (access, refresh, expires)
}

/// Asserts an epoch-milliseconds expiry about 30 minutes from now.
#[track_caller]
fn assert_expires_in_30_min(expires: i64) {
    let expected = now_ms() + 30 * 60 * 1000;
    assert!(
        (expires - expected).abs() < 60_000,
        "accessTokenExpiresIn {expires} is not now+30min in epoch ms (expected ≈ {expected})"
    );
}

async fn login_success_shape(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let reply = app
        .post(
            "/api/auth/login",
            &json!({"username": user.login, "password": user.password}),
        )
        .await;
    let (access, refresh, expires) = token_reply(&reply);
    assert_expires_in_30_min(expires);
    // The tokens work: the refresh token refreshes, the access token logs out.
    assert_eq!(session_refresh(&app, &refresh).await.status.as_u16(), 200);
    assert_eq!(standard_logout(&app, &access).await.status.as_u16(), 200);

    // The login id is matched case-insensitively.
    let upper = app
        .post(
            "/api/auth/login",
            &json!({"username": user.login.to_uppercase(), "password": user.password}),
        )
        .await;
    token_reply(&upper);
}

async fn login_blank_fields(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    for body in [
        json!({}),
        json!({"password": user.password}),
        json!({"username": null, "password": user.password}),
        json!({"username": "", "password": user.password}),
        json!({"username": "   ", "password": user.password}),
        json!({"username": "\t\n ", "password": user.password}),
        json!({"username": "", "password": ""}),
    ] {
        let reply = app.post("/api/auth/login", &body).await;
        assert_standard_error(&reply, 400, "username : must not be blank");
    }
    for body in [
        json!({"username": user.login}),
        json!({"username": user.login, "password": null}),
        json!({"username": user.login, "password": ""}),
        json!({"username": user.login, "password": "    "}),
    ] {
        let reply = app.post("/api/auth/login", &body).await;
        assert_standard_error(&reply, 400, "password : must not be blank");
    }
}

async fn login_wrong_credentials(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let wrong = app
        .post(
            "/api/auth/login",
            &json!({"username": user.login, "password": "Wrong-password-1"}),
        )
        .await;
    assert_standard_error(&wrong, 401, BAD_CREDENTIALS);
    let unknown = app
        .post(
            "/api/auth/login",
            &json!({"username": unique_login(), "password": user.password}),
        )
        .await;
    assert_standard_error(&unknown, 401, BAD_CREDENTIALS);
    assert_eq!(
        wrong.text, unknown.text,
        "wrong password and unknown user must be indistinguishable"
    );
    // A password differing only in case is a wrong password.
    let case = app
        .post(
            "/api/auth/login",
            &json!({"username": user.login, "password": user.password.to_lowercase()}),
        )
        .await;
    assert_standard_error(&case, 401, BAD_CREDENTIALS);
}

async fn login_by_email_is_refused(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let reply = app
        .post(
            "/api/auth/login",
            &json!({"username": user.email, "password": user.password}),
        )
        .await;
    assert_standard_error(&reply, 401, BAD_CREDENTIALS);
}

async fn reissue_rotates_and_detects_reuse(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (a1, r1) = app.standard_login(&user).await;

    let first = reissue(&app, &a1, &r1).await;
    let (a2, r2, expires) = token_reply(&first);
    assert_ne!(r2, r1, "reissue must return a new refresh token");
    assert_expires_in_30_min(expires);

    // The new pair works.
    assert_eq!(session_refresh(&app, &r2).await.status.as_u16(), 200);

    // The spent refresh token is refused, and that reuse revokes the session.
    let reuse = reissue(&app, &a1, &r1).await;
    assert_standard_error(&reuse, 401, REUSED);
    let after = reissue(&app, &a2, &r2).await;
    assert_standard_error(&after, 401, INVALID_REFRESH);
    assert_session_invalid_refresh(&session_refresh(&app, &r2).await);
    assert_picsel_invalid_refresh(&picsel_refresh(&app, &r2).await);
}

async fn reissue_chain(target: &Target) {
    // Several rotations in a row each give a working pair.
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (mut access, mut refresh) = app.standard_login(&user).await;
    let mut seen = vec![refresh.clone()];
    for _ in 0..3 {
        let reply = reissue(&app, &access, &refresh).await;
        let (a, r, _) = token_reply(&reply);
        assert!(!seen.contains(&r), "a refresh token was issued twice");
        seen.push(r.clone());
        access = a;
        refresh = r;
    }
    assert_eq!(standard_logout(&app, &access).await.status.as_u16(), 200);
    assert_standard_error(&reissue(&app, &access, &refresh).await, 401, INVALID_REFRESH);
}

async fn reissue_across_sessions_is_refused(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let other = app.new_user().await;
    let (a1, _r1) = app.standard_login(&user).await;
    let (_a2, r2) = app.standard_login(&user).await;
    assert_standard_error(&reissue(&app, &a1, &r2).await, 401, MISMATCH);
    let (a3, _r3) = app.standard_login(&other).await;
    assert_standard_error(&reissue(&app, &a3, &r2).await, 401, MISMATCH);
}

async fn reissue_with_bad_tokens(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (access, refresh) = app.standard_login(&user).await;
    assert_standard_error(&reissue(&app, "garbage", &refresh).await, 401, INVALID_ACCESS);
    // A refresh token is not an access token, and the other way round.
    assert_standard_error(&reissue(&app, &refresh, &refresh).await, 401, INVALID_ACCESS);
    assert_standard_error(&reissue(&app, &access, &access).await, 401, INVALID_REFRESH);
    assert_standard_error(&reissue(&app, &access, "garbage").await, 401, INVALID_REFRESH);
    // A tampered signature.
    assert_standard_error(
        &reissue(&app, &access, &tamper(&refresh)).await,
        401,
        INVALID_REFRESH,
    );
    assert_standard_error(
        &reissue(&app, &tamper(&access), &refresh).await,
        401,
        INVALID_ACCESS,
    );
    // Blank fields.
    let reply = app
        .post("/api/auth/reissue-token", &json!({"refreshToken": refresh}))
        .await;
    assert_standard_error(&reply, 400, "accessToken : must not be blank");
    let reply = app
        .post(
            "/api/auth/reissue-token",
            &json!({"accessToken": access, "refreshToken": " "}),
        )
        .await;
    assert_standard_error(&reply, 400, "refreshToken : must not be blank");
    // None of the refusals spent or revoked anything.
    token_reply(&reissue(&app, &access, &refresh).await);
}

async fn reissue_with_expired_access_token(target: &Target) {
    let app = TestApp::spawn_with(target, |c| {
        c.set("AUTH_ACCESS_TTL_SECONDS", 1);
    })
    .await;
    let user = app.new_user().await;
    let (access, refresh) = app.standard_login(&user).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let reply = reissue(&app, &access, &refresh).await;
    let (new_access, new_refresh, expires) = token_reply(&reply);
    assert_ne!(new_refresh, refresh);
    let expected = now_ms() + 1000;
    assert!(
        (expires - expected).abs() < 5_000,
        "expiry {expires} vs ≈ {expected}"
    );
    // The new pair is the session's: it reissues in turn. (Not a logout
    // with the new access token: with a 1-second lifetime counted in whole
    // seconds it may already have expired on a loaded machine.)
    let again = reissue(&app, &new_access, &new_refresh).await;
    assert_ne!(token_reply(&again).1, new_refresh);
}

async fn logout_refuses_expired_access_token(target: &Target) {
    let app = TestApp::spawn_with(target, |c| {
        c.set("AUTH_ACCESS_TTL_SECONDS", 1);
    })
    .await;
    let user = app.new_user().await;
    let (access, refresh) = app.standard_login(&user).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_standard_error(&standard_logout(&app, &access).await, 401, INVALID_ACCESS);
    // The session was not logged out.
    assert_eq!(session_refresh(&app, &refresh).await.status.as_u16(), 200);
}

async fn expired_refresh_token_is_refused(target: &Target) {
    let app = TestApp::spawn_with(target, |c| {
        c.set("AUTH_REFRESH_TTL_SECONDS", 1);
    })
    .await;
    let user = app.new_user().await;
    let (access, refresh) = app.standard_login(&user).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_standard_error(&reissue(&app, &access, &refresh).await, 401, INVALID_REFRESH);
    assert_session_invalid_refresh(&session_refresh(&app, &refresh).await);
    assert_picsel_invalid_refresh(&picsel_refresh(&app, &refresh).await);
    // The access token itself is still valid (30 minutes).
    assert_eq!(standard_logout(&app, &access).await.status.as_u16(), 200);
}

async fn reuse_within_grace_gets_a_sibling(target: &Target) {
    let app = TestApp::spawn_with(target, |c| {
        c.set("AUTH_REFRESH_REUSE_GRACE_SECONDS", 30);
    })
    .await;
    let user = app.new_user().await;
    let (access, refresh) = app.standard_login(&user).await;
    let (_, first, _) = token_reply(&reissue(&app, &access, &refresh).await);
    // A second tab racing the same rotation inside the grace window.
    let (_, sibling, _) = token_reply(&reissue(&app, &access, &refresh).await);
    assert_ne!(first, sibling);
    assert_eq!(session_refresh(&app, &first).await.status.as_u16(), 200);
    assert_eq!(session_refresh(&app, &sibling).await.status.as_u16(), 200);
}

async fn logout_revokes_the_session(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (access, refresh) = app.standard_login(&user).await;
    let (other_access, other_refresh) = app.standard_login(&user).await;

    let reply = standard_logout(&app, &access).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);

    assert_session_invalid_refresh(&session_refresh(&app, &refresh).await);
    assert_picsel_invalid_refresh(&picsel_refresh(&app, &refresh).await);
    assert_standard_error(&reissue(&app, &access, &refresh).await, 401, INVALID_REFRESH);

    // Logout is idempotent while the access token is valid.
    assert_eq!(standard_logout(&app, &access).await.status.as_u16(), 200);

    // The user's other session is untouched.
    token_reply(&reissue(&app, &other_access, &other_refresh).await);
}

async fn logout_without_valid_bearer(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (_access, refresh) = app.standard_login(&user).await;

    assert_standard_error(
        &app.post_empty("/api/auth/logout", None).await,
        401,
        "인증이 필요합니다.",
    );
    assert_standard_error(
        &app.post_empty("/api/auth/logout", Some("Bearer ")).await,
        401,
        "인증이 필요합니다.",
    );
    assert_standard_error(
        &app.post_empty("/api/auth/logout", Some("Basic abc")).await,
        401,
        "인증이 필요합니다.",
    );
    assert_standard_error(
        &app.post_empty("/api/auth/logout", Some("Bearer garbage")).await,
        401,
        INVALID_ACCESS,
    );
    // A refresh token is not an access token.
    assert_standard_error(&standard_logout(&app, &refresh).await, 401, INVALID_ACCESS);
    // A JSON body without `refresh_token` is still the standard logout.
    let reply = app.post("/api/auth/logout", &json!({})).await;
    assert_standard_error(&reply, 401, "인증이 필요합니다.");
    // Nothing was revoked.
    assert_eq!(session_refresh(&app, &refresh).await.status.as_u16(), 200);
}

async fn login_malformed_body_reason(target: &Target) {
    // docs/contracts/standard.md: a body that is not JSON or not an object is
    // 400 `요청 본문을 읽을 수 없습니다.` — on the shared login path too.
    let app = TestApp::spawn(target).await;
    for path in ["/api/auth/reissue-token", "/api/auth/login"] {
        for body in ["{", "[]", "\"str\""] {
            let reply = app.post_raw(path, body, "application/json").await;
            assert_standard_error(&reply, 400, "요청 본문을 읽을 수 없습니다.");
        }
        let reply = app
            .post_raw(
                path,
                r#"{"username":1,"password":"x","accessToken":1}"#,
                "application/json",
            )
            .await;
        assert_eq!(reply.status.as_u16(), 400, "{path}: {}", reply.text);
        assert!(
            reply.str("/reason").ends_with(" : must be a string"),
            "{path}: {}",
            reply.text
        );
    }
}

crate::scenarios!(
    login_success_shape,
    login_blank_fields,
    login_wrong_credentials,
    login_by_email_is_refused,
    reissue_rotates_and_detects_reuse,
    reissue_chain,
    reissue_across_sessions_is_refused,
    reissue_with_bad_tokens,
    reissue_with_expired_access_token,
    logout_refuses_expired_access_token,
    expired_refresh_token_is_refused,
    reuse_within_grace_gets_a_sibling,
    logout_revokes_the_session,
    logout_without_valid_bearer,
    login_malformed_body_reason,
);
