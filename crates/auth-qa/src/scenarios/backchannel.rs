//! A session's end reaches services (issue 31): OpenID Connect
//! Back-Channel Logout 1.0 logout tokens posted to a receiver started here
//! ([`Receiver`]) on every path that ends a session, a receiver that was
//! down served after it comes back (across a restart of the service), and
//! the RFC 8936 poll feed of CAEP `session-revoked` SETs at `POST
//! /ssf/poll`. Signatures are checked with the `openidconnect` crate's
//! JWK code against the JWKS (not the server's signing library), the
//! claims as Back-Channel Logout §2.6 and RFC 8417 say. See
//! `docs/verify-tokens.md`.

use std::time::Duration;

use base64::Engine as _;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{JsonWebKey, JsonWebKeyId, OAuth2TokenResponse, TokenResponse};
use serde_json::{Value, json};

use crate::receiver::Receiver;
use crate::{NewUser, Reply, Target, TestApp};

use super::oidc::{AFTER_LOGOUT, Browser, admin, form, post_form, provider_with, register, sign_in};
use super::{jwt_claims, reissue, standard_logout};

crate::scenarios!(
    every_session_end_reaches_the_back_channel,
    a_grant_logout_token_names_the_id_tokens_session,
    a_receiver_down_gets_its_events_after_a_restart,
    a_hung_or_failing_receiver_never_blocks_a_logout,
    a_hung_receiver_delays_no_other_client,
    the_feed_serves_session_revoked_sets_by_poll,
    the_feed_refuses_bad_credentials_and_bodies,
);

/// The `events` member of a logout token.
const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The CAEP event of a SET.
const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// How long a delivery may take here (the first attempt is immediate).
const WITHIN: Duration = Duration::from_secs(20);

fn b64(part: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap_or_else(|e| panic!("not base64url ({e}): {part}"))
}

/// Checks a compact JWS against the server's JWKS with the `openidconnect`
/// crate's key code: the key named by `kid`, of the header's algorithm.
/// Returns the header and the claims.
async fn verify_jws(app: &TestApp, token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a compact JWS: {token}");
    let header: Value = serde_json::from_slice(&b64(parts[0])).unwrap();
    let alg = match header["alg"].as_str() {
        Some("RS256") => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        Some("ES256") => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        Some("EdDSA") => CoreJwsSigningAlgorithm::EdDsa,
        other => panic!("unexpected alg {other:?}"),
    };
    let jwks = app.get("/.well-known/jwks.json").await;
    let set: CoreJsonWebKeySet = serde_json::from_str(&jwks.text).unwrap();
    let kid = JsonWebKeyId::new(header["kid"].as_str().expect("a kid").to_owned());
    let key = set
        .keys()
        .iter()
        .find(|k| k.key_id() == Some(&kid))
        .unwrap_or_else(|| panic!("kid {kid:?} is not in the JWKS"));
    key.verify_signature(
        &alg,
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
        &b64(parts[2]),
    )
    .unwrap_or_else(|e| panic!("the signature does not verify: {e:?}"));
    (header, jwt_claims(token))
}

/// A logout token checked as Back-Channel Logout 1.0 §2.6 says: signature,
/// `typ`, `iss`, `aud`, `iat`/`exp`, `jti`, `events`, no `nonce`, and the
/// session and user it names.
async fn assert_logout_token(app: &TestApp, token: &str, client_id: &str, sid: &str, sub: &str) {
    let (header, c) = verify_jws(app, token).await;
    assert_eq!(header["typ"], "logout+jwt", "{header}");
    assert_eq!(c["iss"], app.public_url(), "{c}");
    assert_eq!(c["aud"], client_id, "{c}");
    assert_eq!(c["sid"], sid, "{c}");
    assert_eq!(c["sub"], sub, "{c}");
    assert_eq!(c["events"], json!({LOGOUT_EVENT: {}}), "{c}");
    assert!(
        c.get("nonce").is_none(),
        "a logout token must not carry a nonce: {c}"
    );
    let (iat, exp) = (c["iat"].as_i64().unwrap(), c["exp"].as_i64().unwrap());
    assert!((iat - super::now_s()).abs() < 120 && exp > iat, "{c}");
    assert!(!c["jti"].as_str().unwrap_or("").is_empty(), "{c}");
}

/// Waits for the logout token of `sid` at `path` of `rx` and checks it
/// (addressed to `client`, naming `sub`).
async fn told(app: &TestApp, rx: &Receiver, path: &str, client: &str, sid: &str, sub: &str) {
    let token = rx.wait_for(path, WITHIN, names(sid)).await;
    assert_logout_token(app, &token, client, sid, sub).await;
}

