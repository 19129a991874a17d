use chrono::TimeDelta;

use crate::caller::Caller;
use crate::identity::account::SignUp;
use crate::identity::login::{Identifier, Login};
use crate::policy::AuthPolicy;
use crate::sessions::events::Event;
use crate::sessions::session::RevokeReason;
use crate::sessions::status::{EndReason, LiveSessionError, NotifyError, SessionStatus};
use crate::sessions::token::TokenError;
use crate::testing::{InMemoryAuth, caller, in_memory_auth, open_policy};

async fn user(policy: AuthPolicy) -> InMemoryAuth {
    let w = in_memory_auth(policy);
    w.service
        .accounts()
        .sign_up(SignUp {
            login_id: "parkh".into(),
            email: "p@example.com".into(),
            name: "박".into(),
            password: "correct horse".into(),
        })
        .await
        .unwrap();
    w
}

async fn login(w: &InMemoryAuth, client: &'static str) -> Login {
    w.clock.advance(TimeDelta::seconds(1));
    w.service
        .accounts()
        .login(
            Identifier::LoginId("parkh".into()),
            "correct horse",
            &Caller::new(client),
        )
        .await
        .unwrap()
}

fn revoked(w: &InMemoryAuth) -> Vec<(Vec<crate::sessions::session::SessionId>, RevokeReason)> {
    w.bus
        .events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::SessionsRevoked { sessions, reason } => Some((sessions.clone(), *reason)),
            Event::Notification { .. } | Event::AppRevoked { .. } => None,
        })
        .collect()
}

#[tokio::test]
async fn a_session_contract_login_evicts_older_sessions_and_announces_them() {
    let w = user(open_policy()).await;
    let a = login(&w, "standard").await;
    let b = login(&w, "picsel").await;
    assert!(revoked(&w).is_empty(), "other contracts keep several sessions");
    let c = login(&w, "session").await;
    let events = revoked(&w);
    assert_eq!(events.len(), 1);
    let (mut sessions, reason) = events[0].clone();
    sessions.sort();
    let mut expected = vec![a.tokens.access.claims.sid, b.tokens.access.claims.sid];
    expected.sort();
    assert_eq!((sessions, reason), (expected, RevokeReason::NewLogin));
    assert!(
        w.service
            .sessions()
            .refresh(&a.tokens.refresh.token, &caller())
            .await
            .is_err()
    );
    assert!(
        w.service
            .sessions()
            .refresh(&c.tokens.refresh.token, &caller())
            .await
            .is_ok()
    );
    // A second `session` login evicts the first one.
    let d = login(&w, "session").await;
    assert_eq!(revoked(&w).last().unwrap().0, vec![c.tokens.access.claims.sid]);
    assert!(
        w.service
            .sessions()
            .authenticate_live(&d.tokens.access.token)
            .await
            .is_ok()
    );
    assert!(matches!(
        w.service
            .sessions()
            .authenticate_live(&c.tokens.access.token)
            .await,
        Err(LiveSessionError::Token(TokenError::Invalid))
    ));
}

