//! `RevocationList` bookkeeping: retention, capacity, replays.

use std::time::{Duration, Instant};

use crate::events::unix_now;
use crate::{Claims, Error, LogoutToken, RevocationList};

fn claims(sub: &str, sid: Option<&str>, iat: i64) -> Claims {
    Claims {
        sub: sub.into(),
        sid: sid.map(str::to_owned),
        iat,
        exp: iat + 600,
        iss: "i".into(),
        aud: "i".into(),
        client_id: None,
        scope: None,
        amr: Vec::new(),
        auth_time: None,
    }
}

fn logout(jti: &str, sid: Option<&str>, sub: Option<&str>, exp: Option<i64>) -> LogoutToken {
    LogoutToken {
        jti: jti.into(),
        iat: unix_now(),
        exp,
        sub: sub.map(str::to_owned),
        sid: sid.map(str::to_owned),
    }
}

#[test]
fn ended_sessions_are_pruned_after_the_retention() {
    let list = RevocationList::builder()
        .retention(Duration::from_secs(3600))
        .build();
    list.end_session("a");
    list.end_user_sessions("u", unix_now());
    assert_eq!(list.len(), 2);
    list.prune_at(Instant::now() + Duration::from_secs(1800), unix_now());
    assert_eq!(list.len(), 2);
    assert_eq!(list.check(&claims("x", Some("a"), 0)), Err(Error::Revoked));
    list.prune_at(Instant::now() + Duration::from_secs(3601), unix_now());
    assert!(list.is_empty());
    assert_eq!(list.check(&claims("u", Some("a"), 0)), Ok(()));
}

#[test]
fn the_oldest_are_dropped_past_the_capacity() {
    let list = RevocationList::builder().capacity(3).build();
    for sid in ["a", "b", "c", "d", "e"] {
        list.end_session(sid);
    }
    assert_eq!(list.len(), 3);
    assert!(!list.is_session_ended("a") && !list.is_session_ended("b"));
    assert!(["c", "d", "e"].iter().all(|s| list.is_session_ended(s)));
    list.end_session("c");
    assert_eq!(list.len(), 3, "recording again adds nothing");
}

#[test]
fn a_user_end_only_moves_forward() {
    let list = RevocationList::new();
    list.end_user_sessions("u", 100);
    list.end_user_sessions("u", 50);
    assert!(list.is_user_ended("u", 100));
    assert!(!list.is_user_ended("u", 101));
    list.end_user_sessions("u", 200);
    assert!(list.is_user_ended("u", 200));
    assert_eq!(list.len(), 1);
    assert_eq!(list.check(&claims("u", None, 150)), Err(Error::Revoked));
    assert_eq!(list.check(&claims("u", Some("s"), 201)), Ok(()));
}

#[test]
fn jtis_are_remembered_until_their_token_expires() {
    let list = RevocationList::new();
    let now = unix_now();
    list.record_logout(&logout("j1", Some("s1"), None, Some(now + 120)))
        .unwrap();
    assert_eq!(
        list.record_logout(&logout("j1", Some("s2"), None, Some(now + 120))),
        Err(Error::Invalid("replayed jti"))
    );
    assert!(!list.is_session_ended("s2"));
    // A token long expired (beyond the clock skew) is forgotten.
    list.record_logout(&logout("j2", None, Some("u"), Some(now - 3600)))
        .unwrap();
    assert!(list.is_user_ended("u", now));
    assert_eq!(list.remembered_jtis(), 1, "j2 is already forgotten");
    list.prune_at(Instant::now(), now + 3600);
    assert_eq!(list.remembered_jtis(), 0);
    assert_eq!(list.len(), 2, "the ends themselves stay for the retention");
}

#[test]
fn remembered_jtis_are_bounded() {
    let list = RevocationList::builder().capacity(2).build();
    let now = unix_now();
    for (i, jti) in ["j1", "j2", "j3"].iter().enumerate() {
        let exp = now + 100 + i64::try_from(i).unwrap();
        list.record_logout(&logout(jti, Some(jti), None, Some(exp)))
            .unwrap();
    }
    assert_eq!(list.remembered_jtis(), 2);
    assert_eq!(list.len(), 2);
}