/// A token of the receiver's whose `sid` is `sid`.
fn names(sid: &str) -> impl Fn(&str) -> bool + '_ {
    move |t: &str| jwt_claims(t)["sid"] == sid
}

/// Registers a confidential client through the admin API; its id and
/// secret.
async fn client(app: &TestApp, body: Value) -> (String, String) {
    let mut spec = json!({"name": "Orders service", "grantTypes": ["client_credentials"]});
    for (k, v) in body.as_object().unwrap() {
        spec[k] = v.clone();
    }
    let r = admin(app, "POST", "/internal/oauth-clients", Some(&spec)).await;
    assert_eq!(r.status.as_u16(), 201, "register {spec}: {}", r.text);
    assert_eq!(
        r.json["client"]["allSessions"],
        spec["allSessions"].as_bool().unwrap_or(false)
    );
    (r.str("/clientId"), r.str("/clientSecret"))
}

/// A `standard` session: `(access, refresh, sid, sub)`.
async fn session(app: &TestApp, user: &NewUser) -> (String, String, String, String) {
    let (access, refresh) = app.standard_login(user).await;
    let c = jwt_claims(&access);
    (
        access,
        refresh,
        c["sid"].as_str().unwrap().to_owned(),
        c["sub"].as_str().unwrap().to_owned(),
    )
}

/// A server whose failed deliveries are retried every second at most.
async fn quick(target: &Target) -> TestApp {
    TestApp::spawn_with(target, |c| {
        c.set("AUTH_BACKCHANNEL_MAX_BACKOFF_SECONDS", 1);
        c.set("AUTH_BACKCHANNEL_TIMEOUT_SECONDS", 1);
        c.set("AUTH_CODE_RESEND_COOLDOWN_SECONDS", 0);
    })
    .await
}

