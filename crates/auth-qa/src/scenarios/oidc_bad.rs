//! The OpenID provider (issue 28) under bad input: each refusal is the
//! standard error, never a 5xx, never a redirect to an address the client
//! did not register, and changes nothing stored (the user's sessions are
//! the same, a code refused once still exchanges). Also the admin API of
//! the clients.

use std::time::Duration;

use openidconnect::OAuth2TokenResponse;
use openidconnect::core::CoreErrorResponseType;
use serde_json::{Value, json};

use crate::Target;

use super::oidc::{
    Browser, Provider, REDIRECT, Registered, admin, assert_grant_error, assert_oauth_error, code_of,
    exchange, form, introspect, post_form, provider, register, rp_client, sessions, sign_in, start,
    userinfo_status,
};

/// A well-formed S256 challenge (of no verifier anyone knows).
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// An authorization URL from `client_id` with the defaults of a good
/// request, `changes` applied (`None` removes the parameter).
fn authorize_url(client_id: &str, changes: &[(&str, Option<&str>)]) -> String {
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email"),
        ("state", "st-7"),
        ("nonce", "n-7"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in changes {
        params.retain(|(n, _)| n != name);
        if let Some(v) = value {
            params.push((name, v));
        }
    }
    format!("/oauth2/authorize?{}", form(&params))
}

/// Asserts a 400 page: HTML, no `Location`, and (when given) the text.
#[track_caller]
fn assert_error_page(page: &super::oidc::Page, contains: &str) {
    assert_eq!(page.status, 400, "{page:?}");
    assert!(page.location.is_none(), "redirected: {page:?}");
    assert!(page.text.contains("<html"), "{page:?}");
    assert!(page.text.contains(contains), "{contains:?} not in {}", page.text);
}

/// The client's redirect URI with an error (and state, iss), no code.
#[track_caller]
fn assert_redirected_error(p: &Provider, page: &super::oidc::Page, error: &str) {
    assert_eq!(page.status, 303, "{page:?}");
    let location = page.location.as_deref().unwrap();
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    let url = openidconnect::url::Url::parse(location).unwrap();
    let q: std::collections::BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q.get("error").map(String::as_str), Some(error), "{location}");
    assert_eq!(q.get("state").map(String::as_str), Some("st-7"), "{location}");
    assert_eq!(q.get("iss"), Some(&p.app.base), "{location}");
    assert!(!q.contains_key("code"), "{location}");
}

/// Authorization requests that cannot be trusted to go back (unknown
/// client, unregistered or missing redirect URI, repeated parameters) are
/// a 400 page; the others go back to the registered URI with the error,
/// `state` and `iss`; none changes the user's sessions.
async fn bad_authorization_requests_get_the_standard_errors(target: &Target) {
    let p = provider(target).await;
    let rp = register(&p, json!({"scopes": ["openid", "email"]})).await;
    let user = p.app.new_user().await;
    let browser = Browser::new(&p.app);
    sign_in(&p, &rp.client, &browser, &user, &["email"]).await;
    let before = sessions(&p.app, &user).await;

    let unknown = "oc_000000000000000000000000";
    let page = browser.get(&authorize_url(unknown, &[])).await;
    assert_error_page(&page, "등록되지 않은 클라이언트");
    for uri in [
        Some("https://evil.example.test/callback"),
        Some(&format!("{REDIRECT}/")),
        None,
    ] {
        let page = browser
            .get(&authorize_url(&rp.id, &[("redirect_uri", uri)]))
            .await;
        assert_error_page(&page, "redirect_uri");
    }
    let repeated = format!("{}&scope=openid", authorize_url(&rp.id, &[]));
    assert_error_page(&browser.get(&repeated).await, "invalid_request");
    let twice_redirect = format!(
        "{}&{}",
        authorize_url(&rp.id, &[]),
        form(&[("redirect_uri", "https://evil.example.test/callback")])
    );
    assert_error_page(&browser.get(&twice_redirect).await, "invalid_request");

    for (changes, error) in [
        (vec![("code_challenge", None)], "invalid_request"),
        (vec![("code_challenge_method", None)], "invalid_request"),
        (vec![("code_challenge_method", Some("plain"))], "invalid_request"),
        (vec![("code_challenge", Some("short"))], "invalid_request"),
        (vec![("scope", Some("openid profile"))], "invalid_scope"),
        (vec![("scope", Some("openid admin"))], "invalid_scope"),
        (
            vec![("response_type", Some("token"))],
            "unsupported_response_type",
        ),
        (
            vec![("response_type", Some("code id_token"))],
            "unsupported_response_type",
        ),
        (vec![("prompt", Some("none login"))], "invalid_request"),
        (vec![("prompt", Some("select_account"))], "invalid_request"),
        (vec![("max_age", Some("-1"))], "invalid_request"),
    ] {
        let page = browser.get(&authorize_url(&rp.id, &changes)).await;
        assert_redirected_error(&p, &page, error);
    }
    assert_eq!(
        sessions(&p.app, &user).await,
        before,
        "a refused request changed the sessions"
    );

    // prompt=none from a browser that is not signed in.
    let fresh = Browser::new(&p.app);
    let page = fresh
        .get(&authorize_url(&rp.id, &[("prompt", Some("none"))]))
        .await;
    assert_redirected_error(&p, &page, "login_required");
    // prompt=none for a client the user has not allowed: consent_required.
    let other = register(&p, json!({})).await;
    let page = browser
        .get(&authorize_url(&other.id, &[("prompt", Some("none"))]))
        .await;
    assert_redirected_error(&p, &page, "consent_required");
    assert_eq!(sessions(&p.app, &user).await, before);
}

