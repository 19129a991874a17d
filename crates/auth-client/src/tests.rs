//! Unit tests of `src`.

use super::*;
use crate::keys::max_age;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A stand-in issuer counting key-set fetches.
async fn issuer(cache_control: &'static str) -> (String, Arc<AtomicUsize>) {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let fetches = Arc::new(AtomicUsize::new(0));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (count, issuer) = (fetches.clone(), base.clone());
    let server = HttpServer::new(move || {
        let (count, issuer) = (count.clone(), issuer.clone());
        App::new()
            .route(
                "/.well-known/openid-configuration",
                web::get().to(move || {
                    let issuer = issuer.clone();
                    async move {
                        HttpResponse::Ok().json(serde_json::json!({
                            "issuer": issuer,
                            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
                        }))
                    }
                }),
            )
            .route(
                "/.well-known/jwks.json",
                web::get().to(move || {
                    count.fetch_add(1, Ordering::SeqCst);
                    async move {
                        HttpResponse::Ok()
                            .insert_header(("Cache-Control", cache_control))
                            .json(serde_json::json!({"keys": []}))
                    }
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (base, fetches)
}

fn token_with_kid(kid: &str) -> String {
    use base64::Engine as _;
    let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.c2ln",
        b64(serde_json::json!({"alg": "ES256", "kid": kid})),
        b64(serde_json::json!({}))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kids_refetch_at_a_bounded_rate() {
    let (base, fetches) = issuer("public, max-age=300").await;
    let client = AuthClient::builder(&base)
        .min_refetch_interval(Duration::from_secs(3600))
        .build()
        .await
        .unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    for i in 0..50 {
        let verdict = client.verify(&token_with_kid(&format!("forged-{i}"))).await;
        assert_eq!(verdict, Err(Error::Invalid("unknown key")));
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "no refetch within the interval"
    );
    // With a short interval, an unknown kid refetches once per interval.
    let client = AuthClient::builder(&base)
        .min_refetch_interval(Duration::from_millis(1))
        .build()
        .await
        .unwrap();
    let before = fetches.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let _ = client.verify(&token_with_kid("new-key")).await;
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        before + 1,
        "refetched on the unknown kid"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_no_store_key_set_is_refetched_when_stale() {
    let (base, fetches) = issuer("no-store").await;
    let client = AuthClient::builder(&base)
        .min_refetch_interval(Duration::from_millis(1))
        .build()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let _ = client.verify(&token_with_kid("k")).await;
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[test]
fn hmac_and_none_are_never_allowed() {
    let b = AuthClient::builder("https://auth.example.com").algorithms(&[Algorithm::HS256, Algorithm::ES256]);
    assert_eq!(b.algorithms, [Algorithm::ES256]);
}

#[test]
fn cache_control_max_age() {
    assert_eq!(max_age("public, max-age=300"), Some(Duration::from_secs(300)));
    assert_eq!(max_age("no-store"), Some(Duration::ZERO));
    assert_eq!(max_age("max-age=60, no-cache"), Some(Duration::ZERO));
    assert_eq!(max_age("public"), None);
    assert_eq!(max_age("max-age=junk"), None);
}

#[test]
fn rfc_9068_header_types_are_recognised() {
    for typ in ["at+jwt", "AT+JWT", "application/at+jwt", "Application/At+Jwt"] {
        assert!(is_at_jwt(Some(typ)), "{typ}");
    }
    for typ in [
        None,
        Some("JWT"),
        Some("at+jwt2"),
        Some("application/jwt"),
        Some(""),
    ] {
        assert!(!is_at_jwt(typ), "{typ:?}");
    }
}

#[cfg(feature = "actix")]
mod backchannel;
mod list;
mod poll;
mod support;