/// Logout, refresh-token reuse, admin revoke, disable, password reset and
/// withdrawal each post a valid logout token, once, to a client that hears
/// of every session; a client that hears only of its own grants gets none.
async fn every_session_end_reaches_the_back_channel(target: &Target) {
    let app = quick(target).await;
    let rx = Receiver::start();
    let (all, _) = client(
        &app,
        json!({"allSessions": true, "backchannelLogoutUri": rx.url("/all"), "idTokenSignedResponseAlg": "ES256"}),
    )
    .await;
    let (own, _) = client(&app, json!({"backchannelLogoutUri": rx.url("/own")})).await;
    let mut ended: Vec<(&str, String)> = Vec::new();

    // Logout (`standard`).
    let user = app.new_user().await;
    let (access, _, sid, sub) = session(&app, &user).await;
    assert_eq!(standard_logout(&app, &access).await.status.as_u16(), 200);
    told(&app, &rx, "/all", &all, &sid, &sub).await;
    ended.push(("logout", sid));

    // A spent refresh token presented again ends the session.
    let (access, refresh, sid, sub) = session(&app, &user).await;
    assert_eq!(reissue(&app, &access, &refresh).await.status.as_u16(), 200);
    assert_eq!(reissue(&app, &access, &refresh).await.status.as_u16(), 401);
    told(&app, &rx, "/all", &all, &sid, &sub).await;
    ended.push(("refresh reuse", sid));

    // An administrator revokes one session.
    let (_, _, sid, sub) = session(&app, &user).await;
    let r = admin(&app, "DELETE", &format!("/internal/sessions/{sid}"), None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    told(&app, &rx, "/all", &all, &sid, &sub).await;
    ended.push(("admin revoke", sid));

    // A password reset ends every session of the account.
    let (_, _, sid, sub) = session(&app, &user).await;
    let reset = super::reset_password(&app, &user, "NewPassword1!", &[]).await;
    assert_eq!(reset.status.as_u16(), 200, "{}", reset.text);
    told(&app, &rx, "/all", &all, &sid, &sub).await;
    ended.push(("password reset", sid));

    // Disabling an account.
    let other = app.new_user().await;
    let (_, _, sid, sub) = session(&app, &other).await;
    let r = admin(
        &app,
        "POST",
        &format!("/internal/users/{}/disable", other.id),
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    told(&app, &rx, "/all", &all, &sid, &sub).await;
    ended.push(("disable", sid));

    // Withdrawal (`account`): the user is gone, the event is not.
    let third = app.new_user().await;
    let (_, _, sid, sub) = session(&app, &third).await;
    let r = app
        .post(
            "/api/auth/withdrawal",
            &json!({"authId": third.login, "password": third.password}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    told(&app, &rx, "/all", &all, &sid, &sub).await;
    ended.push(("withdrawal", sid));

    // Each end was delivered once (a 2xx is not retried), and the client
    // that hears only of its grants heard of none of them.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let received = rx.received();
    for (path, sid) in &ended {
        let n = received
            .iter()
            .filter(|(p, t)| p == "/all" && jwt_claims(t)["sid"] == sid.as_str())
            .count();
        assert_eq!(n, 1, "{path}: {n} logout tokens for one end");
    }
    assert!(
        received.iter().all(|(p, _)| p != "/own"),
        "{own} has no grant of these sessions but was told: {received:?}"
    );
}

/// An OpenID client's grant: RP-initiated logout and RFC 7009 revocation
/// post a logout token whose `sid` is the ID token's, signed with the
/// client's ID-token algorithm.
async fn a_grant_logout_token_names_the_id_tokens_session(target: &Target) {
    let p = provider_with(target, |_| {}).await;
    let rx = Receiver::start();
    let rp = register(&p, json!({"backchannelLogoutUri": rx.url("/rp")})).await;
    let user = p.app.new_user().await;
    let browser = Browser::new(&p.app);

    let (tokens, _, _) = sign_in(&p, &rp.client, &browser, &user, &["email"]).await;
    let id_token = tokens.id_token().unwrap().to_string();
    let id = jwt_claims(&id_token);
    let (sid, sub) = (
        id["sid"].as_str().unwrap().to_owned(),
        id["sub"].as_str().unwrap().to_owned(),
    );
    let logout = format!(
        "/oauth2/logout?{}",
        form(&[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", AFTER_LOGOUT)
        ])
    );
    assert_eq!(browser.get(&logout).await.status, 303);
    told(&p.app, &rx, "/rp", &rp.id, &sid, &sub).await;
    let token = rx.wait_for("/rp", WITHIN, names(&sid)).await;
    let (header, _) = verify_jws(&p.app, &token).await;
    assert_eq!(header["alg"], "RS256", "the client's ID-token algorithm");

    // RFC 7009: revoking the refresh token ends the grant.
    let (tokens, _, _) = sign_in(&p, &rp.client, &browser, &user, &["email"]).await;
    let sid = jwt_claims(&tokens.id_token().unwrap().to_string())["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh = tokens.refresh_token().unwrap().secret().clone();
    let r = post_form(
        &p.app,
        "/oauth2/revoke",
        Some((&rp.id, rp.secret.as_deref().unwrap())),
        &form(&[("token", &refresh)]),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    told(&p.app, &rx, "/rp", &rp.id, &sid, &sub).await;
}

/// A receiver down when the session ends, and the instance that ended it
/// stopped before the receiver is back: the event waits in the database and
/// the next instance delivers it.
async fn a_receiver_down_gets_its_events_after_a_restart(target: &Target) {
    let app = quick(target).await;
    let mut rx = Receiver::start();
    rx.stop().await;
    let (all, _) = client(
        &app,
        json!({"allSessions": true, "backchannelLogoutUri": rx.url("/bcl")}),
    )
    .await;
    let user = app.new_user().await;
    let (access, _, sid, sub) = session(&app, &user).await;
    assert_eq!(standard_logout(&app, &access).await.status.as_u16(), 200);
    // Refused connections, retried a few times.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(rx.received().is_empty());
    let inside = app.inside("a restart on the same database");
    drop(app);
    tokio::time::sleep(Duration::from_millis(500)).await;
    rx.resume();
    let restarted = TestApp::over_server(target, inside.sibling().await).await;
    told(&restarted, &rx, "/bcl", &all, &sid, &sub).await;
}

/// A receiver that never answers, then one that answers 500: the logouts
/// answer at once, and the events arrive once the receiver answers 200.
async fn a_hung_or_failing_receiver_never_blocks_a_logout(target: &Target) {
    let app = quick(target).await;
    let rx = Receiver::start();
    rx.answer(0);
    let (all, _) = client(
        &app,
        json!({"allSessions": true, "backchannelLogoutUri": rx.url("/bcl")}),
    )
    .await;
    let user = app.new_user().await;
    let mut sids = Vec::new();
    for _ in 0..3 {
        let (access, _, sid, _) = session(&app, &user).await;
        // Were the logout waiting on the receiver, it would never answer.
        assert_eq!(standard_logout(&app, &access).await.status.as_u16(), 200);
        sids.push(sid);
    }
    rx.wait_for("/bcl", WITHIN, names(&sids[0])).await;
    rx.answer(500);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let failed = rx.received().len();
    assert!(failed >= 3, "attempts so far: {failed}");
    rx.answer(200);
    let sub = jwt_claims(&app.standard_login(&user).await.0)["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    for sid in &sids {
        told(&app, &rx, "/bcl", &all, sid, &sub).await;
    }
}

/// One client's receiver accepts connections and never answers, with a
/// post timeout of a minute: another client's receiver still gets every
/// logout token at once (posts are recorded one by one, not a batch at a
/// time).
async fn a_hung_receiver_delays_no_other_client(target: &Target) {
    let app = TestApp::spawn_with(target, |c| {
        c.set("AUTH_BACKCHANNEL_TIMEOUT_SECONDS", 60);
    })
    .await;
    let hung = Receiver::start();
    hung.answer(0);
    let rx = Receiver::start();
    client(
        &app,
        json!({"allSessions": true, "backchannelLogoutUri": hung.url("/hung")}),
    )
    .await;
    let (fine, _) = client(
        &app,
        json!({"allSessions": true, "backchannelLogoutUri": rx.url("/fine")}),
    )
    .await;
    let user = app.new_user().await;
    for _ in 0..3 {
        let (access, _, sid, sub) = session(&app, &user).await;
        assert_eq!(standard_logout(&app, &access).await.status.as_u16(), 200);
        // Well within the hung post's minute.
        told(&app, &rx, "/fine", &fine, &sid, &sub).await;
    }
    assert_eq!(
        hung.received().len(),
        3,
        "the hung receiver was posted to as well"
    );
}

/// `POST /ssf/poll` with the client's credentials and a JSON body.
async fn poll(app: &TestApp, id: &str, secret: &str, body: &Value) -> Reply {
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    );
    app.request(
        "POST",
        "/ssf/poll",
        &[
            ("authorization".to_owned(), auth),
            ("content-type".to_owned(), "application/json".to_owned()),
        ],
        body.to_string().into_bytes(),
    )
    .await
}

/// A SET of the feed checked as RFC 8417 and CAEP say.
async fn assert_session_revoked(app: &TestApp, jti: &str, set: &str, client_id: &str, sid: &str, sub: &str) {
    let (header, c) = verify_jws(app, set).await;
    assert_eq!(header["typ"], "secevent+jwt", "{header}");
    assert_eq!(c["iss"], app.public_url(), "{c}");
    assert_eq!(c["aud"], client_id, "{c}");
    assert_eq!(c["jti"], jti, "{c}");
    assert_eq!(c["sub_id"]["format"], "complex", "{c}");
    assert_eq!(
        c["sub_id"]["session"],
        json!({"format": "opaque", "id": sid}),
        "{c}"
    );
    assert_eq!(
        c["sub_id"]["user"],
        json!({"format": "iss_sub", "iss": app.public_url(), "sub": sub}),
        "{c}"
    );
    let event = &c["events"][SESSION_REVOKED];
    assert!(event["event_timestamp"].as_i64().is_some(), "{c}");
    assert_eq!(event["initiating_entity"], "user", "{c}");
    assert_eq!(c["events"].as_object().unwrap().len(), 1, "{c}");
}

/// The feed: empty at first; a long poll on one instance is answered when
/// a session ends on another; acknowledged SETs are not sent again;
/// `maxEvents` pages with `moreAvailable`.
async fn the_feed_serves_session_revoked_sets_by_poll(target: &Target) {
    let app = TestApp::spawn_with(target, |c| {
        c.set("AUTH_SSF_POLL_WAIT_SECONDS", 10);
    })
    .await;
    let (id, secret) = client(&app, json!({"allSessions": true})).await;
    let first = poll(&app, &id, &secret, &json!({"returnImmediately": true})).await;
    assert_eq!(first.status.as_u16(), 200, "{}", first.text);
    assert_eq!(first.json, json!({"sets": {}, "moreAvailable": false}));

    let user = app.new_user().await;
    let (access, _, sid, sub) = session(&app, &user).await;
    let other = app.spawn_sibling().await;
    let waiting = {
        let (app, id, secret) = (&app, id.clone(), secret.clone());
        async move { poll(app, &id, &secret, &json!({"maxEvents": 10})).await }
    };
    let logout = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(standard_logout(&other, &access).await.status.as_u16(), 200);
    };
    let (answer, ()) = tokio::join!(waiting, logout);
    assert_eq!(answer.status.as_u16(), 200, "{}", answer.text);
    let sets = answer.json["sets"].as_object().unwrap().clone();
    assert_eq!(sets.len(), 1, "{}", answer.text);
    let (jti, set) = sets.iter().next().unwrap();
    assert_session_revoked(&app, jti, set.as_str().unwrap(), &id, &sid, &sub).await;

    // Not acknowledged: sent again. Acknowledged: gone.
    let again = poll(&app, &id, &secret, &json!({"returnImmediately": true})).await;
    assert!(again.json["sets"].get(jti).is_some(), "{}", again.text);
    let acked = poll(
        &app,
        &id,
        &secret,
        &json!({"returnImmediately": true, "ack": [jti]}),
    )
    .await;
    assert_eq!(acked.json, json!({"sets": {}, "moreAvailable": false}));

    // Three more ends, two per page.
    for _ in 0..3 {
        let (access, _, _, _) = session(&app, &user).await;
        assert_eq!(standard_logout(&app, &access).await.status.as_u16(), 200);
    }
    let page = poll(
        &app,
        &id,
        &secret,
        &json!({"returnImmediately": true, "maxEvents": 2}),
    )
    .await;
    assert_eq!(page.json["sets"].as_object().unwrap().len(), 2, "{}", page.text);
    assert_eq!(page.json["moreAvailable"], true);
    let acks: Vec<&String> = page.json["sets"].as_object().unwrap().keys().collect();
    // maxEvents 0 only acknowledges.
    let only = poll(&app, &id, &secret, &json!({"maxEvents": 0, "ack": acks})).await;
    assert_eq!(only.json, json!({"sets": {}, "moreAvailable": false}));
    let last = poll(&app, &id, &secret, &json!({"returnImmediately": true})).await;
    assert_eq!(last.json["sets"].as_object().unwrap().len(), 1, "{}", last.text);
    assert_eq!(last.json["moreAvailable"], false);
    // A SET the receiver could not use is reported and not sent again.
    let jti = last.json["sets"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let errs =
        json!({"returnImmediately": true, "setErrs": {jti: {"err": "invalid_key", "description": "no key"}}});
    let r = poll(&app, &id, &secret, &errs).await;
    assert_eq!(r.json, json!({"sets": {}, "moreAvailable": false}));
}

/// Wrong credentials, a public client, another client's acknowledgements
/// and malformed bodies: a clear error, nothing acknowledged.
async fn the_feed_refuses_bad_credentials_and_bodies(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (id, secret) = client(&app, json!({"allSessions": true})).await;
    let (stranger, stranger_secret) = client(&app, json!({})).await;
    let user = app.new_user().await;
    let (access, _, _, _) = session(&app, &user).await;
    assert_eq!(standard_logout(&app, &access).await.status.as_u16(), 200);

    let wrong = poll(&app, &id, "not-the-secret", &json!({})).await;
    assert_eq!(wrong.status.as_u16(), 401, "{}", wrong.text);
    assert_eq!(wrong.json["err"], "authentication_failed");
    assert!(wrong.headers.contains_key("www-authenticate"));
    let none = app
        .request(
            "POST",
            "/ssf/poll",
            &[("content-type".to_owned(), "application/json".to_owned())],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(none.status.as_u16(), 401, "{}", none.text);

    let mine = poll(&app, &id, &secret, &json!({"returnImmediately": true})).await;
    let jti = mine.json["sets"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    // Another client naming my jti acknowledges nothing of mine, and hears
    // nothing of sessions it had no grant of.
    let theirs = poll(
        &app,
        &stranger,
        &stranger_secret,
        &json!({"returnImmediately": true, "ack": [jti]}),
    )
    .await;
    assert_eq!(theirs.json, json!({"sets": {}, "moreAvailable": false}));

    for (body, field) in [
        (json!({"maxEvents": -1}), "maxEvents"),
        (json!({"returnImmediately": "yes"}), "returnImmediately"),
        (json!({"ack": "x"}), "ack"),
        (json!({"setErrs": [1]}), "setErrs"),
        (json!([1, 2]), "object"),
    ] {
        let r = poll(&app, &id, &secret, &body).await;
        assert_eq!(r.status.as_u16(), 400, "{body}: {}", r.text);
        assert_eq!(r.json["err"], "invalid_request", "{}", r.text);
        assert!(
            r.json["description"].as_str().unwrap().contains(field),
            "{}",
            r.text
        );
    }
    let form = post_form(&app, "/ssf/poll", Some((&id, &secret)), "maxEvents=1").await;
    assert_eq!(form.status.as_u16(), 400, "{}", form.text);
    // Nothing was acknowledged by any of it.
    let still = poll(&app, &id, &secret, &json!({"returnImmediately": true})).await;
    assert!(still.json["sets"].get(&jti).is_some(), "{}", still.text);
}