/// A fresh code of `rp` for `user` (signed in through `browser`), with its
/// verifier.
async fn fresh_code(
    p: &Provider,
    rp: &Registered,
    browser: &Browser,
    user: &crate::NewUser,
) -> (String, String) {
    let s = start(&rp.client, &["email"], None);
    let landing = browser.walk(&s.url, Some(user), REDIRECT).await;
    (code_of(p, &s, &landing), s.verifier)
}

async fn token(p: &Provider, rp: &Registered, pairs: &[(&str, &str)]) -> crate::Reply {
    post_form(
        &p.app,
        "/oauth2/token",
        Some((&rp.id, rp.secret.as_deref().unwrap())),
        &form(pairs),
    )
    .await
}

/// Refused exchanges of a good code (wrong verifier, redirect URI, secret,
/// client; missing or repeated parameters; unknown grant types) answer the
/// standard error, change no session, and leave the code exchangeable.
async fn refused_code_exchanges_leave_the_code_usable(target: &Target) {
    let p = provider(target).await;
    let rp = register(&p, json!({"firstParty": true})).await;
    let other = register(&p, json!({"firstParty": true})).await;
    let user = p.app.new_user().await;
    let browser = Browser::new(&p.app);
    let (code, verifier) = fresh_code(&p, &rp, &browser, &user).await;
    let before = sessions(&p.app, &user).await;
    let good = |code: &str, verifier: &str| {
        vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), code.to_owned()),
            ("redirect_uri".to_owned(), REDIRECT.to_owned()),
            ("code_verifier".to_owned(), verifier.to_owned()),
        ]
    };
    let with = |changes: &[(&str, Option<&str>)]| {
        let mut pairs = good(&code, &verifier);
        for (name, value) in changes {
            pairs.retain(|(n, _)| n != name);
            if let Some(v) = value {
                pairs.push(((*name).to_owned(), (*v).to_owned()));
            }
        }
        pairs
    };
    let wrong_verifier = "A".repeat(43);
    let cases: Vec<(Vec<(String, String)>, &str)> = vec![
        (with(&[("code_verifier", Some(&wrong_verifier))]), "invalid_grant"),
        (with(&[("code_verifier", Some("short"))]), "invalid_grant"),
        (with(&[("code_verifier", None)]), "invalid_request"),
        (
            with(&[("redirect_uri", Some("https://rp.example.test/other"))]),
            "invalid_grant",
        ),
        (with(&[("redirect_uri", None)]), "invalid_request"),
        (with(&[("code", Some("not-a-code"))]), "invalid_grant"),
        (with(&[("code", None)]), "invalid_request"),
        (
            with(&[("grant_type", Some("password"))]),
            "unsupported_grant_type",
        ),
        (
            with(&[("grant_type", Some("implicit"))]),
            "unsupported_grant_type",
        ),
        (with(&[("grant_type", None)]), "invalid_request"),
    ];
    for (pairs, error) in cases {
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = token(&p, &rp, &refs).await;
        assert_oauth_error(&r, 400, error);
    }
    // Repeated parameters.
    let body = format!(
        "{}&code_verifier={wrong_verifier}",
        form(&refs_of(&good(&code, &verifier)))
    );
    let r = post_form(
        &p.app,
        "/oauth2/token",
        Some((&rp.id, rp.secret.as_deref().unwrap())),
        &body,
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_request");
    // Wrong, missing or mixed client authentication: 401 / 400.
    let body = form(&refs_of(&good(&code, &verifier)));
    let r = post_form(&p.app, "/oauth2/token", Some((&rp.id, "wrong-secret")), &body).await;
    assert_oauth_error(&r, 401, "invalid_client");
    let r = post_form(
        &p.app,
        "/oauth2/token",
        Some((&rp.id, other.secret.as_deref().unwrap())),
        &body,
    )
    .await;
    assert_oauth_error(&r, 401, "invalid_client");
    let r = post_form(&p.app, "/oauth2/token", None, &body).await;
    assert_oauth_error(&r, 401, "invalid_client");
    let posted = format!(
        "{body}&{}",
        form(&[("client_id", &rp.id), ("client_secret", "wrong")])
    );
    let r = post_form(&p.app, "/oauth2/token", None, &posted).await;
    assert_oauth_error(&r, 401, "invalid_client");
    let both = format!(
        "{body}&{}",
        form(&[("client_secret", rp.secret.as_deref().unwrap())])
    );
    let r = post_form(
        &p.app,
        "/oauth2/token",
        Some((&rp.id, rp.secret.as_deref().unwrap())),
        &both,
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_request");
    // Another client's code.
    let r = token(&p, &other, &refs_of(&good(&code, &verifier))).await;
    assert_oauth_error(&r, 400, "invalid_grant");
    // Not a form.
    let r = p
        .app
        .request(
            "POST",
            "/oauth2/token",
            &[("content-type".into(), "application/json".into())],
            br#"{"grant_type":"client_credentials"}"#.to_vec(),
        )
        .await;
    assert_oauth_error(&r, 400, "invalid_request");

    assert_eq!(
        sessions(&p.app, &user).await,
        before,
        "a refused exchange changed the sessions"
    );
    // The right verifier still works, through the crate.
    let tokens = exchange(&p, &rp.client, &code, &verifier).await;
    assert_eq!(userinfo_status(&p.app, tokens.access_token().secret()).await, 200);
}

fn refs_of(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// A code used twice: the second exchange is invalid_grant and the tokens
/// of the first are revoked (userinfo 401, refresh invalid_grant).
async fn a_replayed_code_revokes_what_it_issued(target: &Target) {
    let p = provider(target).await;
    let rp = register(&p, json!({"firstParty": true})).await;
    let user = p.app.new_user().await;
    let browser = Browser::new(&p.app);
    let (code, verifier) = fresh_code(&p, &rp, &browser, &user).await;
    let tokens = exchange(&p, &rp.client, &code, &verifier).await;
    let access = tokens.access_token().secret().clone();
    assert_eq!(userinfo_status(&p.app, &access).await, 200);
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let r = token(&p, &rp, &pairs).await;
    assert_oauth_error(&r, 400, "invalid_grant");
    assert_eq!(
        userinfo_status(&p.app, &access).await,
        401,
        "the first tokens outlived a replay"
    );
    assert_eq!(introspect(&p.app, &rp, &access).await, json!({"active": false}));
    let refresh = tokens.refresh_token().unwrap();
    let r = rp
        .client
        .exchange_refresh_token(refresh)
        .unwrap()
        .request_async(&p.http)
        .await;
    assert_grant_error(r, &CoreErrorResponseType::InvalidGrant);
    // The browser's own session is not the grant: it still signs in.
    let (code, verifier) = fresh_code(&p, &rp, &browser, &user).await;
    exchange(&p, &rp.client, &code, &verifier).await;
}

/// Fifty exchanges of one code at once: exactly one 200, the others
/// invalid_grant (no 5xx), and, the code having been replayed, the
/// winner's tokens are revoked.
async fn parallel_exchanges_of_one_code_yield_at_most_one_token(target: &Target) {
    let p = provider(target).await;
    let rp = register(&p, json!({"firstParty": true})).await;
    let user = p.app.new_user().await;
    let browser = Browser::new(&p.app);
    let (code, verifier) = fresh_code(&p, &rp, &browser, &user).await;
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", &verifier),
    ]);
    let secret = rp.secret.clone().unwrap();
    let replies = futures_util::future::join_all(
        (0..50).map(|_| post_form(&p.app, "/oauth2/token", Some((&rp.id, &secret)), &body)),
    )
    .await;
    // At most one exchange gets tokens: with every replay racing it, the
    // one that took the code usually learns of a replay before answering and
    // refuses too (its grant revoked), since an access token handed out
    // would verify offline until it expires.
    let winners: Vec<&crate::Reply> = replies.iter().filter(|r| r.status.as_u16() == 200).collect();
    assert!(winners.len() <= 1, "{} exchanges succeeded", winners.len());
    for r in replies.iter().filter(|r| r.status.as_u16() != 200) {
        assert_oauth_error(r, 400, "invalid_grant");
    }
    for winner in &winners {
        assert_eq!(
            userinfo_status(&p.app, &winner.str("/access_token")).await,
            401,
            "the winner's grant outlived the replays"
        );
    }
    let live = sessions(&p.app, &user).await;
    assert!(
        !live.as_array().unwrap().iter().any(|s| s["contract"] == "oidc"),
        "no grant of the raced code is live: {live}"
    );
}

