//! Back-channel logout: the actix handler, `verify` and the extractor.

use actix_web::{App, HttpResponse, test, web};
use serde_json::{Value, json};

use super::support::{CLIENT_ID, Issuer, Key, b64};
use crate::actix::{Authenticated, backchannel_logout};
use crate::events::{BACKCHANNEL_LOGOUT_EVENT, unix_now};
use crate::{AuthClient, Error, RevocationList};

async fn hello(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({"sub": user.claims.sub}))
}

macro_rules! service {
    ($auth:expr) => {
        test::init_service(
            App::new()
                .app_data(web::Data::new($auth.clone()))
                .route("/backchannel-logout", web::post().to(backchannel_logout))
                .route("/hello", web::get().to(hello)),
        )
        .await
    };
}

fn form(token: &str) -> test::TestRequest {
    test::TestRequest::post()
        .uri("/backchannel-logout")
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload(format!("logout_token={token}"))
}

fn get_hello(token: &str) -> test::TestRequest {
    test::TestRequest::get()
        .uri("/hello")
        .insert_header(("authorization", format!("Bearer {token}")))
}

#[actix_web::test]
async fn a_logout_token_ends_its_session_only() {
    let issuer = Issuer::start().await;
    let list = RevocationList::new();
    let auth = issuer.client(&list).await;
    let app = service!(auth);
    let now = unix_now();
    let (ended, other) = (issuer.access("u1", "s1", now), issuer.access("u1", "s2", now));
    assert!(auth.verify(&ended).await.is_ok());

    let reply = test::call_service(&app, form(&issuer.logout("u1", "s1")).to_request()).await;
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.headers().get("cache-control").unwrap(), "no-store");
    assert!(list.is_session_ended("s1"));

    assert_eq!(auth.verify(&ended).await, Err(Error::Revoked));
    let refused = test::call_service(&app, get_hello(&ended).to_request()).await;
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().contains_key("www-authenticate"));
    assert!(auth.verify(&other).await.is_ok(), "another session still passes");
    assert_eq!(
        test::call_service(&app, get_hello(&other).to_request())
            .await
            .status(),
        200
    );
}

#[actix_web::test]
async fn a_sub_only_logout_ends_the_users_earlier_tokens() {
    let issuer = Issuer::start().await;
    let list = RevocationList::new();
    let auth = issuer.client(&list).await;
    let app = service!(auth);
    let now = unix_now();
    let mut claims = issuer.logout_claims("u1", "ignored");
    claims.as_object_mut().unwrap().remove("sid");
    let token = issuer.key.sign(Some("logout+jwt"), &claims);
    assert_eq!(
        test::call_service(&app, form(&token).to_request()).await.status(),
        200
    );
    assert!(list.is_user_ended("u1", now - 10));
    assert_eq!(
        auth.verify(&issuer.access("u1", "a", now - 10)).await,
        Err(Error::Revoked)
    );
    assert_eq!(
        auth.verify(&issuer.access("u1", "b", now)).await,
        Err(Error::Revoked)
    );
    assert!(
        auth.verify(&issuer.access("u1", "c", now + 5)).await.is_ok(),
        "signed in again later"
    );
    assert!(
        auth.verify(&issuer.access("u2", "d", now)).await.is_ok(),
        "another user"
    );
}

#[actix_web::test]
async fn an_audience_array_naming_the_client_is_accepted() {
    let issuer = Issuer::start().await;
    let list = RevocationList::new();
    let auth = issuer.client(&list).await;
    let app = service!(auth);
    let mut claims = issuer.logout_claims("u1", "s1");
    claims["aud"] = json!(["another", CLIENT_ID]);
    // No exp: the iat is recent enough; no typ header: allowed.
    claims.as_object_mut().unwrap().remove("exp");
    let token = issuer.key.sign(None, &claims);
    assert_eq!(
        test::call_service(&app, form(&token).to_request()).await.status(),
        200
    );
    assert!(list.is_session_ended("s1"));
}

/// A token from the parts, with a bogus signature.
fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes()),
        b64(&[0; 64])
    )
}

/// Why each case of the next test is refused.
fn expected_reason(case: &str) -> &'static str {
    match case {
        "forged" | "tampered" => "bad signature",
        "wrong aud" | "aud array without us" | "an access token" => "wrong audience",
        "wrong iss" => "wrong issuer",
        "expired" | "too old without exp" => "expired",
        "iat in the future" => "iat in the future",
        "no iat" => "no iat",
        "nonce" => "nonce",
        "no events" | "event not an object" | "other event" => "not a logout token",
        "neither sub nor sid" => "neither sub nor sid",
        "no jti" => "no jti",
        "typ JWT" => "wrong typ",
        "alg of another key" => "algorithm does not match the key",
        "alg none" | "garbage" => "malformed",
        "jku" => "names its own key",
        "unknown kid" => "unknown key",
        _ => "?",
    }
}

