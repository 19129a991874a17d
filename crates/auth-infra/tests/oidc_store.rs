//! The OpenID provider's storage on both databases: clients round-trip and
//! change, a code is taken once however many take it at once, a replay
//! names the grant its exchange opened, consents are replaced, grants are
//! found by browser session, and the purge deletes expired codes only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use auth_domain::housekeeping::Housekeeping;
use auth_domain::identity::user::UserId;
use auth_domain::oidc::client::{AuthMethod, GrantType, IdTokenAlg, OAuthClient};
use auth_domain::oidc::ports::{CodeTake, Grant, OAuthClientStore, OAuthGrantStore, StoredCode};
use auth_domain::sessions::session::SessionId;
use auth_infra::testdb::{TestBackend, TestDatabase};
use auth_infra::{Database, DieselHousekeeping, DieselOidcStore};
use chrono::{SubsecRound, TimeDelta, Utc};

use common::{open, session};

fn client(id: &str) -> OAuthClient {
    let now = Utc::now().trunc_subsecs(0);
    OAuthClient {
        client_id: id.to_owned(),
        name: "Grafana".into(),
        secret_hash: Some("ab".repeat(32)),
        redirect_uris: vec!["https://a.example/cb".into(), "https://b.example/cb?x=1".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        auth_method: AuthMethod::ClientSecretPost,
        scopes: vec!["openid".into(), "email".into()],
        first_party: true,
        id_token_alg: IdTokenAlg::EdDsa,
        backchannel_logout_uri: Some("https://a.example/bcl".into()),
        all_sessions: true,
        created_at: now,
        updated_at: now,
    }
}

async fn user(db: &Database, login: &str) -> UserId {
    common::user(db, login).await.0
}

fn code(hash: &str, client: &str, user: UserId, browser: SessionId, expires_in: TimeDelta) -> StoredCode {
    let now = Utc::now().trunc_subsecs(0);
    StoredCode {
        code_hash: hash.into(),
        client_id: client.into(),
        user_id: user,
        browser_session: browser,
        redirect_uri: "https://a.example/cb".into(),
        scope: "openid email".into(),
        nonce: Some("n".into()),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        auth_time: now,
        amr: "pwd".into(),
        created_at: now,
        expires_at: now + expires_in,
    }
}

async fn clients_round_trip_and_change(backend: TestBackend) {
    let t = TestDatabase::new(backend);
    let db = open(&t).await;
    let store = DieselOidcStore::new(db);
    let c = client("oc_1");
    store.create(&c).await.unwrap();
    assert_eq!(store.get("oc_1").await.unwrap(), Some(c.clone()));
    assert_eq!(store.get("oc_2").await.unwrap(), None);
    let changed = OAuthClient {
        name: "Grafana 2".into(),
        scopes: vec!["openid".into()],
        first_party: false,
        backchannel_logout_uri: None,
        all_sessions: false,
        secret_hash: Some("cd".repeat(32)),
        ..c.clone()
    };
    assert!(store.update(&changed).await.unwrap());
    let read = store.get("oc_1").await.unwrap().unwrap();
    assert_eq!(read.name, "Grafana 2");
    assert_eq!(
        read.secret_hash, c.secret_hash,
        "a settings change keeps the secret"
    );
    assert!(
        store
            .set_secret("oc_1", &"ef".repeat(32), Utc::now())
            .await
            .unwrap()
    );
    assert_eq!(
        store.get("oc_1").await.unwrap().unwrap().secret_hash,
        Some("ef".repeat(32))
    );
    assert!(!store.set_secret("oc_9", "x", Utc::now()).await.unwrap());
    assert_eq!(store.list().await.unwrap().len(), 1);
    assert!(store.delete("oc_1").await.unwrap());
    assert!(!store.delete("oc_1").await.unwrap());
    assert!(store.list().await.unwrap().is_empty());
}

async fn a_code_is_taken_once_and_a_replay_names_its_grant(backend: TestBackend) {
    let t = TestDatabase::new(backend);
    let db = open(&t).await;
    let store = DieselOidcStore::new(db.clone());
    store.create(&client("oc_1")).await.unwrap();
    let u = user(&db, "codeuser").await;
    let browser = session(&db, u, "browser").await;
    store
        .put_code(&code("h1", "oc_1", u, browser, TimeDelta::seconds(60)))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.take_code("h1", Utc::now()).await.unwrap() })
        })
        .collect();
    let mut taken = 0;
    for task in tasks {
        match task.await.unwrap() {
            CodeTake::Taken(c) => {
                taken += 1;
                assert_eq!(c.nonce.as_deref(), Some("n"));
            }
            CodeTake::Replayed(None) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(taken, 1, "exactly one exchange wins");
    assert!(store.code_replayed("h1").await.unwrap(), "the losers marked it");
    let grant = session(&db, u, "oidc").await;
    store.bind_code("h1", grant).await.unwrap();
    assert_eq!(
        store.take_code("h1", Utc::now()).await.unwrap(),
        CodeTake::Replayed(Some(grant))
    );
    assert_eq!(
        store.take_code("nope", Utc::now()).await.unwrap(),
        CodeTake::Unknown
    );
    // An expired code is unknown, taken or not.
    store
        .put_code(&code("h2", "oc_1", u, browser, TimeDelta::seconds(-1)))
        .await
        .unwrap();
    assert_eq!(store.code("h2", Utc::now()).await.unwrap(), None);
    assert_eq!(
        store.take_code("h2", Utc::now()).await.unwrap(),
        CodeTake::Unknown
    );
}

async fn grants_and_consents(backend: TestBackend) {
    let t = TestDatabase::new(backend);
    let db = open(&t).await;
    let store = DieselOidcStore::new(db.clone());
    store.create(&client("oc_1")).await.unwrap();
    let u = user(&db, "grantuser").await;
    let browser = session(&db, u, "browser").await;
    let g = session(&db, u, "oidc").await;
    let grant = Grant {
        session_id: g,
        client_id: "oc_1".into(),
        browser_session: Some(browser),
        scope: "openid".into(),
        auth_time: Utc::now().trunc_subsecs(0),
        amr: "pwd".into(),
    };
    store.put_grant(&grant).await.unwrap();
    assert_eq!(store.grant(g).await.unwrap(), Some(grant.clone()));
    assert_eq!(store.grants_of_browser(browser).await.unwrap(), vec![grant]);
    assert!(store.grants_of_browser(g).await.unwrap().is_empty());
    assert_eq!(store.consent(u, "oc_1").await.unwrap(), None);
    store.put_consent(u, "oc_1", "openid", Utc::now()).await.unwrap();
    store
        .put_consent(u, "oc_1", "openid email", Utc::now())
        .await
        .unwrap();
    assert_eq!(
        store.consent(u, "oc_1").await.unwrap().as_deref(),
        Some("openid email")
    );
    // Deleting the client takes its consents with it.
    assert!(store.delete("oc_1").await.unwrap());
    assert_eq!(store.consent(u, "oc_1").await.unwrap(), None);
}

async fn the_purge_deletes_expired_codes_only(backend: TestBackend) {
    let t = TestDatabase::new(backend);
    let db = open(&t).await;
    let store = DieselOidcStore::new(db.clone());
    store.create(&client("oc_1")).await.unwrap();
    let u = user(&db, "purgecodes").await;
    let browser = session(&db, u, "browser").await;
    store
        .put_code(&code("live", "oc_1", u, browser, TimeDelta::seconds(60)))
        .await
        .unwrap();
    store
        .put_code(&code("dead", "oc_1", u, browser, TimeDelta::seconds(-5)))
        .await
        .unwrap();
    let policy = auth_domain::AuthPolicy::default();
    let retention = auth_domain::housekeeping::RetentionPolicy::from_policy(&policy, None);
    let report = DieselHousekeeping::new(db.clone())
        .purge(&retention.cutoffs(Utc::now()))
        .await
        .unwrap();
    assert_eq!(report.authorization_codes, 1);
    assert!(store.code("live", Utc::now()).await.unwrap().is_some());
    assert_eq!(
        store
            .take_code("dead", Utc::now() - TimeDelta::seconds(30))
            .await
            .unwrap(),
        CodeTake::Unknown
    );
}

auth_infra::on_both_backends!(
    clients_round_trip_and_change,
    a_code_is_taken_once_and_a_replay_names_its_grant,
    grants_and_consents,
    the_purge_deletes_expired_codes_only,
);
