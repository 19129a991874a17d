//! Forged tokens are refused on every endpoint that takes one, with a 4xx in
//! that endpoint's envelope and never a 2xx or 5xx; and a sign-up race of
//! 100 requests with one email makes exactly one account.

use std::sync::Arc;

use crate::ws::connect;
use crate::{Reply, Target, TestApp, unique_email, unique_login};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::{email_usable, now_s, sign_hs256};

const SECRET: &str = "forged-test-signing-secret-0123456789abcdef";

crate::scenarios!(
    forged_tokens_are_refused_everywhere,
    forged_app_tokens_are_refused_on_chat,
    hundred_parallel_sign_ups_make_one_account,
);

fn parts(token: &str) -> (String, Value) {
    let mut it = token.split('.');
    let header = it.next().unwrap().to_owned();
    let payload: Value = serde_json::from_slice(&B64.decode(it.next().unwrap()).unwrap()).unwrap();
    (header, payload)
}

fn enc(v: &Value) -> String {
    B64.encode(v.to_string())
}

/// Every forgery of `token` (a genuine token of ours): `(name, forged)`.
fn forgeries(token: &str, key: &[u8]) -> Vec<(String, String)> {
    let (header, claims) = parts(token);
    let signature = token.rsplit('.').next().unwrap();
    let mut tampered = claims.clone();
    tampered["exp"] = json!(claims["exp"].as_i64().unwrap() + 3600);
    let mut other_sub = claims.clone();
    other_sub["sub"] = json!("00000000-0000-4000-8000-000000000000");
    let mut expired = claims.clone();
    expired["iat"] = json!(now_s() - 7200);
    expired["exp"] = json!(now_s() - 3600);
    let mut out = vec![
        (
            "alg none".to_owned(),
            format!("{}.{}.", enc(&json!({"alg": "none", "typ": "JWT"})), enc(&claims)),
        ),
        (
            "alg None".to_owned(),
            format!("{}.{}.", enc(&json!({"alg": "None", "typ": "JWT"})), enc(&claims)),
        ),
        (
            "alg none, original signature".to_owned(),
            format!("{}.{}.{signature}", enc(&json!({"alg": "none"})), enc(&claims)),
        ),
        (
            "stripped signature".to_owned(),
            format!("{header}.{}.", enc(&claims)),
        ),
        (
            "no signature part".to_owned(),
            format!("{header}.{}", enc(&claims)),
        ),
        (
            "tampered exp".to_owned(),
            format!("{header}.{}.{signature}", enc(&tampered)),
        ),
        (
            "tampered sub".to_owned(),
            format!("{header}.{}.{signature}", enc(&other_sub)),
        ),
        (
            "wrong key".to_owned(),
            sign_hs256(b"not-the-server-key-0123456789abcdef", &claims),
        ),
        ("empty key".to_owned(), sign_hs256(b"", &claims)),
        ("expired, right key".to_owned(), sign_hs256(key, &expired)),
        (
            "HS512, right key".to_owned(),
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS512),
                &claims,
                &EncodingKey::from_secret(key),
            )
            .unwrap(),
        ),
    ];
    out.retain(|(_, t)| t != token);
    out
}

#[track_caller]
fn assert_refused(what: &str, reply: &Reply) {
    let s = reply.status.as_u16();
    assert!((400..500).contains(&s), "{what}: got {s} {}", reply.text);
    assert!(!reply.text.is_empty(), "{what}: empty body");
}

