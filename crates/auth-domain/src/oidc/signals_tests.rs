//! The delivery and the feed over the in-memory outbox: retries, give-ups,
//! acknowledgements, what a receiver would notice.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::*;
use crate::oidc::client::{AuthMethod, GrantType};
use crate::platform::Clock;
use crate::testing::{in_memory_auth, open_policy};

/// Answers from a script, recording what was posted.
#[derive(Default)]
struct ScriptedSender {
    fail: Mutex<bool>,
    posts: Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl LogoutSender for ScriptedSender {
    async fn send(&self, uri: &str, token: &str) -> Result<(), String> {
        self.posts
            .lock()
            .unwrap()
            .push((uri.to_owned(), token.to_owned()));
        if *self.fail.lock().unwrap() {
            Err("HTTP 500".to_owned())
        } else {
            Ok(())
        }
    }
}

fn signal(id: i64, client: &str, ended_at: DateTime<Utc>) -> Signal {
    Signal {
        id,
        jti: format!("jti-{id}"),
        client_id: client.into(),
        session: SessionId::from_uuid(Uuid::from_u128(id as u128)),
        subject: Uuid::from_u128(7),
        reason: RevokeReason::Logout,
        ended_at,
        attempts: 0,
    }
}

fn target() -> Option<Target> {
    Some(Target {
        uri: "https://rp.example/bcl".into(),
        alg: IdTokenAlg::Es256,
    })
}

fn client(id: &str) -> OAuthClient {
    OAuthClient {
        client_id: id.into(),
        name: "RP".into(),
        secret_hash: Some("x".into()),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::ClientCredentials],
        auth_method: AuthMethod::ClientSecretBasic,
        scopes: vec!["openid".into()],
        first_party: false,
        id_token_alg: IdTokenAlg::EdDsa,
        backchannel_logout_uri: None,
        all_sessions: true,
        created_at: DateTime::<Utc>::UNIX_EPOCH,
        updated_at: DateTime::<Utc>::UNIX_EPOCH,
    }
}