#[actix_web::test]
async fn invalid_logout_tokens_and_bodies_are_refused_and_change_nothing() {
    let issuer = Issuer::start().await;
    let list = RevocationList::new();
    let auth = issuer.client(&list).await;
    let app = service!(auth);
    let now = unix_now();
    let access = issuer.access("u1", "s1", now);
    let typ = Some("logout+jwt");
    let with = |change: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut claims = issuer.logout_claims("u1", "s1");
        change(claims.as_object_mut().unwrap());
        claims
    };
    let forger = Key::new(9, "k1");
    let mut cases: Vec<(&str, String)> = vec![
        ("forged", forger.sign(typ, &issuer.logout_claims("u1", "s1"))),
        (
            "wrong aud",
            issuer
                .key
                .sign(typ, &with(&|c| drop(c.insert("aud".into(), json!("other"))))),
        ),
        (
            "aud array without us",
            issuer
                .key
                .sign(typ, &with(&|c| drop(c.insert("aud".into(), json!(["a", "b"]))))),
        ),
        (
            "wrong iss",
            issuer.key.sign(
                typ,
                &with(&|c| drop(c.insert("iss".into(), json!("https://evil.example")))),
            ),
        ),
        (
            "expired",
            issuer.key.sign(
                typ,
                &with(&|c| {
                    c.insert("iat".into(), json!(now - 600));
                    c.insert("exp".into(), json!(now - 480));
                }),
            ),
        ),
        (
            "too old without exp",
            issuer.key.sign(
                typ,
                &with(&|c| {
                    c.remove("exp");
                    c.insert("iat".into(), json!(now - 3600));
                }),
            ),
        ),
        (
            "iat in the future",
            issuer
                .key
                .sign(typ, &with(&|c| drop(c.insert("iat".into(), json!(now + 3600))))),
        ),
        ("no iat", issuer.key.sign(typ, &with(&|c| drop(c.remove("iat"))))),
        (
            "nonce",
            issuer
                .key
                .sign(typ, &with(&|c| drop(c.insert("nonce".into(), json!("n"))))),
        ),
        (
            "no events",
            issuer.key.sign(typ, &with(&|c| drop(c.remove("events")))),
        ),
        (
            "event not an object",
            issuer.key.sign(
                typ,
                &with(&|c| {
                    c.insert("events".into(), json!({BACKCHANNEL_LOGOUT_EVENT: "yes"}));
                }),
            ),
        ),
        (
            "other event",
            issuer.key.sign(
                typ,
                &with(&|c| {
                    c.insert(
                        "events".into(),
                        json!({"http://schemas.openid.net/event/other": {}}),
                    );
                }),
            ),
        ),
        (
            "neither sub nor sid",
            issuer.key.sign(
                typ,
                &with(&|c| {
                    c.remove("sub");
                    c.remove("sid");
                }),
            ),
        ),
        ("no jti", issuer.key.sign(typ, &with(&|c| drop(c.remove("jti"))))),
        (
            "typ JWT",
            issuer.key.sign(Some("JWT"), &issuer.logout_claims("u1", "s1")),
        ),
        ("an access token", access.clone()),
        (
            "alg of another key",
            unsigned(
                &json!({"alg": "ES256", "kid": "k1", "typ": "logout+jwt"}),
                &issuer.logout_claims("u1", "s1"),
            ),
        ),
        (
            "alg none",
            unsigned(
                &json!({"alg": "none", "kid": "k1"}),
                &issuer.logout_claims("u1", "s1"),
            ),
        ),
        (
            "jku",
            unsigned(
                &json!({"alg": "EdDSA", "kid": "k1", "jku": "https://evil.example/jwks"}),
                &issuer.logout_claims("u1", "s1"),
            ),
        ),
        (
            "unknown kid",
            unsigned(
                &json!({"alg": "EdDSA", "kid": "k9"}),
                &issuer.logout_claims("u1", "s1"),
            ),
        ),
        ("garbage", "not.a.jwt".into()),
    ];
    // Tampered: a valid token whose sid was changed after signing.
    let genuine = issuer.logout("u1", "s2");
    let mut parts: Vec<String> = genuine.split('.').map(str::to_owned).collect();
    parts[1] = b64(issuer.logout_claims("u1", "s1").to_string().as_bytes());
    cases.push(("tampered", parts.join(".")));

    for (case, token) in &cases {
        let reply = test::call_service(&app, form(token).to_request()).await;
        assert_eq!(reply.status(), 400, "{case}");
        assert_eq!(
            reply.headers().get("cache-control").unwrap(),
            "no-store",
            "{case}"
        );
        let body: Value = test::read_body_json(reply).await;
        assert_eq!(body["error"], "invalid_request", "{case}");
        assert!(body["error_description"].is_string(), "{case}");
        let why = body["error_description"].as_str().unwrap();
        assert!(why.contains(expected_reason(case)), "{case}: {why}");
        assert!(list.is_empty(), "{case}: nothing recorded");
        assert!(
            auth.verify(&access).await.is_ok(),
            "{case}: the session still passes"
        );
    }

    // Malformed bodies.
    let good = issuer.logout("u1", "s1");
    let bodies: Vec<(&str, test::TestRequest)> = vec![
        (
            "json",
            test::TestRequest::post()
                .uri("/backchannel-logout")
                .set_json(json!({"logout_token": good})),
        ),
        (
            "no content type",
            test::TestRequest::post()
                .uri("/backchannel-logout")
                .set_payload(format!("logout_token={good}")),
        ),
        (
            "no logout_token",
            test::TestRequest::post()
                .uri("/backchannel-logout")
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(format!("token={good}")),
        ),
        (
            "two logout_tokens",
            test::TestRequest::post()
                .uri("/backchannel-logout")
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(format!("logout_token={good}&logout_token={good}")),
        ),
        ("empty", form("")),
        ("too large", form(&format!("{good}{}", "A".repeat(20 * 1024)))),
    ];
    for (case, request) in bodies {
        let reply = test::call_service(&app, request.to_request()).await;
        assert_eq!(reply.status(), 400, "{case}");
        let body: Value = test::read_body_json(reply).await;
        assert_eq!(body["error"], "invalid_request", "{case}");
        assert!(list.is_empty(), "{case}: nothing recorded");
    }
    assert!(auth.verify(&access).await.is_ok());
    let get = test::TestRequest::get().uri("/backchannel-logout").to_request();
    assert_eq!(test::call_service(&app, get).await.status(), 404, "POST only");
}

