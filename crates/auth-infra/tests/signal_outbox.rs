//! The session-signal outbox on both databases: a revocation writes a row
//! per client that hears of it, in its own transaction and only once
//! however many revoke at once; claims by two instances at once never
//! share a row; a leased row comes back when its lease ends (an instance
//! killed mid-delivery); the feed, acknowledgements and the purge.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use std::collections::BTreeSet;

use auth_domain::oidc::client::{AuthMethod, GrantType, IdTokenAlg, OAuthClient};
use auth_domain::oidc::ports::{Grant, OAuthClientStore, OAuthGrantStore};
use auth_domain::oidc::signals::SignalOutbox;
use auth_domain::ports::SessionStore;
use auth_domain::sessions::session::{RevokeReason, SessionId};
use auth_infra::{Database, DieselOidcStore, DieselSessionStore, DieselSignalOutbox};
use chrono::{SubsecRound, TimeDelta, Utc};
use common::{session, user};

/// A client: `uri` its back-channel URI, `secret` whether confidential.
fn client(id: &str, uri: Option<&str>, secret: bool, all: bool) -> OAuthClient {
    let now = Utc::now().trunc_subsecs(0);
    OAuthClient {
        client_id: id.to_owned(),
        name: id.to_owned(),
        secret_hash: secret.then(|| "ab".repeat(32)),
        redirect_uris: vec!["https://a.example/cb".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::AuthorizationCode],
        auth_method: if secret {
            AuthMethod::ClientSecretBasic
        } else {
            AuthMethod::None
        },
        scopes: vec!["openid".into()],
        first_party: false,
        id_token_alg: IdTokenAlg::Es256,
        backchannel_logout_uri: uri.map(str::to_owned),
        all_sessions: all,
        created_at: now,
        updated_at: now,
    }
}

async fn grant(db: &Database, session: SessionId, client: &str) {
    DieselOidcStore::new(db.clone())
        .put_grant(&Grant {
            session_id: session,
            client_id: client.into(),
            browser_session: None,
            scope: "openid".into(),
            auth_time: Utc::now().trunc_subsecs(0),
            amr: "pwd".into(),
        })
        .await
        .unwrap();
}

/// Every signal of every client, as `(client, session)`.
async fn rows(outbox: &DieselSignalOutbox, clients: &[&str]) -> BTreeSet<(String, String)> {
    let mut all = BTreeSet::new();
    for c in clients {
        for s in outbox
            .feed(c, Utc::now() - TimeDelta::days(1), 1000)
            .await
            .unwrap()
        {
            all.insert((s.client_id, s.session.to_string()));
        }
    }
    all
}

async fn a_revocation_writes_one_row_per_client_that_hears(db: Database) {
    let oidc = DieselOidcStore::new(db.clone());
    oidc.create(&client("oc_all", Some("https://s.example/bcl"), true, true))
        .await
        .unwrap();
    oidc.create(&client("oc_pull", None, true, true)).await.unwrap();
    oidc.create(&client("oc_grant", Some("https://rp.example/bcl"), true, false))
        .await
        .unwrap();
    oidc.create(&client("oc_other", Some("https://x.example/bcl"), true, false))
        .await
        .unwrap();
    // A public client without a URI can hear nothing: no row.
    oidc.create(&client("oc_spa", None, false, true)).await.unwrap();
    let (u, uuid) = user(&db, "signaluser").await;
    let contract = session(&db, u, "standard").await;
    let granted = session(&db, u, "oidc").await;
    grant(&db, granted, "oc_grant").await;
    let sessions = DieselSessionStore::new(db.clone());
    let outbox = DieselSignalOutbox::new(db.clone());
    let clients = ["oc_all", "oc_pull", "oc_grant", "oc_other", "oc_spa"];

    // Twenty revocations of one session at once: one end, one row each.
    let now = Utc::now();
    let mut tries = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let sessions = sessions.clone();
        tries.spawn(async move {
            sessions
                .revoke(contract, RevokeReason::Logout, now)
                .await
                .unwrap()
        });
    }
    let won = tries.join_all().await;
    assert_eq!(won.iter().filter(|w| **w).count(), 1);
    let c = contract.to_string();
    assert_eq!(
        rows(&outbox, &clients).await,
        BTreeSet::from([("oc_all".into(), c.clone()), ("oc_pull".into(), c.clone())])
    );
    // revoke_all: the grant's client hears of its grant; the all-sessions
    // clients of it too; already-ended sessions are not told again.
    let ended = sessions
        .revoke_all(u, RevokeReason::AccountDisabled, Utc::now())
        .await
        .unwrap();
    assert_eq!(ended, vec![granted]);
    let g = granted.to_string();
    assert_eq!(
        rows(&outbox, &clients).await,
        BTreeSet::from([
            ("oc_all".into(), c.clone()),
            ("oc_pull".into(), c),
            ("oc_all".into(), g.clone()),
            ("oc_pull".into(), g.clone()),
            ("oc_grant".into(), g),
        ])
    );
    let feed = outbox
        .feed("oc_grant", Utc::now() - TimeDelta::days(1), 10)
        .await
        .unwrap();
    assert_eq!(feed[0].subject, uuid);
    assert_eq!(feed[0].reason, RevokeReason::AccountDisabled);
    // Pushes only for clients with a URI; the pull-only rows are not due.
    assert_eq!(outbox.backlog().await.unwrap().pending, 3);
}