/// A refresh token presented by another client is invalid_grant and
/// changes nothing: its owner still refreshes with it afterwards.
async fn refresh_tokens_of_another_client_are_refused(target: &Target) {
    let p = provider(target).await;
    let owner = register(&p, json!({"firstParty": true})).await;
    let thief = register(&p, json!({"firstParty": true})).await;
    let user = p.app.new_user().await;
    let browser = Browser::new(&p.app);
    let (tokens, _, _) = sign_in(&p, &owner.client, &browser, &user, &["email"]).await;
    let refresh = tokens.refresh_token().unwrap().clone();
    let before = sessions(&p.app, &user).await;
    let r = token(
        &p,
        &thief,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.secret()),
        ],
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_grant");
    let r = token(
        &p,
        &owner,
        &[("grant_type", "refresh_token"), ("refresh_token", "garbage")],
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_grant");
    let r = token(&p, &owner, &[("grant_type", "refresh_token")]).await;
    assert_oauth_error(&r, 400, "invalid_request");
    // A scope wider than granted.
    let r = token(
        &p,
        &owner,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.secret()),
            ("scope", "openid profile"),
        ],
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_scope");
    assert_eq!(
        sessions(&p.app, &user).await,
        before,
        "a refused refresh changed the sessions"
    );
    let next = owner
        .client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&p.http)
        .await
        .unwrap_or_else(|e| panic!("the owner's refresh after the thief's: {e:?}"));
    assert_eq!(userinfo_status(&p.app, next.access_token().secret()).await, 200);
    assert_ne!(next.refresh_token().unwrap().secret(), refresh.secret());
}

