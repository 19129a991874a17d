use std::sync::atomic::Ordering;

use chrono::TimeDelta;

use crate::caller::Caller;
use crate::identity::account::{SignUp, SignUpError, WithdrawError};
use crate::identity::login::{Identifier, Login, LoginError};
use crate::identity::user::UniqueField;
use crate::policy::AuthPolicy;
use crate::sessions::session::{RefreshTokenHash, RevokeReason};
use crate::sessions::token::TokenError;
use crate::sessions::tokens::{LogoutError, RefreshError, ReissueError};
use crate::testing::{InMemoryAuth, caller, in_memory_auth, open_policy};

fn signup(login: &str, email: &str) -> SignUp {
    SignUp {
        login_id: login.into(),
        email: email.into(),
        name: "홍길동".into(),
        password: "correct horse".into(),
    }
}

async fn with_user() -> InMemoryAuth {
    let w = in_memory_auth(open_policy());
    w.service
        .accounts()
        .sign_up(signup("parkh", "Park@Example.com"))
        .await
        .unwrap();
    w
}

fn meta() -> Caller {
    Caller {
        contract: "standard",
        ip: None,
        user_agent: None,
    }
}

async fn login(w: &InMemoryAuth) -> Login {
    w.service
        .accounts()
        .login(Identifier::LoginId("parkh".into()), "correct horse", &meta())
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_up_validates_then_stores_normalised_fields() {
    let w = in_memory_auth(open_policy());
    let user = w
        .service
        .accounts()
        .sign_up(signup("ParkH", "Park@Example.com"))
        .await
        .unwrap();
    assert_eq!(user.login_id.unwrap().as_str(), "parkh");
    assert_eq!(user.email.as_str(), "park@example.com");
    assert!(matches!(
        w.service.accounts().sign_up(signup("x", "a@b.com")).await,
        Err(SignUpError::InvalidLoginId)
    ));
    assert!(matches!(
        w.service.accounts().sign_up(signup("other", "nope")).await,
        Err(SignUpError::InvalidEmail)
    ));
    let mut weak = signup("other", "o@b.com");
    weak.password = "short".into();
    assert!(matches!(
        w.service.accounts().sign_up(weak).await,
        Err(SignUpError::WeakPassword(_))
    ));
    assert!(matches!(
        w.service.accounts().sign_up(signup("parkh", "new@b.com")).await,
        Err(SignUpError::Duplicate(UniqueField::LoginId))
    ));
    assert!(matches!(
        w.service
            .accounts()
            .sign_up(signup("newone", "PARK@example.com"))
            .await,
        Err(SignUpError::Duplicate(UniqueField::Email))
    ));
}

#[tokio::test]
async fn login_by_login_id_or_email_opens_a_session() {
    let w = with_user().await;
    let by_id = login(&w).await;
    let by_email = w
        .service
        .accounts()
        .login(
            Identifier::Email("PARK@example.com".into()),
            "correct horse",
            &meta(),
        )
        .await
        .unwrap();
    assert_ne!(by_id.tokens.access.claims.sid, by_email.tokens.access.claims.sid);
    assert_eq!(w.sessions.sessions.lock().unwrap().len(), 2);
    let claims = w
        .service
        .sessions()
        .authenticate(&by_id.tokens.access.token)
        .unwrap();
    assert_eq!(claims.sub, by_id.user.uuid);
    assert_eq!(
        by_id.tokens.access.expires_at - by_id.tokens.access.issued_at,
        TimeDelta::minutes(30)
    );
}

#[tokio::test]
async fn failed_logins_cost_exactly_one_verification_each() {
    let w = with_user().await;
    let unknown = w
        .service
        .accounts()
        .login(Identifier::LoginId("nobody".into()), "correct horse", &meta())
        .await;
    assert!(matches!(unknown, Err(LoginError::UnknownUser)));
    let malformed = w
        .service
        .accounts()
        .login(Identifier::Email("not-an-email".into()), "x", &meta())
        .await;
    assert!(matches!(malformed, Err(LoginError::UnknownUser)));
    let wrong = w
        .service
        .accounts()
        .login(Identifier::LoginId("parkh".into()), "wrong", &meta())
        .await;
    assert!(matches!(wrong, Err(LoginError::WrongPassword)));
    assert_eq!(w.hasher.verifications.load(Ordering::SeqCst), 3);
    assert!(w.sessions.sessions.lock().unwrap().is_empty());
}

#[tokio::test]
async fn access_tokens_expire_by_the_clock() {
    let w = with_user().await;
    let l = login(&w).await;
    w.clock.advance(TimeDelta::minutes(30));
    assert_eq!(
        w.service.sessions().authenticate(&l.tokens.access.token),
        Err(TokenError::Expired)
    );
}

#[tokio::test]
async fn refresh_keeps_the_refresh_token_valid() {
    let w = with_user().await;
    let l = login(&w).await;
    for _ in 0..3 {
        let access = w
            .service
            .sessions()
            .refresh(&l.tokens.refresh.token, &caller())
            .await
            .unwrap();
        assert_eq!(access.claims.sid, l.tokens.access.claims.sid);
    }
}

#[tokio::test]
async fn refresh_token_expires_after_seven_days() {
    let w = with_user().await;
    let l = login(&w).await;
    w.clock.advance(TimeDelta::days(7) - TimeDelta::seconds(1));
    assert!(
        w.service
            .sessions()
            .refresh(&l.tokens.refresh.token, &caller())
            .await
            .is_ok()
    );
    w.clock.advance(TimeDelta::seconds(1));
    assert!(matches!(
        w.service
            .sessions()
            .refresh(&l.tokens.refresh.token, &caller())
            .await,
        Err(RefreshError::Invalid)
    ));
}

#[tokio::test]
async fn reissue_rotates_and_reuse_revokes_the_session() {
    let w = with_user().await;
    let l = login(&w).await;
    let sid = l.tokens.access.claims.sid;
    // An expired access token is fine for reissue.
    w.clock.advance(TimeDelta::hours(1));
    let next = w
        .service
        .sessions()
        .reissue(&l.tokens.access.token, &l.tokens.refresh.token, &caller())
        .await
        .unwrap();
    assert_eq!(next.access.claims.sid, sid);
    assert_ne!(next.refresh.token, l.tokens.refresh.token);
    // The old refresh token is spent: presenting it again is theft.
    let replay = w
        .service
        .sessions()
        .reissue(&l.tokens.access.token, &l.tokens.refresh.token, &caller())
        .await;
    assert!(matches!(replay, Err(ReissueError::Reused)));
    let session = w.sessions.sessions.lock().unwrap().get(&sid).cloned().unwrap();
    assert_eq!(session.revoke_reason, Some(RevokeReason::RefreshReuse));
    // And the thief's victim loses the session too: the new token is dead.
    assert!(matches!(
        w.service
            .sessions()
            .reissue(&next.access.token, &next.refresh.token, &caller())
            .await,
        Err(ReissueError::InvalidRefreshToken)
    ));
    assert!(matches!(
        w.service.sessions().refresh(&next.refresh.token, &caller()).await,
        Err(RefreshError::Invalid)
    ));
}

#[tokio::test]
async fn a_spent_token_on_the_non_rotating_refresh_is_reuse_too() {
    let w = with_user().await;
    let l = login(&w).await;
    w.service
        .sessions()
        .reissue(&l.tokens.access.token, &l.tokens.refresh.token, &caller())
        .await
        .unwrap();
    assert!(matches!(
        w.service
            .sessions()
            .refresh(&l.tokens.refresh.token, &caller())
            .await,
        Err(RefreshError::Reused)
    ));
}

#[tokio::test]
async fn grace_window_allows_a_just_spent_replay() {
    let policy = AuthPolicy {
        refresh_reuse_grace: TimeDelta::seconds(10),
        ..open_policy()
    };
    let w = in_memory_auth(policy);
    w.service
        .accounts()
        .sign_up(signup("parkh", "p@e.com"))
        .await
        .unwrap();
    let l = login(&w).await;
    let first = w
        .service
        .sessions()
        .reissue(&l.tokens.access.token, &l.tokens.refresh.token, &caller())
        .await
        .unwrap();
    w.clock.advance(TimeDelta::seconds(10));
    let second = w
        .service
        .sessions()
        .reissue(&l.tokens.access.token, &l.tokens.refresh.token, &caller())
        .await
        .unwrap();
    // Both branches work.
    assert!(
        w.service
            .sessions()
            .refresh(&first.refresh.token, &caller())
            .await
            .is_ok()
    );
    assert!(
        w.service
            .sessions()
            .refresh(&second.refresh.token, &caller())
            .await
            .is_ok()
    );
    w.clock.advance(TimeDelta::seconds(1));
    assert!(matches!(
        w.service
            .sessions()
            .reissue(&l.tokens.access.token, &l.tokens.refresh.token, &caller())
            .await,
        Err(ReissueError::Reused)
    ));
}

#[tokio::test]
async fn reissue_requires_both_tokens_of_one_session() {
    let w = with_user().await;
    let a = login(&w).await;
    let b = login(&w).await;
    assert!(matches!(
        w.service
            .sessions()
            .reissue(&a.tokens.access.token, &b.tokens.refresh.token, &caller())
            .await,
        Err(ReissueError::SessionMismatch)
    ));
    assert!(matches!(
        w.service
            .sessions()
            .reissue(&a.tokens.refresh.token, &a.tokens.refresh.token, &caller())
            .await,
        Err(ReissueError::InvalidAccessToken)
    ));
    assert!(matches!(
        w.service
            .sessions()
            .reissue(&a.tokens.access.token, &a.tokens.access.token, &caller())
            .await,
        Err(ReissueError::InvalidRefreshToken)
    ));
    // Nothing was spent by the failures.
    assert!(
        w.service
            .sessions()
            .reissue(&a.tokens.access.token, &a.tokens.refresh.token, &caller())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn logout_by_either_token_revokes_the_session_for_every_contract() {
    let w = with_user().await;
    let a = login(&w).await;
    w.service
        .sessions()
        .logout_with_access(&a.tokens.access.token, &caller())
        .await
        .unwrap();
    assert!(matches!(
        w.service
            .sessions()
            .refresh(&a.tokens.refresh.token, &caller())
            .await,
        Err(RefreshError::Invalid)
    ));
    let b = login(&w).await;
    w.service
        .sessions()
        .logout_with_refresh(&b.tokens.refresh.token, &caller())
        .await
        .unwrap();
    // Idempotent: the outcome the client asked for holds.
    w.service
        .sessions()
        .logout_with_refresh(&b.tokens.refresh.token, &caller())
        .await
        .unwrap();
    assert!(matches!(
        w.service
            .sessions()
            .reissue(&b.tokens.access.token, &b.tokens.refresh.token, &caller())
            .await,
        Err(ReissueError::InvalidRefreshToken)
    ));
    assert!(matches!(
        w.service
            .sessions()
            .logout_with_refresh(&b.tokens.access.token, &caller())
            .await,
        Err(LogoutError::InvalidToken)
    ));
    assert!(matches!(
        w.service
            .sessions()
            .logout_with_access("garbage", &caller())
            .await,
        Err(LogoutError::InvalidToken)
    ));
}

#[tokio::test]
async fn withdrawal_checks_the_password_then_revokes_and_deletes() {
    let w = with_user().await;
    let a = login(&w).await;
    assert!(matches!(
        w.service
            .accounts()
            .withdraw("parkh", "wrong", &Caller::new("account").with_ip(None))
            .await,
        Err(WithdrawError::WrongPassword)
    ));
    assert!(matches!(
        w.service
            .accounts()
            .withdraw("ghost", "correct horse", &Caller::new("account").with_ip(None))
            .await,
        Err(WithdrawError::UnknownUser)
    ));
    assert!(
        w.service
            .sessions()
            .refresh(&a.tokens.refresh.token, &caller())
            .await
            .is_ok()
    );
    w.service
        .accounts()
        .withdraw("parkh", "correct horse", &Caller::new("account").with_ip(None))
        .await
        .unwrap();
    assert!(matches!(
        w.service
            .sessions()
            .refresh(&a.tokens.refresh.token, &caller())
            .await,
        Err(RefreshError::Invalid)
    ));
    assert!(w.service.accounts().login_id_available("parkh").await.unwrap());
    assert!(
        w.service
            .accounts()
            .email_available("park@example.com")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn availability_checks_normalise_and_reject_malformed_input() {
    let w = with_user().await;
    assert!(!w.service.accounts().login_id_available("PARKH").await.unwrap());
    assert!(
        !w.service
            .accounts()
            .email_available("PARK@EXAMPLE.COM")
            .await
            .unwrap()
    );
    assert!(w.service.accounts().login_id_available("someone").await.unwrap());
    assert!(!w.service.accounts().login_id_available("a").await.unwrap());
    assert!(!w.service.accounts().email_available("nope").await.unwrap());
}

#[tokio::test]
async fn refresh_records_store_only_hashes() {
    let w = with_user().await;
    let l = login(&w).await;
    let stored: Vec<String> = w
        .sessions
        .refresh
        .lock()
        .unwrap()
        .keys()
        .map(|h: &RefreshTokenHash| h.as_str().to_owned())
        .collect();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].len(), 64);
    assert!(!l.tokens.refresh.token.contains(&stored[0]));
}
