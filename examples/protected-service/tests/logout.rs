//! `/hello` refuses the token of a session the service heard ended, pushed
//! to `/backchannel-logout`; a stand-in issuer signs the tokens.
// Test code: a failed assumption is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{App, HttpResponse, HttpServer, web};
use auth_client::{AuthClient, RevocationList};
use base64::Engine as _;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const CLIENT_ID: &str = "protected-service";

fn now() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

fn sign(key: &EncodingKey, typ: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("k1".into());
    header.typ = typ.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// A stand-in issuer (discovery and JWKS); its signing key.
fn issuer() -> (String, EncodingKey) {
    let signing = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes());
    let jwks = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "k1", "x": x}]});
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let discovery = json!({"issuer": base, "jwks_uri": format!("{base}/jwks")});
    let server = HttpServer::new(move || {
        let (discovery, jwks) = (discovery.clone(), jwks.clone());
        App::new()
            .route(
                "/.well-known/openid-configuration",
                web::get().to(move || {
                    let d = discovery.clone();
                    async move { HttpResponse::Ok().json(d) }
                }),
            )
            .route(
                "/jwks",
                web::get().to(move || {
                    let j = jwks.clone();
                    async move { HttpResponse::Ok().json(j) }
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    let key = EncodingKey::from_ed_der(signing.to_pkcs8_der().unwrap().as_bytes());
    (base, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_refuses_a_session_ended_by_back_channel_logout() {
    let (base, key) = issuer();
    let auth = AuthClient::builder(&base)
        .client_id(CLIENT_ID)
        .revocations(RevocationList::new())
        .build()
        .await
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let service = format!("http://{}", listener.local_addr().unwrap());
    let server = protected_service::serve(listener, auth).unwrap();
    let handle = server.handle();
    tokio::spawn(server);

    let access = |sid: &str| {
        let claims = json!({"sub": "u1", "sid": sid, "iat": now(), "exp": now() + 600,
            "iss": base, "aud": base, "typ": "access"});
        sign(&key, None, &claims)
    };
    let (ended, other) = (access("s1"), access("s2"));
    let http = reqwest::Client::new();
    let hello = |token: String| http.get(format!("{service}/hello")).bearer_auth(token).send();
    assert_eq!(hello(ended.clone()).await.unwrap().status(), 200);

    let logout = sign(
        &key,
        Some("logout+jwt"),
        &json!({"iss": base, "aud": CLIENT_ID, "iat": now(), "exp": now() + 120, "jti": "j1",
            "sid": "s1", "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}),
    );
    let pushed = http
        .post(format!("{service}/backchannel-logout"))
        .form(&[("logout_token", &logout)])
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 200);
    assert_eq!(pushed.headers()["cache-control"], "no-store");
    assert_eq!(hello(ended).await.unwrap().status(), 401);
    assert_eq!(hello(other).await.unwrap().status(), 200);

    let replayed = http
        .post(format!("{service}/backchannel-logout"))
        .form(&[("logout_token", &logout)])
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 400);
    handle.stop(false).await;
}