#[actix_web::test]
async fn a_replayed_jti_is_refused() {
    let issuer = Issuer::start().await;
    let list = RevocationList::new();
    let auth = issuer.client(&list).await;
    let app = service!(auth);
    let now = unix_now();
    let first = issuer.logout_claims("u1", "s1");
    let token = issuer.key.sign(Some("logout+jwt"), &first);
    assert_eq!(
        test::call_service(&app, form(&token).to_request()).await.status(),
        200
    );
    assert_eq!(list.len(), 1);

    let reply = test::call_service(&app, form(&token).to_request()).await;
    assert_eq!(reply.status(), 400, "the same token again");
    // Another session under the same jti: refused, not recorded.
    let mut second = issuer.logout_claims("u1", "s2");
    second["jti"] = first["jti"].clone();
    let replay = issuer.key.sign(Some("logout+jwt"), &second);
    let reply = test::call_service(&app, form(&replay).to_request()).await;
    assert_eq!(reply.status(), 400);
    let body: Value = test::read_body_json(reply).await;
    assert_eq!(body["error_description"], "invalid token: replayed jti");
    assert_eq!(list.len(), 1);
    assert!(!list.is_session_ended("s2"));
    assert!(auth.verify(&issuer.access("u1", "s2", now)).await.is_ok());
}

#[actix_web::test]
async fn without_a_list_or_client_id_the_handler_is_a_server_error() {
    let issuer = Issuer::start().await;
    let auth = AuthClient::builder(&issuer.base).build().await.unwrap();
    let app = service!(auth);
    let reply = test::call_service(&app, form(&issuer.logout("u1", "s1")).to_request()).await;
    assert_eq!(reply.status(), 500);
    assert_eq!(
        auth.receive_logout_token(&issuer.logout("u1", "s1"))
            .await
            .map(|_| ()),
        Err(Error::Config(
            "no revocation list: set Builder::revocations".into()
        ))
    );
    let list = RevocationList::new();
    let auth = AuthClient::builder(&issuer.base)
        .revocations(list.clone())
        .build()
        .await
        .unwrap();
    assert!(matches!(
        auth.receive_logout_token(&issuer.logout("u1", "s1")).await,
        Err(Error::Config(_))
    ));
    assert!(list.is_empty());
}