/// Grants a client may not use: `client_credentials` for a public client
/// or one registered without it, `authorization_code` for a
/// `client_credentials`-only client (unauthorized_client); a public client
/// is refused a secret; a public client exchanges its code with PKCE alone.
async fn grants_a_client_may_not_use_are_unauthorized(target: &Target) {
    let p = provider(target).await;
    let public = register(&p, json!({"tokenEndpointAuthMethod": "none", "firstParty": true})).await;
    assert_eq!(public.secret, None);
    let confidential = register(&p, json!({})).await;
    let machine = register(
        &p,
        json!({"grantTypes": ["client_credentials"], "redirectUris": [], "scopes": ["jobs"]}),
    )
    .await;
    let cc = form(&[("grant_type", "client_credentials")]);
    let r = post_form(
        &p.app,
        "/oauth2/token",
        None,
        &format!("{cc}&client_id={}", public.id),
    )
    .await;
    assert_oauth_error(&r, 400, "unauthorized_client");
    let r = token(&p, &confidential, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(&r, 400, "unauthorized_client");
    let r = token(
        &p,
        &machine,
        &[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &"a".repeat(43)),
        ],
    )
    .await;
    assert_oauth_error(&r, 400, "unauthorized_client");
    let r = token(
        &p,
        &machine,
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await;
    assert_oauth_error(&r, 400, "unauthorized_client");
    // A public client with a secret: invalid_client.
    let r = post_form(&p.app, "/oauth2/token", Some((&public.id, "anything")), &cc).await;
    assert_oauth_error(&r, 401, "invalid_client");
    // Its own flow: PKCE alone, through the crate (client_id in the form).
    let user = p.app.new_user().await;
    let browser = Browser::new(&p.app);
    let client = rp_client(&p, &public.id, None).set_auth_type(openidconnect::AuthType::RequestBody);
    let s = start(&client, &["email"], None);
    let landing = browser.walk(&s.url, Some(&user), REDIRECT).await;
    let code = code_of(&p, &s, &landing);
    let tokens = exchange(&p, &client, &code, &s.verifier).await;
    assert_eq!(userinfo_status(&p.app, tokens.access_token().secret()).await, 200);
    // The machine client registered no redirect URI: its authorization
    // requests cannot go back, a 400 page.
    let page = browser.get(&authorize_url(&machine.id, &[])).await;
    assert_error_page(&page, "redirect_uri");
}

/// Codes live 60 s and the server has no clock to move: this scenario
/// waits 61 s (the only one that sleeps that long), then the code is
/// invalid_grant.
async fn an_expired_code_is_refused(target: &Target) {
    let p = provider(target).await;
    let rp = register(&p, json!({"firstParty": true})).await;
    let user = p.app.new_user().await;
    let browser = Browser::new(&p.app);
    let (code, verifier) = fresh_code(&p, &rp, &browser, &user).await;
    tokio::time::sleep(Duration::from_secs(61)).await;
    let before = sessions(&p.app, &user).await;
    let r = token(
        &p,
        &rp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_grant");
    assert_eq!(sessions(&p.app, &user).await, before);
}

/// The admin API of the clients: register (secret shown once; `null` for
/// a public client), list, show, change, rotate the secret (the old one
/// stops at once), delete (its tokens stop); validation errors name the
/// field; unknown ids are 404; every change is audited without secrets.
async fn oauth_clients_are_managed_through_the_admin_api(target: &Target) {
    let p = provider(target).await;
    let app = &p.app;
    let body = json!({"name": "Grafana", "redirectUris": [REDIRECT], "grantTypes": ["authorization_code", "refresh_token", "client_credentials"], "scopes": ["openid", "email", "metrics"]});
    let r = admin(app, "POST", "/internal/oauth-clients", Some(&body)).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    super::assert_keys(&r.json, &["success", "clientId", "clientSecret", "client"]);
    let id = r.str("/clientId");
    let secret = r.str("/clientSecret");
    assert!(id.starts_with("oc_"), "{id}");
    let view = r.json["client"].clone();
    super::assert_keys(
        &view,
        &[
            "clientId",
            "name",
            "redirectUris",
            "postLogoutRedirectUris",
            "grantTypes",
            "tokenEndpointAuthMethod",
            "scopes",
            "firstParty",
            "idTokenSignedResponseAlg",
            "backchannelLogoutUri",
            "allSessions",
            "createdAt",
            "updatedAt",
        ],
    );
    assert_eq!(view["allSessions"], false);
    assert_eq!(view["tokenEndpointAuthMethod"], "client_secret_basic");
    assert_eq!(view["idTokenSignedResponseAlg"], "RS256");
    assert_eq!(view["firstParty"], false);
    assert!(!r.text.contains("secretHash"));

    let listed = admin(app, "GET", "/internal/oauth-clients", None).await;
    assert_eq!(listed.status.as_u16(), 200);
    assert!(
        listed.json["clients"].as_array().unwrap().contains(&view),
        "{}",
        listed.text
    );
    assert!(!listed.text.contains(&secret), "a secret is listed");
    let shown = admin(app, "GET", &format!("/internal/oauth-clients/{id}"), None).await;
    assert_eq!(shown.json, json!({"success": true, "client": view}));

    let changed = admin(
        app,
        "PATCH",
        &format!("/internal/oauth-clients/{id}"),
        Some(&json!({"name": "Grafana 2", "firstParty": true})),
    )
    .await;
    assert_eq!(changed.status.as_u16(), 200, "{}", changed.text);
    assert_eq!(changed.json["client"]["name"], "Grafana 2");
    assert_eq!(changed.json["client"]["firstParty"], true);
    assert_eq!(
        changed.json["client"]["redirectUris"],
        json!([REDIRECT]),
        "PATCH changed what it was not given"
    );

    // The secret works; rotated, the old one stops at once.
    let cc = form(&[("grant_type", "client_credentials")]);
    let r = post_form(app, "/oauth2/token", Some((&id, &secret)), &cc).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let machine_token = r.str("/access_token");
    let rotated = admin(app, "POST", &format!("/internal/oauth-clients/{id}/secret"), None).await;
    assert_eq!(rotated.status.as_u16(), 200, "{}", rotated.text);
    let new_secret = rotated.str("/clientSecret");
    assert_ne!(new_secret, secret);
    let r = post_form(app, "/oauth2/token", Some((&id, &secret)), &cc).await;
    assert_oauth_error(&r, 401, "invalid_client");
    let r = post_form(app, "/oauth2/token", Some((&id, &new_secret)), &cc).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);

    // Validation: 400 naming the field.
    for (bad, field) in [
        (json!({"redirectUris": [REDIRECT]}), "name"),
        (json!({"name": "", "redirectUris": [REDIRECT]}), "name"),
        (
            json!({"name": "x", "redirectUris": ["/relative"]}),
            "redirectUris",
        ),
        (
            json!({"name": "x", "redirectUris": ["https://a.example/cb#frag"]}),
            "redirectUris",
        ),
        (json!({"name": "x"}), "redirectUris"),
        (
            json!({"name": "x", "redirectUris": [REDIRECT], "grantTypes": ["password"]}),
            "grantTypes",
        ),
        (
            json!({"name": "x", "redirectUris": [REDIRECT], "grantTypes": []}),
            "grantTypes",
        ),
        (
            json!({"name": "x", "redirectUris": [REDIRECT], "tokenEndpointAuthMethod": "private_key_jwt"}),
            "tokenEndpointAuthMethod",
        ),
        (
            json!({"name": "x", "redirectUris": [REDIRECT], "idTokenSignedResponseAlg": "HS256"}),
            "idTokenSignedResponseAlg",
        ),
        (
            json!({"name": "x", "redirectUris": [REDIRECT], "scopes": []}),
            "scopes",
        ),
        (
            json!({"name": "x", "redirectUris": [REDIRECT], "scopes": ["a b"]}),
            "scopes",
        ),
        (
            json!({"name": "x", "grantTypes": ["client_credentials"], "tokenEndpointAuthMethod": "none"}),
            "grantTypes",
        ),
        (
            json!({"name": "x", "redirectUris": [REDIRECT], "tokenEndpointAuthMethod": "none", "allSessions": true}),
            "allSessions",
        ),
        (
            json!({"name": "x", "redirectUris": [REDIRECT], "backchannelLogoutUri": "ftp://a.example/bcl"}),
            "backchannelLogoutUri",
        ),
    ] {
        let r = admin(app, "POST", "/internal/oauth-clients", Some(&bad)).await;
        assert_eq!(r.status.as_u16(), 400, "{bad}: {}", r.text);
        assert_eq!(r.json["success"], false, "{}", r.text);
        let message = r.json["message"].as_str().unwrap();
        assert!(
            message.contains(field),
            "{bad}: {message:?} does not name {field}"
        );
    }
    let r = admin(
        app,
        "PATCH",
        &format!("/internal/oauth-clients/{id}"),
        Some(&json!({"redirectUris": ["nope"]})),
    )
    .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    assert!(r.json["message"].as_str().unwrap().contains("redirectUris"));

    // Unknown ids: 404.
    let unknown = "oc_000000000000000000000000";
    for (method, path) in [
        ("GET", format!("/internal/oauth-clients/{unknown}")),
        ("PATCH", format!("/internal/oauth-clients/{unknown}")),
        ("DELETE", format!("/internal/oauth-clients/{unknown}")),
        ("POST", format!("/internal/oauth-clients/{unknown}/secret")),
    ] {
        let body = (method == "PATCH").then(|| json!({"name": "x"}));
        let r = admin(app, method, &path, body.as_ref()).await;
        assert_eq!(r.status.as_u16(), 404, "{method} {path}: {}", r.text);
    }

    // A public client: no secret, none to rotate.
    let r = admin(
        app,
        "POST",
        "/internal/oauth-clients",
        Some(&json!({"name": "SPA", "redirectUris": [REDIRECT], "tokenEndpointAuthMethod": "none"})),
    )
    .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    assert_eq!(r.json["clientSecret"], Value::Null);
    let spa = r.str("/clientId");
    let r = admin(
        app,
        "POST",
        &format!("/internal/oauth-clients/{spa}/secret"),
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);

    // Without the admin token: 401.
    let r = app
        .request("GET", "/internal/oauth-clients", &[], Vec::new())
        .await;
    assert_eq!(r.status.as_u16(), 401, "{}", r.text);

    // Deleted: gone, its secret refused, its tokens inactive.
    let r = admin(app, "DELETE", &format!("/internal/oauth-clients/{id}"), None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let r = admin(app, "GET", &format!("/internal/oauth-clients/{id}"), None).await;
    assert_eq!(r.status.as_u16(), 404, "{}", r.text);
    let r = post_form(app, "/oauth2/token", Some((&id, &new_secret)), &cc).await;
    assert_oauth_error(&r, 401, "invalid_client");
    let headers = [
        (
            "authorization".to_owned(),
            format!("Bearer {}", app.admin_token()),
        ),
        (
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ),
    ];
    let r = app
        .request(
            "POST",
            "/oauth2/introspect",
            &headers,
            form(&[("token", &machine_token)]).into_bytes(),
        )
        .await;
    assert_eq!(r.json, json!({"active": false}), "{}", r.text);

    let audit = admin(app, "GET", "/internal/audit?limit=1000", None).await;
    assert_eq!(audit.status.as_u16(), 200, "{}", audit.text);
    let events = audit.json["events"].as_array().unwrap();
    let target = json!(format!("oauth_client:{id}"));
    for kind in [
        "admin_oauth_client_create",
        "admin_oauth_client_update",
        "admin_oauth_client_secret_rotate",
        "admin_oauth_client_delete",
    ] {
        assert!(
            events.iter().any(|e| e["kind"] == kind && e["target"] == target),
            "{kind} for {target} not audited"
        );
    }
    assert!(
        !audit.text.contains(&secret) && !audit.text.contains(&new_secret),
        "a secret is in the audit trail"
    );
}

crate::scenarios!(
    bad_authorization_requests_get_the_standard_errors,
    refused_code_exchanges_leave_the_code_usable,
    a_replayed_code_revokes_what_it_issued,
    parallel_exchanges_of_one_code_yield_at_most_one_token,
    refresh_tokens_of_another_client_are_refused,
    grants_a_client_may_not_use_are_unauthorized,
    an_expired_code_is_refused,
    oauth_clients_are_managed_through_the_admin_api,
);
