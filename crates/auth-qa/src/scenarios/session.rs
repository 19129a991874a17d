//! `session` (seed 001), HTTP part: `/api/login`, `/api/token/refresh`.
//! Envelope `{"success", "message", …}`.

use crate::{Target, TestApp, unique_login};
use serde_json::json;

use super::{
    assert_jwt, assert_keys, assert_session_error, assert_session_invalid_refresh, session_refresh,
    standard_logout,
};

const INVALID_CREDENTIALS: &str = "유효하지 않은 아이디 또는 비밀번호입니다!";
const BAD_USER_ID: &str = "아이디는 영문 소문자와 숫자 3~20자여야 합니다.";
const BAD_PASSWORD: &str = "비밀번호는 영문자, 숫자, 특수문자 6~30자여야 합니다.";
const MISSING: &str = "아이디와 비밀번호를 입력해주세요.";

async fn login_success_shape(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let reply = app
        .post(
            "/api/login",
            &json!({"userId": user.login, "password": user.password}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_keys(
        &reply.json,
        &["success", "message", "accessToken", "refreshToken"],
    );
    assert_eq!(reply.json["success"], json!(true));
    assert_eq!(reply.json["message"], json!("로그인 성공"));
    let access = reply.str("/accessToken");
    let refresh = reply.str("/refreshToken");
    assert_jwt(&access);
    assert_jwt(&refresh);
    assert_ne!(access, refresh);
    // The tokens are real: the refresh token refreshes, the access token is a bearer.
    assert_eq!(session_refresh(&app, &refresh).await.status.as_u16(), 200);
    assert_eq!(standard_logout(&app, &access).await.status.as_u16(), 200);
    assert_session_invalid_refresh(&session_refresh(&app, &refresh).await);
}

async fn login_wrong_credentials(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let wrong = app
        .post(
            "/api/login",
            &json!({"userId": user.login, "password": "Wrong-pass1"}),
        )
        .await;
    assert_session_error(&wrong, 401, INVALID_CREDENTIALS);
    let unknown = app
        .post(
            "/api/login",
            &json!({"userId": unique_login(), "password": user.password}),
        )
        .await;
    assert_session_error(&unknown, 401, INVALID_CREDENTIALS);
    assert_eq!(wrong.text, unknown.text);
}

async fn login_format_rules(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    for user_id in [
        user.login.to_uppercase(),
        "User123".to_owned(),
        "ab".to_owned(),
        "a".repeat(21),
        "user_123".to_owned(),
        "user 123".to_owned(),
        "사용자아이디".to_owned(),
    ] {
        let reply = app
            .post(
                "/api/login",
                &json!({"userId": user_id, "password": user.password}),
            )
            .await;
        assert_session_error(&reply, 400, BAD_USER_ID);
    }
    for password in ["12345", "pass 123", "비밀번호1234", &"a".repeat(31)] {
        let reply = app
            .post("/api/login", &json!({"userId": user.login, "password": password}))
            .await;
        assert_session_error(&reply, 400, BAD_PASSWORD);
    }
    // The boundaries themselves are allowed (and then simply wrong).
    for (user_id, password) in [
        ("abc", "abcdef"),
        ("a1234567890123456789", "a!".repeat(15).as_str()),
    ] {
        let reply = app
            .post("/api/login", &json!({"userId": user_id, "password": password}))
            .await;
        assert_session_error(&reply, 401, INVALID_CREDENTIALS);
    }
}

async fn login_missing_fields(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    for body in [
        json!({}),
        json!({"userId": user.login}),
        json!({"password": user.password}),
        json!({"userId": "", "password": user.password}),
        json!({"userId": user.login, "password": "   "}),
        json!({"userId": null, "password": null}),
    ] {
        let reply = app.post("/api/login", &body).await;
        assert_session_error(&reply, 400, MISSING);
    }
}

async fn refresh_keeps_the_refresh_token(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (_access, refresh) = super::session_login(&app, &user).await;
    let mut accesses = vec![];
    for _ in 0..2 {
        let reply = session_refresh(&app, &refresh).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
        assert_keys(&reply.json, &["success", "message", "accessToken"]);
        assert_eq!(reply.json["success"], json!(true));
        assert_eq!(reply.json["message"], json!("토큰 갱신 성공"));
        let access = reply.str("/accessToken");
        assert_jwt(&access);
        accesses.push(access);
    }
    // A refreshed access token is a working bearer of the same session.
    assert_eq!(standard_logout(&app, &accesses[1]).await.status.as_u16(), 200);
    assert_session_invalid_refresh(&session_refresh(&app, &refresh).await);
}

async fn refresh_bad_tokens(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (access, refresh) = super::session_login(&app, &user).await;
    assert_session_invalid_refresh(&session_refresh(&app, "garbage").await);
    assert_session_invalid_refresh(&session_refresh(&app, "a.b.c").await);
    // An access token is not a refresh token.
    assert_session_invalid_refresh(&session_refresh(&app, &access).await);
    assert_session_invalid_refresh(&session_refresh(&app, &super::tamper(&refresh)).await);
    for body in [
        json!({}),
        json!({"refreshToken": ""}),
        json!({"refreshToken": null}),
    ] {
        let reply = app.post("/api/token/refresh", &body).await;
        assert_session_error(&reply, 400, "갱신 토큰을 입력해주세요.");
    }
    // The refusals did not harm the real token.
    assert_eq!(session_refresh(&app, &refresh).await.status.as_u16(), 200);
}

crate::scenarios!(
    login_success_shape,
    login_wrong_credentials,
    login_format_rules,
    login_missing_fields,
    refresh_keeps_the_refresh_token,
    refresh_bad_tokens,
);
