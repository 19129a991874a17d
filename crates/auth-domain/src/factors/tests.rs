use chrono::TimeDelta;

use crate::audit::AuditKind;
use crate::caller::Caller;
use crate::factors::totp;
use crate::factors::{Challenge, FactorError, Proof, StepError};
use crate::identity::account::SignUp;
use crate::identity::login::{Identifier, Login, LoginError};
use crate::identity::user::User;
use crate::platform::Clock;
use crate::testing::factors::FakePasskeys;
use crate::testing::{InMemoryAuth, in_memory_auth, open_policy};

fn standard() -> Caller {
    Caller::new("standard")
}

async fn world() -> (InMemoryAuth, User) {
    let w = in_memory_auth(open_policy());
    let user = w
        .service
        .accounts()
        .sign_up(SignUp {
            login_id: "kim".into(),
            email: "kim@example.com".into(),
            name: "김".into(),
            password: "correct horse".into(),
        })
        .await
        .unwrap();
    (w, user)
}

async fn login(w: &InMemoryAuth) -> Result<Login, LoginError> {
    w.service
        .accounts()
        .login(Identifier::LoginId("kim".into()), "correct horse", &standard())
        .await
}

async fn challenge(w: &InMemoryAuth) -> Challenge {
    match login(w).await {
        Err(LoginError::SecondFactor(c)) => c,
        other => panic!("expected a second step, got {other:?}"),
    }
}

/// Enrols TOTP; returns the secret and the recovery codes.
async fn enrol_totp(w: &InMemoryAuth, user: &User) -> (Vec<u8>, Vec<String>) {
    let f = w.service.factors();
    f.enroll_totp(user, "Auth").await.unwrap();
    let secret = w.factors.store.with(|s| s.totp[&user.id].secret.clone());
    let code = totp::code_at(&secret, totp::step_of(w.clock.now()));
    let codes = f.confirm_totp(user, &code, &standard()).await.unwrap().unwrap();
    (secret, codes)
}

fn code(w: &InMemoryAuth, secret: &[u8], offset: i64) -> String {
    totp::code_at(secret, totp::step_of(w.clock.now()) + offset)
}

#[tokio::test]
async fn without_a_factor_a_login_is_unchanged_and_says_pwd() {
    let (w, _) = world().await;
    let login = login(&w).await.unwrap();
    assert_eq!(login.tokens.access.claims.sign_in.amr, vec!["pwd"]);
    assert_eq!(
        login.tokens.access.claims.sign_in.auth_time,
        Some(w.clock.now().timestamp())
    );
}

#[tokio::test]
async fn totp_enrolment_then_a_second_step_on_login() {
    let (w, user) = world().await;
    let (secret, codes) = enrol_totp(&w, &user).await;
    assert_eq!(codes.len(), 10);
    let status = w.service.factors().status(user.id).await.unwrap();
    assert!(status.totp);
    assert_eq!(status.recovery_codes_left, 10);
    assert_eq!(status.methods(), vec!["totp", "recovery"]);

    let c = challenge(&w).await;
    assert_eq!(c.expires_in, 300);
    assert_eq!(
        w.sessions.sessions.lock().unwrap().len(),
        0,
        "no session before the second step"
    );
    // The confirmation spent the current step: the next one is accepted.
    w.clock.advance(TimeDelta::seconds(30));
    let verified = w
        .service
        .factors()
        .verify(
            &c.mfa_token,
            Proof::Totp(code(&w, &secret, 0)),
            false,
            &Caller::new("account"),
        )
        .await
        .unwrap();
    assert_eq!(
        verified.front, "standard",
        "the front that started the login renders it"
    );
    assert_eq!(
        verified.login.tokens.access.claims.sign_in.amr,
        vec!["pwd", "otp", "mfa"]
    );
    assert_eq!(
        w.sessions
            .sessions
            .lock()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .client,
        "standard"
    );
    // The token is single-use.
    let again = w
        .service
        .factors()
        .verify(
            &c.mfa_token,
            Proof::Totp(code(&w, &secret, 1)),
            false,
            &standard(),
        )
        .await;
    assert!(matches!(again, Err(StepError::InvalidToken)), "{again:?}");
}

