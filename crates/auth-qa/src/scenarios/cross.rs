//! One identity behind every contract: one user base, one token authority,
//! one session store; and the `picsel`/`standard` path sharing.

use crate::{Target, TestApp};
use serde_json::json;

use super::{
    account_sign_in, assert_keys, assert_picsel_invalid_refresh, assert_reply,
    assert_session_invalid_refresh, assert_standard_error, picsel_refresh, picsel_tokens, reissue,
    session_login, session_refresh, standard_logout,
};

const INVALID_REFRESH: &str = "유효하지 않은 리프레시 토큰입니다.";

async fn standard_logout_revokes_session_refresh(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (access, refresh) = app.standard_login(&user).await;
    assert_eq!(session_refresh(&app, &refresh).await.status.as_u16(), 200);
    assert_eq!(picsel_refresh(&app, &refresh).await.status.as_u16(), 200);
    assert_eq!(standard_logout(&app, &access).await.status.as_u16(), 200);
    assert_session_invalid_refresh(&session_refresh(&app, &refresh).await);
    assert_picsel_invalid_refresh(&picsel_refresh(&app, &refresh).await);
}

async fn picsel_logout_revokes_every_contract(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (access, refresh) = session_login(&app, &user).await;
    let reply = app
        .post("/api/auth/logout", &json!({"refresh_token": refresh}))
        .await;
    assert_reply(&reply, 200, &json!({"message": "로그아웃 성공"}));
    assert_session_invalid_refresh(&session_refresh(&app, &refresh).await);
    assert_standard_error(&reissue(&app, &access, &refresh).await, 401, INVALID_REFRESH);
}

async fn withdrawal_kills_every_token(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let bystander = app.new_user().await;
    let (std_access, std_refresh) = app.standard_login(&user).await;
    let (sess_access, sess_refresh) = session_login(&app, &user).await;
    let (pic_access, pic_refresh) = picsel_tokens(&app, &user).await;
    let _account_token = account_sign_in(&app, &user).await;
    let (by_access, by_refresh) = app.standard_login(&bystander).await;

    let reply = app
        .post(
            "/api/auth/withdrawal",
            &json!({"authId": user.login, "password": user.password}),
        )
        .await;
    assert_reply(&reply, 200, &json!({"data": {"status": true}, "error": null}));

    for refresh in [&std_refresh, &sess_refresh, &pic_refresh] {
        assert_session_invalid_refresh(&session_refresh(&app, refresh).await);
        assert_picsel_invalid_refresh(&picsel_refresh(&app, refresh).await);
    }
    for (access, refresh) in [
        (&std_access, &std_refresh),
        (&sess_access, &sess_refresh),
        (&pic_access, &pic_refresh),
    ] {
        assert_standard_error(&reissue(&app, access, refresh).await, 401, INVALID_REFRESH);
    }
    // Other users are untouched.
    let reply = reissue(&app, &by_access, &by_refresh).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
}

async fn session_login_standard_reissue(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (access, refresh) = session_login(&app, &user).await;
    let reply = reissue(&app, &access, &refresh).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_keys(
        &reply.json,
        &["accessToken", "refreshToken", "accessTokenExpiresIn"],
    );
    let new_refresh = reply.str("/refreshToken");
    // The new refresh token works in the session contract; the spent one is reuse.
    assert_eq!(session_refresh(&app, &new_refresh).await.status.as_u16(), 200);
    assert_session_invalid_refresh(&session_refresh(&app, &refresh).await);
    // ... which revoked the session, so the new one is dead too.
    assert_session_invalid_refresh(&session_refresh(&app, &new_refresh).await);

    // And the other way round: picsel login, standard reissue, picsel refresh.
    let (access, refresh) = picsel_tokens(&app, &user).await;
    let reply = reissue(&app, &access, &refresh).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_eq!(
        picsel_refresh(&app, &reply.str("/refreshToken"))
            .await
            .status
            .as_u16(),
        200
    );
}

