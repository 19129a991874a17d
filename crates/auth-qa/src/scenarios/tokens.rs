//! Tokens other services verify on their own (issue 13): the JWKS and
//! discovery documents, verification by third-party code from the issuer
//! URL alone, introspection, key rotation across instances, forged tokens
//! (server and `auth-client`), and the example service.

use std::time::Duration;

use crate::{Target, TestApp};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

use super::now_s;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The decoded header and claims of a JWT (unverified).
fn parts(token: &str) -> (Value, Value) {
    let mut it = token.split('.');
    let mut next = || {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(it.next().unwrap())
            .unwrap();
        serde_json::from_slice::<Value>(&raw).unwrap()
    };
    let header = next();
    (header, next())
}

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.get_headers("/api/auth/me", &[("authorization", &format!("Bearer {token}"))])
        .await
        .status
        .as_u16()
}

/// Discovery from the issuer URL only, then verification of a server-issued
/// token with jsonwebtoken's JWK support (not our code).
async fn third_party_verifies_from_the_issuer_url(target: &Target) {
    let app = TestApp::spawn_issuer(target, |_| {}).await;
    let issuer = app.base.clone();
    let http = reqwest::Client::new();
    let discovery: Value = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], issuer.as_str());
    assert_eq!(
        discovery["introspection_endpoint"],
        format!("{issuer}/oauth2/introspect")
    );
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256", "EdDSA"])
    );
    let jwks_uri = discovery["jwks_uri"].as_str().unwrap();
    let response = http.get(jwks_uri).send().await.unwrap();
    let cache = response.headers()["cache-control"].to_str().unwrap().to_owned();
    assert!(cache.contains("public") && cache.contains("max-age="), "{cache}");
    let jwks: jsonwebtoken::jwk::JwkSet = response.json().await.unwrap();
    // The access key, then one ID-token key each of RS256, ES256, EdDSA.
    assert_eq!(jwks.keys.len(), 4);
    assert_eq!(jwk_algs(&jwks), ["ES256", "RS256", "ES256", "EdDSA"]);

    let user = app.new_user().await;
    let (access, refresh) = app.standard_login(&user).await;
    let (header, claims) = parts(&access);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["aud"], issuer.as_str());
    assert_eq!(claims["typ"], "access");
    for claim in ["sub", "sid", "iat", "exp"] {
        assert!(claims.get(claim).is_some(), "{claim} in {claims}");
    }
    let kid = header["kid"].as_str().unwrap();
    let jwk = jwks.find(kid).expect("the token's key is published");
    assert_eq!(
        jwk.common.public_key_use,
        Some(jsonwebtoken::jwk::PublicKeyUse::Signature)
    );
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[&issuer]);
    validation.set_audience(&[&issuer]);
    let verified = jsonwebtoken::decode::<Value>(&access, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .expect("a third-party verifier accepts our token");
    assert_eq!(verified.claims["sub"], claims["sub"]);
    // The refresh token is ours only: not verifiable with the public keys.
    assert!(
        jsonwebtoken::decode::<Value>(&refresh, &DecodingKey::from_jwk(jwk).unwrap(), &validation).is_err()
    );
}