#[tokio::test]
async fn a_time_step_is_accepted_once() {
    let (w, user) = world().await;
    let (secret, _) = enrol_totp(&w, &user).await;
    w.clock.advance(TimeDelta::seconds(30));
    let current = code(&w, &secret, 0);
    let first = challenge(&w).await;
    let f = w.service.factors();
    f.verify(&first.mfa_token, Proof::Totp(current.clone()), false, &standard())
        .await
        .unwrap();
    let second = challenge(&w).await;
    let replay = f
        .verify(&second.mfa_token, Proof::Totp(current), false, &standard())
        .await;
    assert!(matches!(replay, Err(StepError::Wrong)), "{replay:?}");
    // An earlier step (within drift) is refused too once a later one was used.
    let earlier = f
        .verify(
            &second.mfa_token,
            Proof::Totp(code(&w, &secret, -1)),
            false,
            &standard(),
        )
        .await;
    assert!(matches!(earlier, Err(StepError::Wrong)), "{earlier:?}");
    let later = f
        .verify(
            &second.mfa_token,
            Proof::Totp(code(&w, &secret, 1)),
            false,
            &standard(),
        )
        .await;
    assert!(later.is_ok(), "one step of drift ahead: {later:?}");
}

#[tokio::test]
async fn a_token_dies_after_five_wrong_codes() {
    let (w, user) = world().await;
    let (secret, _) = enrol_totp(&w, &user).await;
    w.clock.advance(TimeDelta::seconds(30));
    let c = challenge(&w).await;
    let f = w.service.factors();
    let wrong = if code(&w, &secret, 0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..5 {
        let r = f
            .verify(&c.mfa_token, Proof::Totp(wrong.into()), false, &standard())
            .await;
        assert!(
            matches!(r, Err(StepError::Wrong) | Err(StepError::Throttled { .. })),
            "{r:?}"
        );
    }
    let right = f
        .verify(
            &c.mfa_token,
            Proof::Totp(code(&w, &secret, 0)),
            false,
            &standard(),
        )
        .await;
    assert!(
        matches!(
            right,
            Err(StepError::InvalidToken) | Err(StepError::Throttled { .. })
        ),
        "{right:?}"
    );
    assert!(
        w.audit
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.kind == AuditKind::MfaFailure)
            .count()
            >= 1
    );
}

#[tokio::test]
async fn recovery_codes_work_once_and_a_new_set_replaces_the_old() {
    let (w, user) = world().await;
    let (secret, codes) = enrol_totp(&w, &user).await;
    let f = w.service.factors();
    let c = challenge(&w).await;
    let v = f
        .verify(
            &c.mfa_token,
            Proof::Recovery(codes[0].to_uppercase()),
            false,
            &standard(),
        )
        .await
        .unwrap();
    assert_eq!(
        v.login.tokens.access.claims.sign_in.amr,
        vec!["pwd", "otp", "mfa"]
    );
    let c = challenge(&w).await;
    let reused = f
        .verify(
            &c.mfa_token,
            Proof::Recovery(codes[0].clone()),
            false,
            &standard(),
        )
        .await;
    assert!(matches!(reused, Err(StepError::Wrong)), "{reused:?}");
    assert_eq!(f.status(user.id).await.unwrap().recovery_codes_left, 9);
    w.clock.advance(TimeDelta::seconds(30));
    let fresh = f
        .regenerate_recovery_codes(&user, &code(&w, &secret, 0), &standard())
        .await
        .unwrap();
    let old = f
        .verify(
            &c.mfa_token,
            Proof::Recovery(codes[1].clone()),
            false,
            &standard(),
        )
        .await;
    assert!(matches!(old, Err(StepError::Wrong)), "{old:?}");
    f.verify(
        &c.mfa_token,
        Proof::Recovery(fresh[0].clone()),
        false,
        &standard(),
    )
    .await
    .unwrap();
    let malformed = f
        .verify(&c.mfa_token, Proof::Recovery("nope".into()), false, &standard())
        .await;
    assert!(matches!(malformed, Err(StepError::MalformedCode)));
}