async fn login_dispatch(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    // `email` → picsel.
    let reply = app
        .post(
            "/api/auth/login",
            &json!({"email": user.email, "password": user.password}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_keys(&reply.json, &["message", "data"]);
    // `email` wins over `username`.
    let reply = app
        .post(
            "/api/auth/login",
            &json!({"email": user.email, "username": user.login, "password": user.password}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_keys(&reply.json, &["message", "data"]);
    // `username` → standard.
    let reply = app
        .post(
            "/api/auth/login",
            &json!({"username": user.login, "password": user.password}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_keys(
        &reply.json,
        &["accessToken", "refreshToken", "accessTokenExpiresIn"],
    );
    // Neither → standard's 400.
    for body in [
        json!({}),
        json!({"password": user.password}),
        json!({"userId": user.login}),
    ] {
        let reply = app.post("/api/auth/login", &body).await;
        assert_standard_error(&reply, 400, "username : must not be blank");
    }
    // Failures stay in each contract's envelope.
    let reply = app
        .post(
            "/api/auth/login",
            &json!({"email": user.email, "password": "nope-nope"}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 401);
    assert_eq!(
        reply.json["errorType"],
        json!("UnauthorizedException"),
        "{}",
        reply.text
    );
    let reply = app
        .post(
            "/api/auth/login",
            &json!({"username": user.login, "password": "nope-nope"}),
        )
        .await;
    assert_standard_error(&reply, 401, "잘못된 자격증명입니다.");
}

async fn logout_dispatch(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    // `refresh_token` → picsel, even with a bearer of another session.
    let (access_a, refresh_a) = app.standard_login(&user).await;
    let (_access_b, refresh_b) = app.standard_login(&user).await;
    let reply = app
        .post_with(
            "/api/auth/logout",
            &json!({"refresh_token": refresh_b}),
            Some(&access_a),
        )
        .await;
    assert_reply(&reply, 200, &json!({"message": "로그아웃 성공"}));
    assert_session_invalid_refresh(&session_refresh(&app, &refresh_b).await);
    assert_eq!(session_refresh(&app, &refresh_a).await.status.as_u16(), 200);
    // A bad `refresh_token` is picsel's 401, a bearer does not rescue it.
    let reply = app
        .post_with(
            "/api/auth/logout",
            &json!({"refresh_token": "garbage"}),
            Some(&access_a),
        )
        .await;
    assert_picsel_invalid_refresh(&reply);
    assert_eq!(session_refresh(&app, &refresh_a).await.status.as_u16(), 200);
    // No `refresh_token` → standard, by bearer.
    let reply = app
        .post_with("/api/auth/logout", &json!({}), Some(&access_a))
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_session_invalid_refresh(&session_refresh(&app, &refresh_a).await);
    let reply = app
        .post("/api/auth/logout", &json!({"refreshToken": refresh_a}))
        .await;
    assert_standard_error(&reply, 401, "인증이 필요합니다.");
}

async fn one_user_base(target: &Target) {
    // An account made through `account` logs in through every contract,
    // with the same identity.
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (a1, _) = app.standard_login(&user).await;
    let (a2, _) = session_login(&app, &user).await;
    let picsel = super::picsel_login(&app, &user.email, &user.password).await;
    let uuid = picsel.str("/data/user/uuid");
    let a3 = picsel.str("/data/accessToken");
    let a4 = account_sign_in(&app, &user).await;
    for access in [a1, a2, a3, a4] {
        // The JWT `sub` is the user's uuid, whichever contract issued it.
        assert_eq!(
            super::jwt_claims(&access)["sub"],
            json!(uuid),
            "claims of {access}"
        );
        assert_eq!(standard_logout(&app, &access).await.status.as_u16(), 200);
    }
}

async fn prefix_separates_the_shared_paths(target: &Target) {
    let app = TestApp::spawn_with(target, |c| {
        c.set("AUTH_CONTRACTS__PICSEL__PREFIX", "/picsel");
    })
    .await;
    let user = app.new_user().await;
    // `/api/auth/login` is now only standard's: an email body is a blank username.
    let reply = app
        .post(
            "/api/auth/login",
            &json!({"email": user.email, "password": user.password}),
        )
        .await;
    assert_standard_error(&reply, 400, "username : must not be blank");
    let reply = app
        .post(
            "/picsel/api/auth/login",
            &json!({"email": user.email, "password": user.password}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_keys(&reply.json, &["message", "data"]);
    let refresh = reply.str("/data/refreshToken");
    assert_eq!(
        app.post("/api/auth/refresh", &json!({"refresh_token": refresh}))
            .await
            .status
            .as_u16(),
        404
    );
    let reply = app
        .post("/picsel/api/auth/refresh", &json!({"refresh_token": refresh}))
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    // Tokens stay one authority across prefixes.
    assert_eq!(session_refresh(&app, &refresh).await.status.as_u16(), 200);
}

async fn disabled_contract_is_not_served(target: &Target) {
    let app = TestApp::spawn_with(target, |c| {
        c.set("AUTH_CONTRACTS__STANDARD__ENABLED", false);
    })
    .await;
    let user = app.new_user().await;
    let (access, refresh) = picsel_tokens(&app, &user).await;
    assert_eq!(reissue(&app, &access, &refresh).await.status.as_u16(), 404);
    // `/api/auth/login` is picsel's alone now.
    let reply = app
        .post(
            "/api/auth/login",
            &json!({"username": user.login, "password": user.password}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 400, "{}", reply.text);
    assert_eq!(reply.json["statusCode"], json!(400), "{}", reply.text);
    assert_eq!(
        reply.json["error"]["details"],
        json!({"field": "email"}),
        "{}",
        reply.text
    );
}

crate::scenarios!(
    tokens_survive_a_restart_without_a_configured_secret,
    prefix_separates_the_shared_paths,
    disabled_contract_is_not_served,
    standard_logout_revokes_session_refresh,
    picsel_logout_revokes_every_contract,
    withdrawal_kills_every_token,
    session_login_standard_reissue,
    login_dispatch,
    logout_dispatch,
    one_user_base,
);

/// Without `AUTH_JWT_SECRET` the signing key is generated once and kept in
/// the database: a restarted (or second) instance on the same database
/// accepts the tokens the first one issued.
async fn tokens_survive_a_restart_without_a_configured_secret(target: &Target) {
    let first = TestApp::spawn_with(target, |c| {
        c.unset("AUTH_JWT_SECRET");
    })
    .await;
    let user = first.new_user().await;
    let (access, refresh) = first.standard_login(&user).await;
    // In QA mode there is no second instance to start.
    let restarted = first.spawn_sibling().await;
    let r = restarted
        .post(
            "/api/token/refresh",
            &serde_json::json!({"refreshToken": refresh}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let r = restarted
        .post_empty("/api/auth/logout", Some(&format!("Bearer {access}")))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
}