/// The `alg` of each published key, in order.
fn jwk_algs(jwks: &jsonwebtoken::jwk::JwkSet) -> Vec<String> {
    jwks.keys
        .iter()
        .map(|k| {
            serde_json::to_value(k).unwrap()["alg"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// Every algorithm serves a publishable key; HS256 publishes no access
/// key (the ID-token keys are published in every mode).
async fn each_algorithm_signs_and_publishes(target: &Target) {
    for (alg, jwt_alg) in [("EdDSA", Algorithm::EdDSA), ("RS256", Algorithm::RS256)] {
        let app = TestApp::spawn_issuer(target, |c| {
            c.set("AUTH_JWT_ALGORITHM", alg);
        })
        .await;
        let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(format!("{}/.well-known/jwks.json", app.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let user = app.new_user().await;
        let (access, _) = app.standard_login(&user).await;
        let (header, _) = parts(&access);
        assert_eq!(header["alg"], alg);
        let jwk = jwks.find(header["kid"].as_str().unwrap()).unwrap();
        let mut validation = Validation::new(jwt_alg);
        validation.set_audience(&[&app.base]);
        jsonwebtoken::decode::<Value>(&access, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(me_status(&app, &access).await, 200, "{alg}");
    }
    let app = TestApp::spawn_issuer(target, |c| {
        c.set("AUTH_JWT_ALGORITHM", "HS256");
    })
    .await;
    let jwks = app.get("/.well-known/jwks.json").await;
    let published: Vec<&str> = jwks.json["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert_eq!(
        published,
        ["RS256", "ES256", "EdDSA"],
        "ID-token keys only: {}",
        jwks.json
    );
    let user = app.new_user().await;
    let (access, _) = app.standard_login(&user).await;
    assert_eq!(parts(&access).0["alg"], "HS256");
    assert!(!jwks.text.contains(parts(&access).0["kid"].as_str().unwrap()));
    assert_eq!(me_status(&app, &access).await, 200);
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

async fn introspect(app: &TestApp, authorization: Option<&str>, token: &str) -> crate::Reply {
    let body = format!("token={}", token);
    let mut headers = vec![(
        "content-type".to_owned(),
        "application/x-www-form-urlencoded".to_owned(),
    )];
    if let Some(a) = authorization {
        headers.push(("authorization".to_owned(), a.to_owned()));
    }
    app.request("POST", "/oauth2/introspect", &headers, body.into_bytes())
        .await
}

async fn register_app(app: &TestApp) -> (String, String) {
    let registered = app
        .post_with(
            "/internal/apps",
            &json!({"name": "orders"}),
            Some(&app.admin_token()),
        )
        .await;
    assert_eq!(registered.status.as_u16(), 201, "{}", registered.text);
    (registered.str("/appId"), registered.str("/secret"))
}

/// Introspection: active with the standard fields for a live token,
/// `{"active": false}` for anything else, 401 without valid credentials.
async fn introspection_reports_revocation_at_once(target: &Target) {
    let app = TestApp::spawn_issuer(target, |_| {}).await;
    let (id, secret) = register_app(&app).await;
    let client = basic(&id, &secret);
    let user = app.new_user().await;
    let (access, refresh) = app.standard_login(&user).await;
    let (_, claims) = parts(&access);

    let live = introspect(&app, Some(&client), &access).await;
    assert_eq!(live.status.as_u16(), 200, "{}", live.text);
    assert_eq!(live.json["active"], true);
    for field in ["sub", "sid", "exp", "iat", "iss", "aud"] {
        assert_eq!(live.json[field], claims[field], "{field}: {}", live.text);
    }
    assert_eq!(live.json["token_type"], "Bearer");
    let admin = format!("Bearer {}", app.admin_token());
    assert_eq!(introspect(&app, Some(&admin), &access).await.json["active"], true);

    // No, wrong or malformed credentials: 401, never the token's details.
    for bad in [
        None,
        Some(basic(&id, "0".repeat(64).as_str())),
        Some(basic("app_000000000000000000000000", &secret)),
        Some(basic(&id, "")),
        Some("Basic !!!".to_owned()),
        Some("Bearer not-the-admin-token-0123456789abcdef".to_owned()),
        Some(format!("Bearer {access}")),
    ] {
        let r = introspect(&app, bad.as_deref(), &access).await;
        assert_eq!(r.status.as_u16(), 401, "{bad:?}: {}", r.text);
        assert_eq!(r.json["error"], "invalid_client");
        assert!(!r.text.contains(claims["sub"].as_str().unwrap()), "{}", r.text);
        assert!(
            r.headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
    }
    // Not live: garbage, a refresh token, a tampered token.
    let tampered = format!("{}x", &access[..access.len() - 1]);
    for token in ["garbage", refresh.as_str(), tampered.as_str()] {
        let r = introspect(&app, Some(&client), token).await;
        assert_eq!(r.json, json!({"active": false}), "{token}");
    }
    // No token field: 400.
    let r = app
        .request(
            "POST",
            "/oauth2/introspect",
            &[
                ("content-type".into(), "application/x-www-form-urlencoded".into()),
                ("authorization".into(), client.clone()),
            ],
            b"nothing=here".to_vec(),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    assert_eq!(r.json["error"], "invalid_request");

    // Logout: inactive at once (while /api/auth/me, stateless, still says 200).
    let out = app
        .post_empty("/api/auth/logout", Some(&format!("Bearer {access}")))
        .await;
    assert_eq!(out.status.as_u16(), 200, "{}", out.text);
    assert_eq!(
        introspect(&app, Some(&client), &access).await.json,
        json!({"active": false})
    );
    assert_eq!(me_status(&app, &access).await, 200);

    // Withdrawal: inactive at once.
    let other = app.new_user().await;
    let (access, _) = app.standard_login(&other).await;
    assert_eq!(
        introspect(&app, Some(&client), &access).await.json["active"],
        true
    );
    let gone = app
        .post(
            "/api/auth/withdrawal",
            &json!({"authId": other.login, "password": other.password}),
        )
        .await;
    assert_eq!(gone.status.as_u16(), 200, "{}", gone.text);
    assert_eq!(
        introspect(&app, Some(&client), &access).await.json,
        json!({"active": false})
    );
}

/// An expired token is inactive.
async fn introspection_of_an_expired_token(target: &Target) {
    let app = TestApp::spawn_issuer(target, |c| {
        c.set("AUTH_ACCESS_TTL_SECONDS", 1);
    })
    .await;
    let user = app.new_user().await;
    let (access, _) = app.standard_login(&user).await;
    let admin = format!("Bearer {}", app.admin_token());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        introspect(&app, Some(&admin), &access).await.json,
        json!({"active": false})
    );
}

/// The `kid`s of the published access keys: the JWKS lists them first,
/// then the ID-token keys (3 per rotation plus the first 3), which
/// `id_rotations` counts.
async fn jwks_kids(app: &TestApp, id_rotations: usize) -> Vec<String> {
    let jwks = app.get("/.well-known/jwks.json").await;
    let kids: Vec<String> = jwks.json["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    let id_keys = 3 * (id_rotations + 1);
    assert!(kids.len() >= id_keys, "{}", jwks.json);
    kids[..kids.len() - id_keys].to_vec()
}

async fn rotate(app: &TestApp, activate_now: bool) -> Value {
    let r = app
        .post_with(
            "/internal/keys/rotate",
            &json!({"activateNow": activate_now}),
            Some(&app.admin_token()),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    r.json
}

/// A rotation is published at once, used by every instance within 5 s,
/// and tokens of the old key keep verifying on both.
async fn rotation_across_two_instances(target: &Target) {
    let a = TestApp::spawn_issuer(target, |c| {
        c.set("AUTH_JWT_KEY_REFRESH_SECONDS", 1);
    })
    .await;
    let b = a.spawn_sibling().await;
    let user = a.new_user().await;
    let (old_token, _) = a.standard_login(&user).await;
    let old_kid = parts(&old_token).0["kid"].as_str().unwrap().to_owned();
    assert_eq!(jwks_kids(&b, 0).await, std::slice::from_ref(&old_kid));

    // With pre-publication: published everywhere, not signing yet.
    let pending = rotate(&a, false).await;
    let pending_kid = pending["kid"].as_str().unwrap().to_owned();
    assert_eq!(pending["keys"][1]["state"], "pending", "{pending}");
    assert_eq!(pending["rotated"].as_array().unwrap().len(), 4, "{pending}");
    assert_eq!(jwks_kids(&a, 1).await, [old_kid.clone(), pending_kid.clone()]);
    let (still_old, _) = a.standard_login(&user).await;
    assert_eq!(parts(&still_old).0["kid"], old_kid.as_str());

    // Activated now: signs at once on A, within 5 s on B.
    let active = rotate(&a, true).await;
    let new_kid = active["kid"].as_str().unwrap().to_owned();
    let (on_a, _) = a.standard_login(&user).await;
    assert_eq!(parts(&on_a).0["kid"], new_kid.as_str());
    let started = std::time::Instant::now();
    loop {
        let (on_b, _) = b.standard_login(&user).await;
        if parts(&on_b).0["kid"] == new_kid.as_str() {
            assert_eq!(me_status(&a, &on_b).await, 200);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "instance B still signs with the old key"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(jwks_kids(&b, 2).await, [old_kid, pending_kid, new_kid]);
    // The old key's tokens still verify on both instances.
    assert_eq!(me_status(&a, &old_token).await, 200);
    assert_eq!(me_status(&b, &old_token).await, 200);
    assert_eq!(me_status(&b, &on_a).await, 200);
}

/// PEM of a new key of `alg`, and the settings' key id of it.
/// A fresh P-256 private key as PKCS#8 PEM (an operator's own key).
fn es256_pem() -> String {
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    p256::SecretKey::random(&mut rand_core::OsRng)
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap()
        .to_string()
}

/// Tokens a forger can make against a server whose private key we hold
/// (PEM mode): each has exactly one defect.
fn forgeries(
    private_pem: &str,
    public_jwk: &Value,
    kid: &str,
    claims: &Value,
    issuer: &str,
) -> Vec<(String, String)> {
    let es = EncodingKey::from_ec_pem(private_pem.as_bytes()).unwrap();
    let sign = |header: Header, claims: &Value| jsonwebtoken::encode(&header, claims, &es).unwrap();
    let with_kid = |alg: Algorithm, k: &str| {
        let mut h = Header::new(alg);
        h.kid = Some(k.to_owned());
        h
    };
    let other_pem = es256_pem();
    let other = EncodingKey::from_ec_pem(other_pem.as_bytes()).unwrap();
    let mut jku = with_kid(Algorithm::ES256, kid);
    jku.jku = Some("https://attacker.example/jwks.json".into());
    let mut x5u = with_kid(Algorithm::ES256, kid);
    x5u.x5u = Some("https://attacker.example/cert.pem".into());
    let mut wrong_iss = claims.clone();
    wrong_iss["iss"] = json!("https://attacker.example");
    let mut wrong_aud = claims.clone();
    wrong_aud["aud"] = json!("another-service");
    let mut no_iss = claims.clone();
    no_iss.as_object_mut().unwrap().remove("iss");
    let mut expired = claims.clone();
    expired["exp"] = json!(now_s() - 60);
    // The public key as the HMAC secret, in the forms a verifier might hold.
    let x = public_jwk["x"].as_str().unwrap();
    let y = public_jwk["y"].as_str().unwrap();
    let hs = |secret: &[u8]| {
        jsonwebtoken::encode(
            &with_kid(Algorithm::HS256, kid),
            claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap()
    };
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "kid": kid, "typ": "JWT"})
            .to_string()
            .as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let _ = issuer;
    vec![
        ("jku header".into(), sign(jku, claims)),
        ("x5u header".into(), sign(x5u, claims)),
        (
            "wrong iss".into(),
            sign(with_kid(Algorithm::ES256, kid), &wrong_iss),
        ),
        (
            "wrong aud".into(),
            sign(with_kid(Algorithm::ES256, kid), &wrong_aud),
        ),
        ("no iss".into(), sign(with_kid(Algorithm::ES256, kid), &no_iss)),
        ("expired".into(), sign(with_kid(Algorithm::ES256, kid), &expired)),
        ("no kid".into(), sign(Header::new(Algorithm::ES256), claims)),
        (
            "unknown kid, another key".into(),
            jsonwebtoken::encode(&with_kid(Algorithm::ES256, "unknown"), claims, &other).unwrap(),
        ),
        (
            "right kid, another key".into(),
            jsonwebtoken::encode(&with_kid(Algorithm::ES256, kid), claims, &other).unwrap(),
        ),
        (
            "kid is a path".into(),
            jsonwebtoken::encode(
                &with_kid(Algorithm::ES256, "../../../../etc/passwd"),
                claims,
                &other,
            )
            .unwrap(),
        ),
        (
            "kid is SQL".into(),
            jsonwebtoken::encode(
                &with_kid(Algorithm::ES256, "x' UNION SELECT 'k' --"),
                claims,
                &other,
            )
            .unwrap(),
        ),
        (
            "HS256 with the public JWK as secret".into(),
            hs(public_jwk.to_string().as_bytes()),
        ),
        (
            "HS256 with x||y as secret".into(),
            hs(format!("{x}{y}").as_bytes()),
        ),
        ("alg none".into(), none),
    ]
}

/// Forged tokens against the server: each refused by `/api/auth/me`,
/// introspection and a logout, while the re-signed genuine claims pass.
async fn forged_asymmetric_tokens_are_refused(target: &Target) {
    let private = es256_pem();
    let key_setting = private.clone();
    let app = TestApp::spawn_issuer(target, move |c| {
        c.set("AUTH_JWT_SIGNING_KEY", key_setting);
    })
    .await;
    let jwks = app.get("/.well-known/jwks.json").await;
    let jwk = jwks.json["keys"][0].clone();
    let kid = jwk["kid"].as_str().unwrap().to_owned();
    let user = app.new_user().await;
    let (access, _) = app.standard_login(&user).await;
    let (header, claims) = parts(&access);
    assert_eq!(header["kid"], kid.as_str(), "the PEM key signs");
    // Sanity: re-signing the genuine claims with the key is accepted.
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some(kid.clone());
    let resigned = jsonwebtoken::encode(
        &h,
        &claims,
        &EncodingKey::from_ec_pem(private.as_bytes()).unwrap(),
    )
    .unwrap();
    assert_eq!(me_status(&app, &resigned).await, 200);
    let admin = format!("Bearer {}", app.admin_token());
    for (what, forged) in forgeries(&private, &jwk, &kid, &claims, &app.base) {
        assert_eq!(me_status(&app, &forged).await, 401, "{what}");
        assert_eq!(
            introspect(&app, Some(&admin), &forged).await.json,
            json!({"active": false}),
            "{what}"
        );
        let out = app
            .post_empty("/api/auth/logout", Some(&format!("Bearer {forged}")))
            .await;
        assert_eq!(out.status.as_u16(), 401, "{what}: {}", out.text);
    }
    // `auth-client` refuses each of them too (signed by the real key, so
    // refused for the defect itself).
    let client = auth_client::AuthClient::discover(&app.base).await.unwrap();
    assert!(client.verify(&resigned).await.is_ok());
    for (what, forged) in forgeries(&private, &jwk, &kid, &claims, &app.base) {
        let verdict = client.verify(&forged).await;
        assert!(verdict.is_err(), "auth-client accepted: {what}");
    }
    // The access key's rotation is the operator's in PEM mode: only the
    // ID-token keys rotate.
    let r = app
        .post_with("/internal/keys/rotate", &json!({}), Some(&app.admin_token()))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.json["kid"], Value::Null, "{}", r.text);
    assert_eq!(r.json["accessNotManaged"], "AUTH_JWT_SIGNING_KEY is set");
    let added: Vec<&str> = r.json["rotated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(added, ["id:RS256", "id:ES256", "id:EdDSA"]);
    assert_eq!(
        app.get("/.well-known/jwks.json").await.json["keys"][0]["kid"],
        kid.as_str()
    );
}

/// The same forgeries against `auth-client`, and its discovery, offline
/// verification, refetch on a new `kid` and introspection.
async fn auth_client_verifies_and_refuses(target: &Target) {
    let app = TestApp::spawn_issuer(target, |c| {
        c.set("AUTH_JWT_KEY_REFRESH_SECONDS", 1);
    })
    .await;
    let (id, secret) = register_app(&app).await;
    let client = auth_client::AuthClient::builder(&app.base)
        .credentials(&id, &secret)
        .min_refetch_interval(Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    let user = app.new_user().await;
    let (access, refresh) = app.standard_login(&user).await;
    let claims = client.verify(&access).await.unwrap();
    assert_eq!(claims.sub, parts(&access).1["sub"].as_str().unwrap());
    assert_eq!(claims.iss, app.base);
    assert_eq!(client.verify_live(&access).await.unwrap(), claims);
    assert!(
        client.verify(&refresh).await.is_err(),
        "a refresh token is not an access token"
    );

    // A rotation with activateNow: the client refetches on the new kid.
    rotate(&app, true).await;
    let (rotated, _) = app.standard_login(&user).await;
    assert_eq!(client.verify(&rotated).await.unwrap().sub, claims.sub);
    assert!(client.verify(&access).await.is_ok(), "the old key still verifies");

    // Wrong audience configured: refused.
    let strict = auth_client::AuthClient::builder(&app.base)
        .audience("another-service")
        .build()
        .await
        .unwrap();
    assert_eq!(
        strict.verify(&access).await,
        Err(auth_client::Error::Invalid("wrong audience"))
    );

    // Logged out: still valid offline until exp, revoked for verify_live.
    app.post_empty("/api/auth/logout", Some(&format!("Bearer {rotated}")))
        .await;
    assert!(client.verify(&rotated).await.is_ok());
    assert_eq!(
        client.verify_live(&rotated).await,
        Err(auth_client::Error::Revoked)
    );

    let genuine_claims = parts(&rotated).1;
    // The server's own public key as an HMAC secret.
    let server_jwk = app.get("/.well-known/jwks.json").await.json["keys"][0].clone();
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some(server_jwk["kid"].as_str().unwrap().to_owned());
    let hs = jsonwebtoken::encode(
        &h,
        &genuine_claims,
        &EncodingKey::from_secret(server_jwk.to_string().as_bytes()),
    )
    .unwrap();
    assert_eq!(
        client.verify(&hs).await,
        Err(auth_client::Error::Invalid("algorithm not allowed"))
    );
    assert_eq!(me_status(&app, &hs).await, 401);
}

/// The example service, protected by `auth-client`, against the real server.
async fn example_service_accepts_our_tokens(target: &Target) {
    let app = TestApp::spawn_issuer(target, |_| {}).await;
    let (id, secret) = register_app(&app).await;
    let auth = auth_client::AuthClient::builder(&app.base)
        .credentials(id, secret)
        .build()
        .await
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = protected_service::serve(listener, auth).unwrap();
    let handle = server.handle();
    tokio::spawn(server);
    let http = reqwest::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let mut r = http.get(format!("{base}{path}"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    assert_eq!(get("/public", None).await.unwrap().status(), 200);
    let anonymous = get("/hello", None).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let user = app.new_user().await;
    let (access, refresh) = app.standard_login(&user).await;
    let hello = get("/hello", Some(&access)).await.unwrap();
    assert_eq!(hello.status(), 200);
    let body: Value = hello.json().await.unwrap();
    assert_eq!(body["hello"], parts(&access).1["sub"]);
    assert_eq!(get("/hello", Some(&refresh)).await.unwrap().status(), 401);
    assert_eq!(get("/hello", Some("garbage")).await.unwrap().status(), 401);
    assert_eq!(get("/live", Some(&access)).await.unwrap().status(), 200);
    app.post_empty("/api/auth/logout", Some(&format!("Bearer {access}")))
        .await;
    assert_eq!(
        get("/live", Some(&access)).await.unwrap().status(),
        401,
        "revoked at once"
    );
    handle.stop(false).await;
}

crate::scenarios!(
    third_party_verifies_from_the_issuer_url,
    each_algorithm_signs_and_publishes,
    introspection_reports_revocation_at_once,
    introspection_of_an_expired_token,
    rotation_across_two_instances,
    forged_asymmetric_tokens_are_refused,
    auth_client_verifies_and_refuses,
    example_service_accepts_our_tokens,
);
