//! The provider's use cases over in-memory ports: the rules a client
//! library would notice, without HTTP.

use chrono::TimeDelta;
use sha2::{Digest, Sha256};

use crate::caller::Caller;
use crate::identity::account::SignUp;
use crate::oidc::client::{AuthMethod, ClientSpec, GrantType, IdTokenAlg, base64url};
use crate::oidc::flow::{AuthorizeParams, BrowserSession, Next, PageError};
use crate::oidc::grants::{ClientAuthError, GrantError, UserinfoError};
use crate::oidc::provider::RegisteredClient;
use crate::testing::{InMemoryAuth, in_memory_auth, open_policy};

const REDIRECT: &str = "https://app.example/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn caller() -> Caller {
    Caller::new("oidc")
}

fn spec(first_party: bool) -> ClientSpec {
    ClientSpec {
        name: "App".into(),
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec!["https://app.example/bye".into()],
        grant_types: vec![
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
        ],
        auth_method: AuthMethod::ClientSecretBasic,
        scopes: vec!["openid".into(), "email".into(), "api".into()],
        first_party,
        id_token_alg: IdTokenAlg::Rs256,
        backchannel_logout_uri: None,
        all_sessions: false,
    }
}

async fn world(first_party: bool) -> (InMemoryAuth, RegisteredClient, BrowserSession) {
    let w = in_memory_auth(open_policy());
    w.service
        .accounts()
        .sign_up(SignUp {
            login_id: "kimoidc".into(),
            email: "kim@example.com".into(),
            name: "김".into(),
            password: "correct horse".into(),
        })
        .await
        .unwrap();
    let client = w
        .service
        .oauth_clients()
        .register_client(spec(first_party), &Caller::new("internal"))
        .await
        .unwrap();
    let (_, browser) = w
        .service
        .provider()
        .sign_in("kimoidc", "correct horse", &caller())
        .await
        .unwrap();
    (w, client, browser)
}

fn params(client: &str) -> AuthorizeParams {
    AuthorizeParams {
        response_type: Some("code".into()),
        client_id: Some(client.into()),
        redirect_uri: Some(REDIRECT.into()),
        scope: Some("openid email".into()),
        state: Some("s".into()),
        nonce: Some("n".into()),
        code_challenge: Some(base64url(&Sha256::digest(VERIFIER.as_bytes()))),
        code_challenge_method: Some("S256".into()),
        ..AuthorizeParams::default()
    }
}

async fn code_for(w: &InMemoryAuth, client: &RegisteredClient, browser: &BrowserSession) -> String {
    let p = w.service.provider();
    let (c, uri) = p
        .authorize_target(&params(&client.client.client_id))
        .await
        .unwrap()
        .unwrap();
    let request = p
        .check_authorize(c, uri, &params(&client.client.client_id))
        .unwrap();
    p.issue_code(&request, browser).await.unwrap()
}

#[tokio::test]
async fn nothing_is_redirected_before_the_client_and_uri_are_known() {
    let (w, client, _) = world(true).await;
    let p = w.service.provider();
    let mut bad = params("oc_nobody");
    assert_eq!(
        p.authorize_target(&bad).await.unwrap().unwrap_err(),
        PageError::UnknownClient
    );
    bad = params(&client.client.client_id);
    bad.redirect_uri = Some("https://app.example/cb/".into());
    assert_eq!(
        p.authorize_target(&bad).await.unwrap().unwrap_err(),
        PageError::BadRedirect
    );
    for (field, value, error) in [
        ("method", Some("plain"), "invalid_request"),
        ("method", None, "invalid_request"),
        ("scope", Some("openid admin"), "invalid_scope"),
        ("response_type", Some("token"), "unsupported_response_type"),
    ] {
        let mut p2 = params(&client.client.client_id);
        match field {
            "method" => p2.code_challenge_method = value.map(str::to_owned),
            "scope" => p2.scope = value.map(str::to_owned),
            _ => p2.response_type = value.map(str::to_owned),
        }
        let (c, uri) = p.authorize_target(&p2).await.unwrap().unwrap();
        assert_eq!(
            p.check_authorize(c, uri, &p2).unwrap_err().error,
            error,
            "{field} {value:?}"
        );
    }
}

#[tokio::test]
async fn prompt_none_without_a_session_and_consent_rules() {
    let (w, client, browser) = world(false).await;
    let p = w.service.provider();
    let mut none = params(&client.client.client_id);
    none.prompt = Some("none".into());
    let (c, uri) = p.authorize_target(&none).await.unwrap().unwrap();
    let request = p.check_authorize(c, uri, &none).unwrap();
    assert_eq!(
        p.next_step(&request, None, false)
            .await
            .unwrap()
            .unwrap_err()
            .error,
        "login_required"
    );
    assert_eq!(
        p.next_step(&request, Some(browser.clone()), false)
            .await
            .unwrap()
            .unwrap_err()
            .error,
        "consent_required"
    );
    p.remember_consent(&request, &browser).await.unwrap();
    assert!(matches!(
        p.next_step(&request, Some(browser), false).await.unwrap(),
        Ok(Next::Code(_))
    ));
}