#[tokio::test]
async fn a_session_limit_evicts_the_oldest() {
    let mut policy = open_policy();
    policy.sessions.single_session_clients.clear();
    policy.sessions.max_sessions_per_user = Some(2);
    let w = user(policy).await;
    let a = login(&w, "standard").await;
    let b = login(&w, "standard").await;
    assert!(revoked(&w).is_empty());
    let c = login(&w, "picsel").await;
    assert_eq!(
        revoked(&w),
        vec![(vec![a.tokens.access.claims.sid], RevokeReason::NewLogin)]
    );
    assert!(
        w.service
            .sessions()
            .refresh(&b.tokens.refresh.token, &caller())
            .await
            .is_ok()
    );
    assert!(
        w.service
            .sessions()
            .refresh(&c.tokens.refresh.token, &caller())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn every_revocation_is_announced_with_its_reason() {
    let w = user(open_policy()).await;
    let a = login(&w, "standard").await;
    w.service
        .sessions()
        .logout_with_access(&a.tokens.access.token, &caller())
        .await
        .unwrap();
    // Logging out again announces nothing new.
    w.service
        .sessions()
        .logout_with_access(&a.tokens.access.token, &caller())
        .await
        .unwrap();
    let b = login(&w, "standard").await;
    w.service
        .sessions()
        .reissue(&b.tokens.access.token, &b.tokens.refresh.token, &caller())
        .await
        .unwrap();
    let _ = w
        .service
        .sessions()
        .reissue(&b.tokens.access.token, &b.tokens.refresh.token, &caller())
        .await;
    let c = login(&w, "standard").await;
    w.service
        .accounts()
        .withdraw("parkh", "correct horse", &Caller::new("account").with_ip(None))
        .await
        .unwrap();
    assert_eq!(
        revoked(&w),
        vec![
            (vec![a.tokens.access.claims.sid], RevokeReason::Logout),
            (vec![b.tokens.access.claims.sid], RevokeReason::RefreshReuse),
            (vec![c.tokens.access.claims.sid], RevokeReason::Withdrawal),
        ]
    );
}

#[tokio::test]
async fn notifications_find_the_user_by_uuid_or_login_id() {
    let w = user(open_policy()).await;
    let a = login(&w, "standard").await;
    w.service
        .sessions()
        .notify("PARKH", "hello", &caller())
        .await
        .unwrap();
    w.service
        .sessions()
        .notify(&a.user.uuid.to_string(), "again", &caller())
        .await
        .unwrap();
    assert!(matches!(
        w.service.sessions().notify("nobody", "x", &caller()).await,
        Err(NotifyError::UnknownUser)
    ));
    assert!(matches!(
        w.service.sessions().notify("parkh", "  ", &caller()).await,
        Err(NotifyError::InvalidMessage)
    ));
    assert!(matches!(
        w.service
            .sessions()
            .notify("parkh", &"x".repeat(1001), &caller())
            .await,
        Err(NotifyError::InvalidMessage)
    ));
    let events = w.bus.events.lock().unwrap().clone();
    assert_eq!(
        events,
        vec![
            Event::Notification {
                user: a.user.uuid,
                message: "hello".into()
            },
            Event::Notification {
                user: a.user.uuid,
                message: "again".into()
            },
        ]
    );
}

#[tokio::test]
async fn a_session_expires_with_its_last_refresh_token() {
    let w = user(open_policy()).await;
    let l = login(&w, "standard").await;
    let sid = l.tokens.access.claims.sid;
    assert!(w.service.sessions().session_is_live(sid).await.unwrap());
    // Rotation moves the horizon: the session lives 7 days from the last reissue.
    w.clock.advance(TimeDelta::days(6));
    let next = w
        .service
        .sessions()
        .reissue(&l.tokens.access.token, &l.tokens.refresh.token, &caller())
        .await
        .unwrap();
    w.clock.advance(TimeDelta::days(6));
    assert!(w.service.sessions().session_is_live(sid).await.unwrap());
    w.clock.advance(TimeDelta::days(1));
    assert!(!w.service.sessions().session_is_live(sid).await.unwrap());
    assert_eq!(
        w.service.sessions().session_status(sid).await.unwrap(),
        SessionStatus::Ended(EndReason::Expired)
    );
    assert!(
        w.service
            .sessions()
            .refresh(&next.refresh.token, &caller())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_status_check_tells_why_a_session_ended() {
    let w = user(open_policy()).await;
    let a = login(&w, "standard").await;
    let b = login(&w, "standard").await;
    assert_eq!(
        w.service
            .sessions()
            .session_status(a.tokens.access.claims.sid)
            .await
            .unwrap(),
        SessionStatus::Live
    );
    w.service
        .sessions()
        .logout_with_access(&a.tokens.access.token, &caller())
        .await
        .unwrap();
    assert_eq!(
        w.service
            .sessions()
            .session_status(a.tokens.access.claims.sid)
            .await
            .unwrap(),
        SessionStatus::Ended(EndReason::Revoked(RevokeReason::Logout))
    );
    let _ = login(&w, "session").await;
    assert_eq!(
        w.service
            .sessions()
            .session_status(b.tokens.access.claims.sid)
            .await
            .unwrap(),
        SessionStatus::Ended(EndReason::Revoked(RevokeReason::NewLogin))
    );
    let unknown = crate::sessions::session::SessionId::from_uuid(uuid::Uuid::nil());
    assert_eq!(
        w.service.sessions().session_status(unknown).await.unwrap(),
        SessionStatus::Ended(EndReason::Revoked(RevokeReason::Withdrawal))
    );
}

#[tokio::test]
async fn audit_events_carry_the_caller_given_to_the_use_case() {
    use crate::audit::AuditKind;
    let w = user(open_policy()).await;
    let l = login(&w, "standard").await;
    let caller = Caller::new("standard")
        .with_ip(Some("203.0.113.7".parse().unwrap()))
        .with_user_agent(Some("Phone/1.0".into()));
    w.service
        .sessions()
        .logout_with_access(&l.tokens.access.token, &caller)
        .await
        .unwrap();
    let events = w.audit.0.lock().unwrap().clone();
    let logout = events.iter().find(|e| e.kind == AuditKind::Logout).unwrap();
    assert_eq!(logout.ip, Some("203.0.113.7".parse().unwrap()));
    assert_eq!(logout.user_agent.as_deref(), Some("Phone/1.0"));
    assert_eq!(logout.session_id, Some(l.tokens.access.claims.sid));
    // A caller whose IP and user agent are unknown records neither.
    let m = login(&w, "standard").await;
    w.service
        .sessions()
        .logout_with_access(&m.tokens.access.token, &Caller::new("standard"))
        .await
        .unwrap();
    let events = w.audit.0.lock().unwrap().clone();
    let last = events.iter().rev().find(|e| e.kind == AuditKind::Logout).unwrap();
    assert_eq!((last.ip, last.user_agent.clone()), (None, None));
}
