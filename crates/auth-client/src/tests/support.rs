//! A stand-in issuer with a real signing key, its SET poll endpoint, and
//! token minting.
// The back-channel helpers are used by the actix tests only.
#![cfg_attr(not(feature = "actix"), allow(dead_code))]

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex as StdMutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use crate::events::{BACKCHANNEL_LOGOUT_EVENT, SESSION_REVOKED_EVENT, unix_now};
use crate::{AuthClient, RevocationList};

pub const CLIENT_ID: &str = "orders-client";
pub const CLIENT_SECRET: &str = "orders-secret";

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An Ed25519 signing key and its public JWK.
pub struct Key {
    pub kid: String,
    encoding: EncodingKey,
    pub jwk: Value,
}

impl Key {
    pub fn new(seed: u8, kid: &str) -> Self {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        let der = signing.to_pkcs8_der().unwrap();
        Self {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            jwk: json!({
                "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": kid,
                "x": b64(signing.verifying_key().as_bytes()),
            }),
        }
    }

    /// `claims` signed with this key, with header `typ` if given.
    pub fn sign(&self, typ: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = typ.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// What the poll endpoint received.
#[derive(Debug, Clone)]
pub struct Poll {
    pub authorization: Option<String>,
    pub body: Value,
}

/// The fake issuer.
pub struct Issuer {
    pub base: String,
    pub key: Key,
    pub polls: Arc<StdMutex<Vec<Poll>>>,
    /// Answers of the poll endpoint, in order; when empty, a short wait
    /// then no events.
    pub replies: Arc<StdMutex<VecDeque<(u16, Value)>>>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Issuer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

static JTI: AtomicUsize = AtomicUsize::new(0);

/// A unique id.
pub fn jti() -> String {
    format!(
        "jti-{}-{}",
        std::process::id(),
        JTI.fetch_add(1, Ordering::SeqCst)
    )
}

impl Issuer {
    pub async fn start() -> Self {
        let key = Key::new(7, "k1");
        let jwks = json!({"keys": [key.jwk]});
        let polls = Arc::new(StdMutex::new(Vec::new()));
        let replies = Arc::new(StdMutex::new(VecDeque::new()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (issuer, p, r) = (base.clone(), polls.clone(), replies.clone());
        let server = HttpServer::new(move || {
            let (issuer, jwks, polls, replies) = (issuer.clone(), jwks.clone(), p.clone(), r.clone());
            App::new()
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(move || {
                        let issuer = issuer.clone();
                        async move {
                            HttpResponse::Ok().json(json!({
                                "issuer": issuer,
                                "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
                            }))
                        }
                    }),
                )
                .route(
                    "/.well-known/jwks.json",
                    web::get().to(move || {
                        let jwks = jwks.clone();
                        async move { HttpResponse::Ok().json(jwks) }
                    }),
                )
                .route(
                    "/ssf/poll",
                    web::post().to(move |req: HttpRequest, body: web::Json<Value>| {
                        let (polls, replies) = (polls.clone(), replies.clone());
                        async move {
                            let authorization = req
                                .headers()
                                .get("authorization")
                                .map(|v| v.to_str().unwrap().to_owned());
                            polls.lock().unwrap().push(Poll {
                                authorization,
                                body: body.into_inner(),
                            });
                            let reply = replies.lock().unwrap().pop_front();
                            let (status, json) = match reply {
                                Some(reply) => reply,
                                None => {
                                    tokio::time::sleep(Duration::from_millis(50)).await;
                                    (200, json!({"sets": {}, "moreAvailable": false}))
                                }
                            };
                            HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                                .json(json)
                        }
                    }),
                )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            base,
            key,
            polls,
            replies,
            handle,
        }
    }

    /// A client of this issuer with client id and `list`.
    pub async fn client(&self, list: &RevocationList) -> AuthClient {
        AuthClient::builder(&self.base)
            .client_id(CLIENT_ID)
            .revocations(list.clone())
            .build()
            .await
            .unwrap()
    }

    /// An access token of the contracts (`typ: access`) for `sub`/`sid`.
    pub fn access(&self, sub: &str, sid: &str, iat: i64) -> String {
        self.key.sign(
            None,
            &json!({
                "sub": sub, "sid": sid, "iat": iat, "exp": unix_now() + 600,
                "iss": self.base, "aud": self.base, "typ": "access",
            }),
        )
    }

    /// The claims of a valid logout token for `sid` of `sub`.
    pub fn logout_claims(&self, sub: &str, sid: &str) -> Value {
        let now = unix_now();
        json!({
            "iss": self.base, "aud": CLIENT_ID, "iat": now, "exp": now + 120,
            "jti": jti(), "sub": sub, "sid": sid,
            "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        })
    }

    /// A valid logout token for `sid` of `sub`.
    pub fn logout(&self, sub: &str, sid: &str) -> String {
        self.key.sign(Some("logout+jwt"), &self.logout_claims(sub, sid))
    }

    /// The claims of a valid session-revoked SET.
    pub fn set_claims(&self, jti: &str, sub: &str, sid: Option<&str>) -> Value {
        let now = unix_now();
        let mut sub_id = json!({
            "format": "complex",
            "user": {"format": "iss_sub", "iss": self.base, "sub": sub},
        });
        if let Some(sid) = sid {
            sub_id["session"] = json!({"format": "opaque", "id": sid});
        }
        json!({
            "iss": self.base, "aud": CLIENT_ID, "iat": now, "jti": jti,
            "sub_id": sub_id,
            "events": {SESSION_REVOKED_EVENT: {
                "event_timestamp": now, "initiating_entity": "user",
                "reason_admin": {"en": "logout"},
            }},
        })
    }

    /// The poll requests received so far.
    pub fn polls(&self) -> Vec<Poll> {
        self.polls.lock().unwrap().clone()
    }

    /// Waits until at least `n` polls were received (10 s at most).
    pub async fn wait_polls(&self, n: usize) -> Vec<Poll> {
        for _ in 0..1000 {
            let polls = self.polls();
            if polls.len() >= n {
                return polls;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("fewer than {n} polls: {:?}", self.polls());
    }
}