async fn forged_tokens_are_refused_everywhere(target: &Target) {
    let app = TestApp::spawn_with(target, |c| {
        c.set("AUTH_JWT_SECRET", SECRET);
    })
    .await;
    let key = SECRET.as_bytes();
    let user = app.new_user().await;
    let (access, _) = app.standard_login(&user).await;
    // Sanity: our own re-signing of the genuine claims is accepted, so the
    // forgeries below fail for their forgery, not for a wrong setup.
    let (_, claims) = parts(&access);
    let resigned = sign_hs256(key, &claims);
    let ok = app
        .post_empty("/api/auth/logout", Some(&format!("Bearer {resigned}")))
        .await;
    assert_eq!(ok.status.as_u16(), 200, "re-signed genuine token: {}", ok.text);
    let (access, refresh) = app.standard_login(&user).await;

    let mut access_forgeries = forgeries(&access, key);
    access_forgeries.push(("refresh as access".to_owned(), refresh.clone()));
    let mut refresh_forgeries = forgeries(&refresh, key);
    refresh_forgeries.push(("access as refresh".to_owned(), access.clone()));

    for (name, forged) in &access_forgeries {
        let what = format!("standard logout, {name}");
        let r = app
            .post_empty("/api/auth/logout", Some(&format!("Bearer {forged}")))
            .await;
        assert_refused(&what, &r);
        assert_eq!(r.json["status"], 401, "{what}: {}", r.text);
        // `reissue-token` takes an expired access token by design (that is
        // when clients reissue); its signature and kind are still checked.
        if name != "expired, right key" {
            let what = format!("standard reissue (access), {name}");
            let r = app
                .post(
                    "/api/auth/reissue-token",
                    &json!({"accessToken": forged, "refreshToken": refresh}),
                )
                .await;
            assert_refused(&what, &r);
        }
        let what = format!("ws handshake, {name}");
        let refused = connect(&app.ws_url(&format!("token={forged}")), &[]).await;
        match refused {
            Ok(_) => panic!("{what}: socket opened"),
            Err((status, _)) => assert_eq!(status, 401, "{what}"),
        }
        let bearer = format!("Bearer {forged}");
        let refused = connect(&app.ws_url(""), &[("authorization", &bearer)]).await;
        assert!(matches!(refused, Err((401, _))), "{what} (header)");
    }
    for (name, forged) in &refresh_forgeries {
        let what = format!("standard reissue (refresh), {name}");
        let r = app
            .post(
                "/api/auth/reissue-token",
                &json!({"accessToken": access, "refreshToken": forged}),
            )
            .await;
        assert_refused(&what, &r);
        let what = format!("session refresh, {name}");
        let r = app
            .post("/api/token/refresh", &json!({"refreshToken": forged}))
            .await;
        assert_refused(&what, &r);
        assert_eq!(r.json["success"], false, "{what}: {}", r.text);
        let what = format!("picsel refresh, {name}");
        let r = app
            .post("/api/auth/refresh", &json!({"refresh_token": forged}))
            .await;
        assert_refused(&what, &r);
        assert!(r.json["errorType"].is_string(), "{what}: {}", r.text);
        let what = format!("picsel logout, {name}");
        let r = app
            .post("/api/auth/logout", &json!({"refresh_token": forged}))
            .await;
        assert_refused(&what, &r);
    }
    // None of that touched the genuine session.
    let r = app
        .post(
            "/api/auth/reissue-token",
            &json!({"accessToken": access, "refreshToken": refresh}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "the genuine pair: {}", r.text);
}

async fn forged_app_tokens_are_refused_on_chat(target: &Target) {
    let app = TestApp::spawn(target).await;
    let register = |name: &'static str| {
        let app = &app;
        async move {
            let reply = app
                .post_with("/internal/apps", &json!({"name": name}), Some(&app.admin_token()))
                .await;
            assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
            (reply.str("/appId"), reply.str("/secret"))
        }
    };
    let (app_id, secret) = register("Mine").await;
    let (other_id, other_secret) = register("Other").await;
    let claims = json!({"sub": "user-1", "app_id": app_id, "iat": now_s(), "exp": now_s() + 600});
    let genuine = sign_hs256(secret.as_bytes(), &claims);
    let profile = json!({"userId": "user-1", "nickname": "닉", "friends": []}).to_string();
    let login = |token: String| {
        let (app, app_id, profile) = (&app, app_id.clone(), profile.clone());
        async move {
            app.post_raw_headers(
                "/auth/login",
                profile,
                &[("App-Id", &app_id), ("Authorization", &token)],
            )
            .await
        }
    };
    let ok = login(genuine.clone()).await;
    assert_eq!(ok.status.as_u16(), 200, "genuine app token: {}", ok.text);
    let mut cases = forgeries(&genuine, secret.as_bytes());
    let other_claims = json!({"sub": "user-1", "app_id": other_id, "iat": now_s(), "exp": now_s() + 600});
    cases.push((
        "another app's token".to_owned(),
        sign_hs256(other_secret.as_bytes(), &other_claims),
    ));
    cases.push((
        "another app's key, this app id".to_owned(),
        sign_hs256(other_secret.as_bytes(), &claims),
    ));
    for (name, forged) in cases {
        let r = login(forged).await;
        assert_refused(&format!("chat login, {name}"), &r);
    }
}

async fn hundred_parallel_sign_ups_make_one_account(target: &Target) {
    let app = Arc::new(TestApp::spawn(target).await);
    let (login, email) = (unique_login(), unique_email());
    app.verify_email(&email, &login).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let (app, email) = (app.clone(), email.clone());
        // Half race with the verified authId, half with others (which the
        // verification does not admit).
        let login = if i % 2 == 0 { login.clone() } else { unique_login() };
        tasks.spawn(async move {
            app.post(
                "/api/auth/sign-up",
                &json!({"authId": login, "password": "Password123!", "name": "동시", "email": email}),
            )
            .await
        });
    }
    let mut ok = 0;
    while let Some(reply) = tasks.join_next().await {
        let reply = reply.unwrap();
        match reply.status.as_u16() {
            200 => ok += 1,
            s => assert!(
                (400..500).contains(&s),
                "a racing sign-up got {s}: {}",
                reply.text
            ),
        }
    }
    assert_eq!(ok, 1, "exactly one sign-up with one email may succeed");
    assert!(!email_usable(&app, &email).await);
}
