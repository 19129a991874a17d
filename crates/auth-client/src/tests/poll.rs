//! The RFC 8936 poller against a fake `/ssf/poll`.

use std::time::Duration;

use base64::Engine as _;
use serde_json::json;

use super::support::{CLIENT_ID, CLIENT_SECRET, Issuer, Key};
use crate::events::unix_now;
use crate::{Error, Poller, RevocationList};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_records_and_acks_good_sets_and_reports_bad_ones() {
    let issuer = Issuer::start().await;
    let list = RevocationList::new();
    let auth = issuer.client(&list).await;
    let now = unix_now();
    let (s1, s2) = (issuer.access("u1", "s1", now), issuer.access("u1", "s2", now));
    let typ = Some("secevent+jwt");
    let good = issuer.key.sign(typ, &issuer.set_claims("j1", "u1", Some("s1")));
    let user_only = issuer.key.sign(None, &issuer.set_claims("j2", "u3", None));
    let mut wrong_aud = issuer.set_claims("j3", "u1", Some("s2"));
    wrong_aud["aud"] = json!("someone-else");
    let forged = Key::new(9, "k1").sign(typ, &issuer.set_claims("j4", "u1", Some("s2")));
    let mut no_event = issuer.set_claims("j5", "u1", Some("s2"));
    no_event["events"] = json!({"https://schemas.openid.net/secevent/caep/event-type/credential-change": {}});
    let wrong_typ = issuer
        .key
        .sign(Some("JWT"), &issuer.set_claims("j6", "u1", Some("s2")));
    let mismatched = issuer
        .key
        .sign(typ, &issuer.set_claims("other", "u1", Some("s2")));
    issuer.replies.lock().unwrap().push_back((
        200,
        json!({
            "sets": {
                "j1": good, "j2": user_only,
                "j3": issuer.key.sign(typ, &wrong_aud), "j4": forged,
                "j5": issuer.key.sign(typ, &no_event), "j6": wrong_typ, "j7": mismatched,
            },
            "moreAvailable": false,
        }),
    ));
    let poller = Poller::new(auth.clone(), CLIENT_SECRET).unwrap().spawn();
    let polls = issuer.wait_polls(2).await;
    poller.abort();

    let first = &polls[0];
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    assert_eq!(
        first.authorization.as_deref(),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(first.body["maxEvents"], 100);
    assert_eq!(first.body["returnImmediately"], false);
    assert_eq!(first.body["ack"], json!([]));
    assert!(first.body.get("setErrs").is_none());

    let second = &polls[1].body;
    let mut acks: Vec<String> = serde_json::from_value(second["ack"].clone()).unwrap();
    acks.sort();
    assert_eq!(acks, ["j1", "j2"]);
    let errs = second["setErrs"].as_object().unwrap();
    assert_eq!(errs.len(), 5, "{errs:?}");
    assert_eq!(errs["j3"]["err"], "invalid_audience");
    assert_eq!(errs["j4"]["err"], "invalid_key");
    assert_eq!(errs["j5"]["err"], "invalid_request");
    assert_eq!(errs["j6"]["err"], "invalid_request");
    assert_eq!(errs["j7"]["err"], "invalid_request");
    assert!(errs["j3"]["description"].is_string());

    assert!(list.is_session_ended("s1"));
    assert!(!list.is_session_ended("s2"), "bad SETs record nothing");
    assert!(list.is_user_ended("u3", now));
    assert_eq!(list.len(), 2);
    assert_eq!(auth.verify(&s1).await, Err(Error::Revoked));
    assert!(auth.verify(&s2).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_retries_with_its_acks_after_errors() {
    let issuer = Issuer::start().await;
    let list = RevocationList::new();
    let auth = issuer.client(&list).await;
    let good = issuer.key.sign(None, &issuer.set_claims("j1", "u1", Some("s1")));
    {
        let mut replies = issuer.replies.lock().unwrap();
        replies.push_back((200, json!({"sets": {"j1": good}, "moreAvailable": true})));
        replies.push_back((503, json!({})));
        replies.push_back((401, json!({"error": "invalid_client"})));
        replies.push_back((200, json!({"unexpected": "shape", "sets": 3})));
    }
    let poller = Poller::new(auth, CLIENT_SECRET)
        .unwrap()
        .backoff(Duration::from_millis(10), Duration::from_millis(40))
        .refused_retry(Duration::from_millis(20))
        .spawn();
    let polls = issuer.wait_polls(6).await;
    poller.abort();
    assert!(list.is_session_ended("s1"));
    // More available: asked again at once, with the ack; kept across a 5xx,
    // a 401 and an unreadable answer; sent until a good answer came.
    assert_eq!(polls[1].body["returnImmediately"], true);
    for poll in &polls[1..5] {
        assert_eq!(poll.body["ack"], json!(["j1"]), "{poll:?}");
    }
    assert_eq!(polls[5].body["ack"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poller_needs_a_client_id_and_a_list() {
    let issuer = Issuer::start().await;
    let auth = crate::AuthClient::builder(&issuer.base).build().await.unwrap();
    assert!(matches!(Poller::new(auth, "s"), Err(Error::Config(_))));
    let auth = crate::AuthClient::builder(&issuer.base)
        .client_id(CLIENT_ID)
        .build()
        .await
        .unwrap();
    assert!(matches!(Poller::new(auth, "s"), Err(Error::Config(_))));
}