#[tokio::test]
async fn enrolment_refusals() {
    let (w, user) = world().await;
    let f = w.service.factors();
    assert!(matches!(
        f.confirm_totp(&user, "123456", &standard()).await,
        Err(FactorError::NothingPending)
    ));
    assert!(matches!(
        f.disable_totp(&user, "123456", &standard()).await,
        Err(FactorError::NotEnrolled)
    ));
    assert!(matches!(
        f.regenerate_recovery_codes(&user, "123456", &standard()).await,
        Err(FactorError::NotEnrolled)
    ));
    f.enroll_totp(&user, "Auth").await.unwrap();
    assert!(matches!(
        f.confirm_totp(&user, "12345", &standard()).await,
        Err(FactorError::MalformedCode)
    ));
    let secret = w.factors.store.with(|s| s.totp[&user.id].secret.clone());
    let wrong = if code(&w, &secret, 0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert!(matches!(
        f.confirm_totp(&user, wrong, &standard()).await,
        Err(FactorError::WrongCode)
    ));
    assert!(login(&w).await.is_ok(), "a pending enrolment is not a factor");
    f.confirm_totp(&user, &code(&w, &secret, 0), &standard())
        .await
        .unwrap();
    assert!(matches!(
        f.enroll_totp(&user, "Auth").await,
        Err(FactorError::AlreadyEnrolled)
    ));
    w.clock.advance(TimeDelta::seconds(30));
    f.disable_totp(&user, &code(&w, &secret, 0), &standard())
        .await
        .unwrap();
    let status = f.status(user.id).await.unwrap();
    assert!(!status.totp);
    assert_eq!(status.recovery_codes_left, 0, "no factor left: the codes go too");
    assert!(login(&w).await.is_ok());
}

#[tokio::test]
async fn passkeys_register_then_answer_the_second_step() {
    let (w, user) = world().await;
    let f = w.service.factors();
    let options = f.start_passkey_registration(&user).await.unwrap();
    let challenge_text = FakePasskeys::challenge(&options);
    let cred = FakePasskeys::credential(b"key-1", &challenge_text, 0, user.uuid);
    let (id, codes) = f
        .finish_passkey_registration(&user, "내 폰", &cred, &standard())
        .await
        .unwrap();
    assert_eq!(
        codes.map(|c| c.len()),
        Some(10),
        "the first factor brings recovery codes"
    );
    // The registration is spent.
    let again = f
        .finish_passkey_registration(&user, "again", &cred, &standard())
        .await;
    assert!(matches!(again, Err(FactorError::CredentialRefused(_))));

    let c = challenge(&w).await;
    assert_eq!(c.methods, vec!["webauthn", "recovery"]);
    let no_challenge = f
        .verify(
            &c.mfa_token,
            Proof::Passkey(FakePasskeys::credential(b"key-1", "x", 1, user.uuid)),
            false,
            &standard(),
        )
        .await;
    assert!(
        matches!(no_challenge, Err(StepError::MethodUnavailable)),
        "{no_challenge:?}"
    );
    let options = f.passkey_challenge(&c.mfa_token).await.unwrap();
    let ch = FakePasskeys::challenge(&options);
    let v = f
        .verify(
            &c.mfa_token,
            Proof::Passkey(FakePasskeys::credential(b"key-1", &ch, 5, user.uuid)),
            false,
            &standard(),
        )
        .await
        .unwrap();
    assert_eq!(
        v.login.tokens.access.claims.sign_in.amr,
        vec!["pwd", "hwk", "mfa"]
    );
    let stored = f.status(user.id).await.unwrap().passkeys;
    assert_eq!(stored[0].id, id);
    assert!(stored[0].last_used_at.is_some());

    // A counter that goes backwards is refused and audited.
    let c = challenge(&w).await;
    let ch = FakePasskeys::challenge(&f.passkey_challenge(&c.mfa_token).await.unwrap());
    let cloned = f
        .verify(
            &c.mfa_token,
            Proof::Passkey(FakePasskeys::credential(b"key-1", &ch, 3, user.uuid)),
            false,
            &standard(),
        )
        .await;
    assert!(matches!(cloned, Err(StepError::Wrong)), "{cloned:?}");
    assert!(
        w.audit
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.kind == AuditKind::PasskeyCounterRegressed)
    );
}

#[tokio::test]
async fn another_users_passkey_never_completes_a_login() {
    let (w, kim) = world().await;
    let lee = w
        .service
        .accounts()
        .sign_up(SignUp {
            login_id: "lee".into(),
            email: "lee@example.com".into(),
            name: "이".into(),
            password: "other horse".into(),
        })
        .await
        .unwrap();
    let f = w.service.factors();
    for (user, key) in [(&kim, b"kim-key"), (&lee, b"lee-key")] {
        let ch = FakePasskeys::challenge(&f.start_passkey_registration(user).await.unwrap());
        f.finish_passkey_registration(
            user,
            "key",
            &FakePasskeys::credential(key, &ch, 0, user.uuid),
            &standard(),
        )
        .await
        .unwrap();
    }
    let c = challenge(&w).await;
    let ch = FakePasskeys::challenge(&f.passkey_challenge(&c.mfa_token).await.unwrap());
    let r = f
        .verify(
            &c.mfa_token,
            Proof::Passkey(FakePasskeys::credential(b"lee-key", &ch, 1, lee.uuid)),
            false,
            &standard(),
        )
        .await;
    assert!(matches!(r, Err(StepError::Wrong)), "{r:?}");
}