#[tokio::test]
async fn a_code_is_single_use_and_a_replay_revokes_its_grant() {
    let (w, client, browser) = world(true).await;
    let p = w.service.provider();
    let c = client.client.clone();
    let code = code_for(&w, &client, &browser).await;
    // Wrong verifier: refused, and the code still works afterwards.
    let wrong = p
        .exchange_code(&c, Some(&code), Some(REDIRECT), Some(&"x".repeat(43)), &caller())
        .await;
    assert!(matches!(wrong, Err(GrantError::InvalidGrant(_))));
    let tokens = p
        .exchange_code(&c, Some(&code), Some(REDIRECT), Some(VERIFIER), &caller())
        .await
        .unwrap();
    assert!(tokens.id_token.is_some() && tokens.refresh_token.is_some());
    assert!(p.userinfo(&tokens.access_token).await.is_ok());
    let replay = p
        .exchange_code(&c, Some(&code), Some(REDIRECT), Some(VERIFIER), &caller())
        .await;
    assert!(matches!(replay, Err(GrantError::InvalidGrant(_))));
    assert!(matches!(
        p.userinfo(&tokens.access_token).await,
        Err(UserinfoError::InvalidToken)
    ));
    let refreshed = p
        .refresh(&c, tokens.refresh_token.as_deref(), None, &caller())
        .await;
    assert!(matches!(refreshed, Err(GrantError::InvalidGrant(_))));
}

#[tokio::test]
async fn codes_expire_after_sixty_seconds() {
    let (w, client, browser) = world(true).await;
    let code = code_for(&w, &client, &browser).await;
    w.clock.advance(TimeDelta::seconds(61));
    let late = w
        .service
        .provider()
        .exchange_code(
            &client.client,
            Some(&code),
            Some(REDIRECT),
            Some(VERIFIER),
            &caller(),
        )
        .await;
    assert!(matches!(late, Err(GrantError::InvalidGrant(_))));
}

#[tokio::test]
async fn refresh_tokens_belong_to_their_client() {
    let (w, client, browser) = world(true).await;
    let other = w
        .service
        .oauth_clients()
        .register_client(spec(true), &Caller::new("internal"))
        .await
        .unwrap();
    let p = w.service.provider();
    let code = code_for(&w, &client, &browser).await;
    let tokens = p
        .exchange_code(
            &client.client,
            Some(&code),
            Some(REDIRECT),
            Some(VERIFIER),
            &caller(),
        )
        .await
        .unwrap();
    let stolen = p
        .refresh(&other.client, tokens.refresh_token.as_deref(), None, &caller())
        .await;
    assert!(matches!(stolen, Err(GrantError::InvalidGrant(_))));
    let narrower = p
        .refresh(
            &client.client,
            tokens.refresh_token.as_deref(),
            Some("openid"),
            &caller(),
        )
        .await
        .unwrap();
    assert_eq!(narrower.scope, "openid");
    let wider = p
        .refresh(
            &client.client,
            narrower.refresh_token.as_deref(),
            Some("openid api"),
            &caller(),
        )
        .await;
    assert!(matches!(wider, Err(GrantError::InvalidScope(_))));
}

#[tokio::test]
async fn client_secrets_and_credentials_grants() {
    let (w, client, _) = world(true).await;
    let p = w.service.provider();
    let id = &client.client.client_id;
    let secret = client.secret.clone().unwrap();
    assert!(p.authenticate_client(id, Some(&secret)).await.is_ok());
    assert!(matches!(
        p.authenticate_client(id, Some("nope")).await,
        Err(ClientAuthError::Invalid)
    ));
    assert!(matches!(
        p.authenticate_client(id, None).await,
        Err(ClientAuthError::Invalid)
    ));
    let rotated = w
        .service
        .oauth_clients()
        .rotate_client_secret(id, &Caller::new("internal"))
        .await
        .unwrap();
    assert!(matches!(
        p.authenticate_client(id, Some(&secret)).await,
        Err(ClientAuthError::Invalid)
    ));
    let c = p
        .authenticate_client(id, rotated.secret.as_deref())
        .await
        .unwrap();
    let granted = p.client_credentials(&c, None).unwrap();
    assert_eq!(granted.scope, "api", "the user scopes need a user");
    assert!(granted.id_token.is_none() && granted.refresh_token.is_none());
    assert!(matches!(
        p.client_credentials(&c, Some("openid")),
        Err(GrantError::InvalidScope(_))
    ));
    assert!(matches!(
        p.userinfo(&granted.access_token).await,
        Err(UserinfoError::InvalidToken)
    ));
}

#[tokio::test]
async fn logout_ends_the_browser_session_and_its_grants() {
    let (w, client, browser) = world(true).await;
    let p = w.service.provider();
    let code = code_for(&w, &client, &browser).await;
    let tokens = p
        .exchange_code(
            &client.client,
            Some(&code),
            Some(REDIRECT),
            Some(VERIFIER),
            &caller(),
        )
        .await
        .unwrap();
    let cookie = {
        let (cookie, _) = p.sign_in("kimoidc", "correct horse", &caller()).await.unwrap();
        cookie
    };
    assert!(p.browser_session(&cookie).await.unwrap().is_some());
    let plan = p
        .check_logout(tokens.id_token.as_deref(), None, Some("https://app.example/bye"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(plan.redirect.as_deref(), Some("https://app.example/bye"));
    p.end_session(Some(&cookie), &plan, &caller()).await.unwrap();
    assert!(p.browser_session(&cookie).await.unwrap().is_none());
    assert!(matches!(
        p.userinfo(&tokens.access_token).await,
        Err(UserinfoError::InvalidToken)
    ));
    let unregistered = p
        .check_logout(
            None,
            Some(&client.client.client_id),
            Some("https://evil.example/"),
        )
        .await;
    assert!(unregistered.unwrap().is_err());
}
