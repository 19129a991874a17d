#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::Ordering;

use chrono::TimeDelta;

use super::fakes::{World, world};
use super::*;
use crate::verification::CodePurpose::{ForgetPassword, SignUp as SignUpCode};

const EMAIL: &str = "new@example.com";

fn request(email: &str) -> SignUp {
    SignUp {
        login_id: "newbie".into(),
        email: email.into(),
        name: "새사람".into(),
        password: "long enough".into(),
    }
}

async fn verified_signup(w: &World) -> crate::user::User {
    w.service.send_code(None, EMAIL, SignUpCode).await.unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    assert!(
        w.service
            .check_code(None, EMAIL, &code, SignUpCode)
            .await
            .unwrap()
    );
    w.service.sign_up(request(EMAIL)).await.unwrap()
}

#[tokio::test]
async fn sign_up_needs_a_checked_code_and_spends_it() {
    let w = world(AuthPolicy::default());
    assert!(matches!(
        w.service.sign_up(request(EMAIL)).await,
        Err(SignUpError::EmailNotVerified)
    ));
    w.service.send_code(None, EMAIL, SignUpCode).await.unwrap();
    // Sent but not checked: still closed.
    assert!(matches!(
        w.service.sign_up(request(EMAIL)).await,
        Err(SignUpError::EmailNotVerified)
    ));
    let code = w.mailer.last_code(EMAIL).unwrap();
    assert_eq!(code.len(), 6);
    assert!(
        code.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert!(
        w.service
            .check_code(None, EMAIL, &code, SignUpCode)
            .await
            .unwrap()
    );
    w.service.sign_up(request(EMAIL)).await.unwrap();
    assert!(w.codes.rows.lock().unwrap()[EMAIL].consumed_at.is_some());
}

#[tokio::test]
async fn the_gate_closes_ten_minutes_after_the_check() {
    let w = world(AuthPolicy::default());
    w.service.send_code(None, EMAIL, SignUpCode).await.unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    assert!(
        w.service
            .check_code(None, EMAIL, &code, SignUpCode)
            .await
            .unwrap()
    );
    w.clock.advance(TimeDelta::minutes(10) + TimeDelta::seconds(1));
    assert!(matches!(
        w.service.sign_up(request(EMAIL)).await,
        Err(SignUpError::EmailNotVerified)
    ));
}

#[tokio::test]
async fn codes_expire_after_ten_minutes() {
    let w = world(AuthPolicy::default());
    w.service.send_code(None, EMAIL, SignUpCode).await.unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    w.clock.advance(TimeDelta::minutes(10));
    assert!(
        !w.service
            .check_code(None, EMAIL, &code, SignUpCode)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn five_wrong_tries_kill_the_code() {
    let w = world(AuthPolicy::default());
    w.service.send_code(None, EMAIL, SignUpCode).await.unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        assert!(
            !w.service
                .check_code(None, EMAIL, wrong, SignUpCode)
                .await
                .unwrap()
        );
    }
    assert!(
        !w.service
            .check_code(None, EMAIL, &code, SignUpCode)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_code_is_typed_by_purpose() {
    let w = world(AuthPolicy::default());
    w.service.send_code(None, EMAIL, SignUpCode).await.unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    assert!(
        !w.service
            .check_code(Some("newbie"), EMAIL, &code, ForgetPassword)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn resend_waits_a_minute_and_replaces_the_code() {
    let w = world(AuthPolicy::default());
    w.service.send_code(None, EMAIL, SignUpCode).await.unwrap();
    let first = w.mailer.last_code(EMAIL).unwrap();
    w.clock.advance(TimeDelta::seconds(59));
    assert!(matches!(
        w.service.send_code(None, EMAIL, SignUpCode).await,
        Err(SendCodeError::Cooldown(_))
    ));
    assert_eq!(w.mailer.sent.lock().unwrap().len(), 1);
    w.clock.advance(TimeDelta::seconds(1));
    w.service.send_code(None, EMAIL, SignUpCode).await.unwrap();
    let second = w.mailer.last_code(EMAIL).unwrap();
    if first != second {
        assert!(
            !w.service
                .check_code(None, EMAIL, &first, SignUpCode)
                .await
                .unwrap()
        );
    }
    assert!(
        w.service
            .check_code(None, EMAIL, &second, SignUpCode)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn sign_up_code_for_a_taken_email_is_refused() {
    let w = world(AuthPolicy::default());
    verified_signup(&w).await;
    w.clock.advance(TimeDelta::minutes(2));
    assert!(matches!(
        w.service.send_code(None, "NEW@example.com", SignUpCode).await,
        Err(SendCodeError::EmailTaken)
    ));
}

#[tokio::test]
async fn reset_consumes_the_code_changes_the_password_and_revokes_sessions() {
    let w = world(AuthPolicy::default());
    let user = verified_signup(&w).await;
    let login = w
        .service
        .login(
            Identifier::LoginId("newbie".into()),
            "long enough",
            SessionMeta {
                client: "standard",
                ip: None,
                user_agent: None,
            },
        )
        .await
        .unwrap();
    w.clock.advance(TimeDelta::minutes(1));
    w.service
        .send_code(Some("newbie"), EMAIL, ForgetPassword)
        .await
        .unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    assert!(
        w.service
            .check_code(Some("newbie"), EMAIL, &code, ForgetPassword)
            .await
            .unwrap()
    );
    assert!(matches!(
        w.service
            .reset_password(AccountRef::Id(user.id.get()), &code, "short")
            .await,
        Err(ResetError::WeakPassword(_))
    ));
    let id = w
        .service
        .reset_password(AccountRef::Id(user.id.get()), &code, "brand new pass")
        .await
        .unwrap();
    assert_eq!(id, user.id);
    assert!(matches!(
        w.service.refresh(&login.tokens.refresh.token).await,
        Err(RefreshError::Invalid)
    ));
    let meta = || SessionMeta {
        client: "standard",
        ip: None,
        user_agent: None,
    };
    assert!(matches!(
        w.service
            .login(Identifier::LoginId("newbie".into()), "long enough", meta())
            .await,
        Err(LoginError::WrongPassword)
    ));
    assert!(
        w.service
            .login(Identifier::LoginId("newbie".into()), "brand new pass", meta())
            .await
            .is_ok()
    );
    // Single use.
    assert!(matches!(
        w.service
            .reset_password(AccountRef::LoginId("newbie".into()), &code, "another pass")
            .await,
        Err(ResetError::Denied)
    ));
}

#[tokio::test]
async fn forget_password_mismatch_mails_nothing_and_answers_the_same() {
    let w = world(AuthPolicy::default());
    verified_signup(&w).await;
    let before = w.mailer.sent.lock().unwrap().len();
    w.clock.advance(TimeDelta::minutes(2));
    w.service
        .send_code(Some("someoneelse"), EMAIL, ForgetPassword)
        .await
        .unwrap();
    w.service
        .send_code(Some("newbie"), "other@example.com", ForgetPassword)
        .await
        .unwrap();
    assert_eq!(w.mailer.sent.lock().unwrap().len(), before);
    // The cooldown applies all the same, so a second try cannot tell either.
    assert!(matches!(
        w.service
            .send_code(Some("someoneelse"), EMAIL, ForgetPassword)
            .await,
        Err(SendCodeError::Cooldown(_))
    ));
}

#[tokio::test]
async fn a_failed_mail_leaves_no_usable_code_and_no_cooldown() {
    let w = world(AuthPolicy::default());
    w.mailer.down.store(true, Ordering::SeqCst);
    assert!(matches!(
        w.service.send_code(None, EMAIL, SignUpCode).await,
        Err(SendCodeError::MailUnavailable(_))
    ));
    assert!(w.codes.rows.lock().unwrap().is_empty());
    w.mailer.down.store(false, Ordering::SeqCst);
    w.service.send_code(None, EMAIL, SignUpCode).await.unwrap();
}

#[tokio::test]
async fn reset_with_a_wrong_code_counts_a_try() {
    let w = world(AuthPolicy::default());
    let user = verified_signup(&w).await;
    w.clock.advance(TimeDelta::minutes(1));
    w.service
        .send_code(Some("newbie"), EMAIL, ForgetPassword)
        .await
        .unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    let wrong = if code == "abcdef" { "abcde0" } else { "abcdef" };
    for _ in 0..5 {
        assert!(matches!(
            w.service
                .reset_password(AccountRef::Id(user.id.get()), wrong, "brand new pass")
                .await,
            Err(ResetError::Denied)
        ));
    }
    assert!(matches!(
        w.service
            .reset_password(AccountRef::Id(user.id.get()), &code, "brand new pass")
            .await,
        Err(ResetError::Denied)
    ));
}

#[tokio::test]
async fn duplicates_are_reported_before_the_gate() {
    let w = world(AuthPolicy::default());
    verified_signup(&w).await;
    let mut same_id = request("fresh@example.com");
    same_id.login_id = "NEWBIE".into();
    assert!(matches!(
        w.service.sign_up(same_id).await,
        Err(SignUpError::Duplicate(crate::user::UniqueField::LoginId))
    ));
    let mut same_email = request(EMAIL);
    same_email.login_id = "someoneelse".into();
    assert!(matches!(
        w.service.sign_up(same_email).await,
        Err(SignUpError::Duplicate(crate::user::UniqueField::Email))
    ));
    assert!(matches!(
        w.service.sign_up(request("fresh@example.com")).await,
        Err(SignUpError::Duplicate(crate::user::UniqueField::LoginId))
    ));
}
