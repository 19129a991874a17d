//! `auth-client`'s `RevocationList` against the real server (issue 31):
//! the example service (`examples/protected-service`) refuses an access
//! token of a session that ended on another instance, hearing of it by a
//! pushed back-channel logout token or by polling `/ssf/poll`, with no
//! call to the server per request; a logout token that is forged or
//! addressed to another client is refused with 400 and changes nothing.

use std::time::{Duration, Instant};

use auth_client::{AuthClient, Poller, RevocationList};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::receiver::Receiver;
use crate::{Target, TestApp};

use super::oidc::admin;
use super::{jwt_claims, standard_logout};

crate::scenarios!(
    the_example_service_refuses_a_token_whose_session_ended,
    the_example_service_hears_of_ends_by_polling_the_feed,
);

/// How long the service may take to hear here (the benchmark measures
/// the real delay: docs/performance.md).
const WITHIN: Duration = Duration::from_secs(15);

/// The example service on a free port: its base URL and handle.
fn service(
    auth: AuthClient,
    push: bool,
    listener: std::net::TcpListener,
) -> (String, actix_web::dev::ServerHandle) {
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = protected_service::serve_with(listener, auth, push).unwrap();
    let handle = server.handle();
    tokio::spawn(server);
    (base, handle)
}

async fn hello(base: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/hello"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Waits until `/hello` refuses `token`; returns how long it took.
async fn refused_within(base: &str, token: &str) -> Duration {
    let start = Instant::now();
    while hello(base, token).await == 200 {
        assert!(
            start.elapsed() < WITHIN,
            "the service still accepts the token after {WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(hello(base, token).await, 401);
    start.elapsed()
}

async fn register(app: &TestApp, body: serde_json::Value) -> (String, String) {
    let mut spec =
        json!({"name": "Protected service", "grantTypes": ["client_credentials"], "allSessions": true});
    for (k, v) in body.as_object().unwrap() {
        spec[k] = v.clone();
    }
    let r = admin(app, "POST", "/internal/oauth-clients", Some(&spec)).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    (r.str("/clientId"), r.str("/clientSecret"))
}

async fn post_logout_token(base: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/backchannel-logout"))
        .form(&[("logout_token", token)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Push: the server posts the logout token to the service's
/// `/backchannel-logout`; the old token is refused, another session's is
/// not; forged and misaddressed logout tokens are refused with 400.
async fn the_example_service_refuses_a_token_whose_session_ended(target: &Target) {
    let app = TestApp::spawn_issuer(target, |_| {}).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (id, _) = register(
        &app,
        json!({"backchannelLogoutUri": format!("{base}/backchannel-logout"), "idTokenSignedResponseAlg": "ES256"}),
    )
    .await;
    // A second client whose tokens a receiver here collects: genuine
    // logout tokens, addressed to someone else.
    let rx = Receiver::start();
    register(&app, json!({"backchannelLogoutUri": rx.url("/other")})).await;
    let auth = AuthClient::builder(&app.base)
        .client_id(id)
        .revocations(RevocationList::new())
        .build()
        .await
        .unwrap();
    let (base, handle) = service(auth, true, listener);

    let user = app.new_user().await;
    let (ended, _) = app.standard_login(&user).await;
    let (kept, _) = app.standard_login(&user).await;
    assert_eq!(hello(&base, &ended).await, 200);
    // The session ends on another instance of the same deployment.
    let other = app.spawn_sibling().await;
    assert_eq!(standard_logout(&other, &ended).await.status.as_u16(), 200);
    refused_within(&base, &ended).await;
    assert_eq!(
        hello(&base, &kept).await,
        200,
        "another session of the user was refused"
    );

    // A genuine logout token for `kept`'s session, addressed to the other
    // client; then forgeries naming it. None has an effect.
    let kept_sid = jwt_claims(&kept)["sid"].as_str().unwrap().to_owned();
    let (access, _) = app.standard_login(&user).await;
    assert_eq!(standard_logout(&app, &access).await.status.as_u16(), 200);
    let misaddressed = rx
        .wait_for("/other", WITHIN, |t| {
            jwt_claims(t)["sid"] == jwt_claims(&access)["sid"]
        })
        .await;
    assert_eq!(post_logout_token(&base, &misaddressed).await, 400);
    let claims = json!({
        "iss": app.public_url(), "aud": "anyone", "iat": super::now_s(), "exp": super::now_s() + 60,
        "jti": "forged-1", "sub": jwt_claims(&kept)["sub"], "sid": kept_sid,
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    });
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"guess"),
    )
    .unwrap();
    let unsigned = format!(
        "{}.{}.",
        super::b64url(br#"{"alg":"none","typ":"logout+jwt"}"#),
        super::b64url(claims.to_string().as_bytes())
    );
    for forged in [hs.as_str(), unsigned.as_str(), "garbage", ""] {
        assert_eq!(post_logout_token(&base, forged).await, 400, "{forged}");
    }
    let r = reqwest::Client::new()
        .post(format!("{base}/backchannel-logout"))
        .header("content-type", "application/json")
        .body(json!({"logout_token": hs}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(
        hello(&base, &kept).await,
        200,
        "a refused logout token had an effect"
    );
    handle.stop(false).await;
}

/// Pull: the service's poller long-polls `/ssf/poll` with the client's
/// credentials and refuses the token once the SET arrives.
async fn the_example_service_hears_of_ends_by_polling_the_feed(target: &Target) {
    let app = TestApp::spawn_issuer(target, |c| {
        c.set("AUTH_SSF_POLL_WAIT_SECONDS", 5);
    })
    .await;
    let (id, secret) = register(&app, json!({})).await;
    let auth = AuthClient::builder(&app.base)
        .client_id(id)
        .revocations(RevocationList::new())
        .build()
        .await
        .unwrap();
    let poller = Poller::new(auth.clone(), secret).unwrap().spawn();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (base, handle) = service(auth, false, listener);

    let user = app.new_user().await;
    let (ended, _) = app.standard_login(&user).await;
    let (kept, _) = app.standard_login(&user).await;
    assert_eq!(hello(&base, &ended).await, 200);
    let r = admin(
        &app,
        "DELETE",
        &format!(
            "/internal/sessions/{}",
            jwt_claims(&ended)["sid"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    refused_within(&base, &ended).await;
    assert_eq!(hello(&base, &kept).await, 200);
    // The service acknowledged what it read: the feed is empty for it now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    poller.abort();
    handle.stop(false).await;
}