#[tokio::test]
async fn a_due_push_is_signed_with_the_clients_algorithm_and_delivered_once() {
    let w = in_memory_auth(open_policy());
    let now = w.clock.now();
    w.oidc.signals.add(signal(1, "oc_a", now), target(), true);
    let sender = ScriptedSender::default();
    let policy = DeliveryPolicy::default();
    let report = w.service.signals().deliver_due(&sender, &policy).await.unwrap();
    assert_eq!((report.taken, report.delivered), (1, 1));
    let posts = sender.posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].0, "https://rp.example/bcl");
    assert!(posts[0].1.starts_with("logout:ES256:oc_a:"), "{}", posts[0].1);
    assert!(w.oidc.signals.all()[0].delivered_at.is_some());
    // Nothing is due any more: a second run sends nothing.
    let again = w.service.signals().deliver_due(&sender, &policy).await.unwrap();
    assert_eq!(again.taken, 0);
    assert_eq!(sender.posts.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_backoff_then_given_up_after_the_retry_time() {
    let w = in_memory_auth(open_policy());
    let ended = w.clock.now();
    w.oidc.signals.add(signal(1, "oc_a", ended), target(), true);
    let sender = ScriptedSender::default();
    *sender.fail.lock().unwrap() = true;
    let policy = DeliveryPolicy {
        retry_for: TimeDelta::seconds(10),
        max_backoff: TimeDelta::seconds(4),
        ..DeliveryPolicy::default()
    };
    let signals = w.service.signals();
    let first = signals.deliver_due(&sender, &policy).await.unwrap();
    assert_eq!((first.retried, first.failed), (1, 0));
    let row = &w.oidc.signals.all()[0];
    assert_eq!(row.next_attempt_at, ended + TimeDelta::seconds(1));
    assert_eq!(row.last_error.as_deref(), Some("HTTP 500"));
    // Not due before its time.
    assert_eq!(signals.deliver_due(&sender, &policy).await.unwrap().taken, 0);
    w.clock.advance(TimeDelta::seconds(1));
    assert_eq!(signals.deliver_due(&sender, &policy).await.unwrap().retried, 1);
    assert_eq!(
        w.oidc.signals.all()[0].next_attempt_at,
        ended + TimeDelta::seconds(3),
        "the second wait doubles"
    );
    // Past the retry time, the next failure gives it up.
    w.clock.advance(TimeDelta::seconds(8));
    let last = signals.deliver_due(&sender, &policy).await.unwrap();
    assert_eq!((last.taken, last.failed), (1, 1));
    assert!(w.oidc.signals.all()[0].gave_up_at.is_some());
    assert_eq!(signals.backlog().await.unwrap().pending, 0);
}

#[tokio::test]
async fn a_receiver_back_before_the_retry_time_gets_the_event() {
    let w = in_memory_auth(open_policy());
    w.oidc
        .signals
        .add(signal(1, "oc_a", w.clock.now()), target(), true);
    let sender = ScriptedSender::default();
    *sender.fail.lock().unwrap() = true;
    let policy = DeliveryPolicy::default();
    let signals = w.service.signals();
    for _ in 0..6 {
        signals.deliver_due(&sender, &policy).await.unwrap();
        w.clock.advance(TimeDelta::seconds(60));
    }
    assert_eq!(signals.backlog().await.unwrap().pending, 1);
    *sender.fail.lock().unwrap() = false;
    let report = signals.deliver_due(&sender, &policy).await.unwrap();
    assert_eq!(report.delivered, 1);
    assert_eq!(signals.backlog().await.unwrap(), Backlog::default());
}

#[tokio::test]
async fn a_push_to_a_client_gone_is_given_up_without_a_post() {
    let w = in_memory_auth(open_policy());
    w.oidc
        .signals
        .add(signal(1, "oc_gone", w.clock.now()), None, true);
    let sender = ScriptedSender::default();
    let report = w
        .service
        .signals()
        .deliver_due(&sender, &DeliveryPolicy::default())
        .await
        .unwrap();
    assert_eq!(report.failed, 1);
    assert!(sender.posts.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_feed_answers_unacknowledged_sets_of_the_client_only_and_acks_remove_them() {
    let w = in_memory_auth(open_policy());
    let now = w.clock.now();
    for id in 1..=3 {
        w.oidc.signals.add(signal(id, "oc_a", now), None, false);
    }
    w.oidc.signals.add(signal(4, "oc_b", now), None, false);
    let signals = w.service.signals();
    let a = client("oc_a");
    let retention = TimeDelta::hours(1);
    let page = signals
        .poll(
            &a,
            &PollRequest {
                max_events: Some(2),
                ack: vec![],
            },
            retention,
        )
        .await
        .unwrap();
    assert_eq!(
        page.sets.iter().map(|(j, _)| j.as_str()).collect::<Vec<_>>(),
        ["jti-1", "jti-2"]
    );
    assert!(page.more_available);
    assert!(
        page.sets[0].1.starts_with("set:EdDSA:oc_a:jti-1:"),
        "{}",
        page.sets[0].1
    );
    // Acknowledging (and naming another client's jti, which changes nothing).
    let next = signals
        .poll(
            &a,
            &PollRequest {
                max_events: None,
                ack: vec!["jti-1".into(), "jti-2".into(), "jti-4".into()],
            },
            retention,
        )
        .await
        .unwrap();
    assert_eq!(next.sets.len(), 1);
    assert_eq!(next.sets[0].0, "jti-3");
    assert!(!next.more_available);
    let b = signals
        .poll(&client("oc_b"), &PollRequest::default(), retention)
        .await
        .unwrap();
    assert_eq!(b.sets.len(), 1, "another client's ack does not touch oc_b's feed");
    // maxEvents 0 only acknowledges.
    let only_ack = signals
        .poll(
            &a,
            &PollRequest {
                max_events: Some(0),
                ack: vec!["jti-3".into()],
            },
            retention,
        )
        .await
        .unwrap();
    assert!(only_ack.sets.is_empty());
    assert!(
        signals
            .poll(&a, &PollRequest::default(), retention)
            .await
            .unwrap()
            .sets
            .is_empty()
    );
}

#[tokio::test]
async fn the_feed_leaves_out_signals_older_than_the_retention() {
    let w = in_memory_auth(open_policy());
    w.oidc.signals.add(signal(1, "oc_a", w.clock.now()), None, false);
    w.clock.advance(TimeDelta::hours(2));
    let page = w
        .service
        .signals()
        .poll(&client("oc_a"), &PollRequest::default(), TimeDelta::hours(1))
        .await
        .unwrap();
    assert!(page.sets.is_empty());
    assert_eq!(w.service.signals().purge(TimeDelta::hours(1)).await.unwrap(), 1);
}

#[test]
fn backoff_doubles_from_one_second_to_its_cap() {
    let p = DeliveryPolicy {
        max_backoff: TimeDelta::seconds(60),
        ..DeliveryPolicy::default()
    };
    let waits: Vec<i64> = (1..=8).map(|a| p.backoff(a).num_seconds()).collect();
    assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
    assert_eq!(p.backoff(u32::MAX).num_seconds(), 60);
}

#[test]
fn who_initiated_an_end_follows_caep() {
    assert_eq!(initiating_entity(RevokeReason::Logout), "user");
    assert_eq!(initiating_entity(RevokeReason::AccountDisabled), "admin");
    assert_eq!(initiating_entity(RevokeReason::RefreshReuse), "policy");
}