async fn claims_never_share_a_row_and_a_lease_ends(db: Database) {
    DieselOidcStore::new(db.clone())
        .create(&client("oc_all", Some("https://s.example/bcl"), true, true))
        .await
        .unwrap();
    let (u, _) = user(&db, "claimuser").await;
    for _ in 0..40 {
        session(&db, u, "standard").await;
    }
    let sessions = DieselSessionStore::new(db.clone());
    assert_eq!(
        sessions
            .revoke_all(u, RevokeReason::Logout, Utc::now())
            .await
            .unwrap()
            .len(),
        40
    );
    // Two instances claim at once, in small batches, until nothing is due.
    let (a, b) = (
        DieselSignalOutbox::new(db.clone()),
        DieselSignalOutbox::new(db.clone()),
    );
    let now = Utc::now() + TimeDelta::seconds(1);
    let lease = now + TimeDelta::seconds(60);
    let mut taken = Vec::new();
    loop {
        let (x, y) = tokio::join!(a.claim_due(now, 7, lease), b.claim_due(now, 7, lease));
        let (x, y) = (x.unwrap(), y.unwrap());
        if x.is_empty() && y.is_empty() {
            break;
        }
        taken.extend(x.into_iter().chain(y).map(|d| {
            assert_eq!(d.target.as_ref().unwrap().uri, "https://s.example/bcl");
            assert_eq!(d.signal.attempts, 1);
            d.signal.id
        }));
    }
    let distinct: BTreeSet<i64> = taken.iter().copied().collect();
    assert_eq!((taken.len(), distinct.len()), (40, 40), "a row was taken twice");
    // The claiming instance is killed: nothing is recorded. Before the
    // lease ends nothing is due; after, every row comes back.
    assert!(
        a.claim_due(lease - TimeDelta::seconds(1), 100, lease)
            .await
            .unwrap()
            .is_empty()
    );
    let again = a
        .claim_due(lease, 100, lease + TimeDelta::seconds(60))
        .await
        .unwrap();
    assert_eq!(again.len(), 40);
    assert!(again.iter().all(|d| d.signal.attempts == 2));
    // Delivered rows are done; a retry waits for its time; a given-up row
    // leaves the backlog.
    let ids: Vec<i64> = again.iter().map(|d| d.signal.id).collect();
    a.delivered(&ids[..38], Utc::now()).await.unwrap();
    let later = lease + TimeDelta::seconds(300);
    a.retry_at(ids[38], later, "HTTP 500").await.unwrap();
    a.give_up(ids[39], Utc::now(), "gone").await.unwrap();
    assert_eq!(a.backlog().await.unwrap().pending, 1);
    assert!(
        a.claim_due(later - TimeDelta::seconds(1), 100, later)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        a.claim_due(later, 100, later + TimeDelta::seconds(9))
            .await
            .unwrap()
            .len(),
        1
    );
    // The client deleted: its pending row is claimed without a target.
    assert!(DieselOidcStore::new(db.clone()).delete("oc_all").await.unwrap());
    let orphan = a
        .claim_due(later + TimeDelta::seconds(9), 100, later + TimeDelta::seconds(99))
        .await
        .unwrap();
    assert_eq!(orphan.len(), 1);
    assert!(orphan[0].target.is_none());
}