#[tokio::test]
async fn passwordless_sign_in_with_a_discoverable_passkey() {
    let (w, user) = world().await;
    let f = w.service.factors();
    let ch = FakePasskeys::challenge(&f.start_passkey_registration(&user).await.unwrap());
    f.finish_passkey_registration(
        &user,
        "key",
        &FakePasskeys::credential(b"k", &ch, 0, user.uuid),
        &standard(),
    )
    .await
    .unwrap();
    let ch = FakePasskeys::challenge(&f.start_passkey_login().await.unwrap());
    let cred = FakePasskeys::credential(b"k", &ch, 1, user.uuid);
    let login = f
        .finish_passkey_login(&cred, "picsel", &standard())
        .await
        .unwrap();
    assert_eq!(login.user.id, user.id);
    assert_eq!(login.tokens.access.claims.sign_in.amr, vec!["hwk", "mfa"]);
    // The ceremony is spent.
    let replay = f.finish_passkey_login(&cred, "picsel", &standard()).await;
    assert!(matches!(replay, Err(StepError::UnknownCeremony)), "{replay:?}");
    let unknown = FakePasskeys::credential(
        b"nobody",
        &FakePasskeys::challenge(&f.start_passkey_login().await.unwrap()),
        1,
        user.uuid,
    );
    assert!(matches!(
        f.finish_passkey_login(&unknown, "picsel", &standard()).await,
        Err(StepError::Wrong)
    ));
}

/// The hosted sign-in's passkey button: the same use case opens the
/// browser's single-sign-on session, with the passkey's `amr`.
#[tokio::test]
async fn a_passkey_sign_in_on_the_hosted_page_opens_a_browser_session() {
    let (w, user) = world().await;
    let f = w.service.factors();
    assert!(f.passkeys_available());
    let ch = FakePasskeys::challenge(&f.start_passkey_registration(&user).await.unwrap());
    let cred = FakePasskeys::credential(b"k", &ch, 0, user.uuid);
    f.finish_passkey_registration(&user, "key", &cred, &standard())
        .await
        .unwrap();
    let ch = FakePasskeys::challenge(&f.start_passkey_login().await.unwrap());
    let cred = FakePasskeys::credential(b"k", &ch, 1, user.uuid);
    let browser = Caller::new(crate::oidc::provider::BROWSER);
    let login = f.finish_passkey_login(&cred, crate::oidc::provider::BROWSER, &browser);
    let provider = w.service.provider();
    let (cookie, session) = provider.adopt(login.await.unwrap()).await.unwrap();
    assert_eq!(session.session.amr, vec!["hwk", "mfa"]);
    let found = provider.browser_session(&cookie).await.unwrap().unwrap();
    assert_eq!(found.user.id, user.id);
}

#[tokio::test]
async fn the_hosted_page_and_the_api_finish_only_their_own_steps() {
    let (w, user) = world().await;
    let (secret, _) = enrol_totp(&w, &user).await;
    w.clock.advance(TimeDelta::seconds(30));
    let c = challenge(&w).await;
    let f = w.service.factors();
    let r = f
        .verify(&c.mfa_token, Proof::Totp(code(&w, &secret, 0)), true, &standard())
        .await;
    assert!(matches!(r, Err(StepError::InvalidToken)), "{r:?}");
    f.verify(
        &c.mfa_token,
        Proof::Totp(code(&w, &secret, 0)),
        false,
        &standard(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn an_expired_token_is_refused_and_a_wrong_password_is_unchanged() {
    let (w, user) = world().await;
    let (secret, _) = enrol_totp(&w, &user).await;
    let wrong = w
        .service
        .accounts()
        .login(Identifier::LoginId("kim".into()), "wrong horse", &standard())
        .await;
    assert!(matches!(wrong, Err(LoginError::WrongPassword)));
    let c = challenge(&w).await;
    w.clock.advance(TimeDelta::seconds(301));
    let r = w
        .service
        .factors()
        .verify(
            &c.mfa_token,
            Proof::Totp(code(&w, &secret, 0)),
            false,
            &standard(),
        )
        .await;
    assert!(matches!(r, Err(StepError::InvalidToken)), "{r:?}");
}

#[tokio::test]
async fn an_admin_reset_removes_every_factor() {
    let (w, user) = world().await;
    enrol_totp(&w, &user).await;
    let admin = w.service.user_admin();
    assert!(
        admin
            .user_view(user.id)
            .await
            .unwrap()
            .unwrap()
            .factors
            .unwrap()
            .totp
    );
    assert!(
        admin
            .reset_second_factors(user.id, &Caller::new("admin"))
            .await
            .unwrap()
    );
    assert!(
        !admin
            .user_view(user.id)
            .await
            .unwrap()
            .unwrap()
            .factors
            .unwrap()
            .totp
    );
    assert!(login(&w).await.is_ok());
    assert!(
        w.audit
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.kind == AuditKind::AdminMfaReset)
    );
}