async fn acknowledgements_and_the_purge(db: Database) {
    let oidc = DieselOidcStore::new(db.clone());
    oidc.create(&client("oc_a", None, true, true)).await.unwrap();
    oidc.create(&client("oc_b", None, true, true)).await.unwrap();
    let (u, _) = user(&db, "ackuser").await;
    for _ in 0..3 {
        session(&db, u, "standard").await;
    }
    DieselSessionStore::new(db.clone())
        .revoke_all(u, RevokeReason::Logout, Utc::now())
        .await
        .unwrap();
    let outbox = DieselSignalOutbox::new(db.clone());
    let since = Utc::now() - TimeDelta::hours(1);
    let a = outbox.feed("oc_a", since, 10).await.unwrap();
    let b = outbox.feed("oc_b", since, 10).await.unwrap();
    assert_eq!((a.len(), b.len()), (3, 3));
    assert!(
        a.iter().all(|s| b.iter().all(|t| t.jti != s.jti)),
        "a jti is shared"
    );
    // oc_b naming oc_a's jti acknowledges nothing.
    assert_eq!(
        outbox.ack("oc_b", &[a[0].jti.clone()], Utc::now()).await.unwrap(),
        0
    );
    let jtis: Vec<String> = a[..2].iter().map(|s| s.jti.clone()).collect();
    assert_eq!(outbox.ack("oc_a", &jtis, Utc::now()).await.unwrap(), 2);
    assert_eq!(
        outbox.ack("oc_a", &jtis, Utc::now()).await.unwrap(),
        0,
        "acknowledged twice"
    );
    assert_eq!(outbox.feed("oc_a", since, 10).await.unwrap().len(), 1);
    assert_eq!(outbox.feed("oc_b", since, 10).await.unwrap().len(), 3);
    // Older than the retention: out of the feed and purged (no pushes
    // pending here).
    assert!(
        outbox
            .feed("oc_b", Utc::now() + TimeDelta::seconds(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(outbox.purge(Utc::now() - TimeDelta::hours(1)).await.unwrap(), 0);
    assert_eq!(outbox.purge(Utc::now() + TimeDelta::seconds(1)).await.unwrap(), 6);
}

async fn a_pending_push_outlives_the_purge(db: Database) {
    DieselOidcStore::new(db.clone())
        .create(&client("oc_push", Some("https://s.example/bcl"), true, true))
        .await
        .unwrap();
    let (u, _) = user(&db, "pendinguser").await;
    session(&db, u, "standard").await;
    DieselSessionStore::new(db.clone())
        .revoke_all(u, RevokeReason::Logout, Utc::now())
        .await
        .unwrap();
    let outbox = DieselSignalOutbox::new(db.clone());
    assert_eq!(outbox.purge(Utc::now() + TimeDelta::days(30)).await.unwrap(), 0);
    assert_eq!(outbox.backlog().await.unwrap().pending, 1);
}

auth_infra::on_both_backends!(with crate::common::on_migrated:
    a_revocation_writes_one_row_per_client_that_hears,
    claims_never_share_a_row_and_a_lease_ends,
    acknowledgements_and_the_purge,
    a_pending_push_outlives_the_purge,
);

/// PostgreSQL only: a revocation of a thousand sessions (a revoke-all of a
/// user who holds them) crosses instances whole, though one NOTIFY holds
/// 8000 bytes: the bus splits it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_of_a_thousand_sessions_crosses_instances_postgres() {
    use auth_domain::ports::EventBus;
    use auth_domain::sessions::events::Event;
    use auth_infra::testdb::{TestBackend, TestDatabase};
    use auth_infra::{LocalEventBus, PgEventBus};
    let t = TestDatabase::new(TestBackend::Postgres);
    let db = common::open(&t).await;
    let local = LocalEventBus::new(4096);
    let mut heard = local.subscribe();
    let bus = PgEventBus::start(
        db.clone(),
        t.url().to_owned(),
        local,
        std::time::Duration::from_millis(5),
    );
    // A publisher of another instance (no listener of its own).
    let other = PgEventBus::publisher(db.clone());
    // The listener connects in the background: probe until it hears.
    let probe = Event::Notification {
        user: uuid::Uuid::new_v4(),
        message: "probe".into(),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    'listening: loop {
        other.publish(probe.clone()).await;
        while let Ok(Ok(e)) = tokio::time::timeout(std::time::Duration::from_millis(200), heard.recv()).await
        {
            if e == probe {
                break 'listening;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the listener never heard the probe"
        );
    }
    let many: Vec<SessionId> = (0..1000)
        .map(|_| SessionId::from_uuid(uuid::Uuid::new_v4()))
        .collect();
    other
        .publish(Event::SessionsRevoked {
            sessions: many.clone(),
            reason: RevokeReason::AccountDisabled,
        })
        .await;
    let mut got = Vec::new();
    while got.len() < many.len() {
        match tokio::time::timeout(std::time::Duration::from_secs(10), heard.recv()).await {
            Ok(Ok(Event::SessionsRevoked { sessions, .. })) => got.extend(sessions),
            Ok(Ok(_)) => {}
            other => panic!("heard {} of {} sessions, then {other:?}", got.len(), many.len()),
        }
    }
    assert_eq!(got, many);
    bus.stop_listening();
}
