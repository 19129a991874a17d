use std::sync::atomic::Ordering;

use chrono::TimeDelta;

use crate::caller::Caller;
use crate::identity::account::{SignUp, SignUpError};
use crate::identity::login::{Identifier, LoginError};
use crate::policy::AuthPolicy;
use crate::service::AuthService;
use crate::sessions::tokens::RefreshError;
use crate::testing::{InMemoryAuth, caller, in_memory_auth};
use crate::verification::CodePurpose::{ForgetPassword, SignUp as SignUpCode};
use crate::verification::codes::{AccountRef, ResetError, SendCodeError};

const EMAIL: &str = "new@example.com";

fn request(email: &str) -> SignUp {
    SignUp {
        login_id: "newbie".into(),
        email: email.into(),
        name: "새사람".into(),
        password: "long enough".into(),
    }
}

/// The document's flow: send and check both carry the `authId`.
async fn verified_signup(w: &InMemoryAuth) -> crate::identity::user::User {
    w.service
        .verification()
        .send_code(Some("newbie"), EMAIL, SignUpCode)
        .await
        .unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    assert!(
        w.service
            .verification()
            .check_code(Some("newbie"), EMAIL, &code, SignUpCode)
            .await
            .unwrap()
    );
    w.service.accounts().sign_up(request(EMAIL)).await.unwrap()
}

#[tokio::test]
async fn sign_up_needs_a_checked_code_and_spends_it() {
    let w = in_memory_auth(AuthPolicy::default());
    assert!(matches!(
        w.service.accounts().sign_up(request(EMAIL)).await,
        Err(SignUpError::EmailNotVerified)
    ));
    w.service
        .verification()
        .send_code(Some("newbie"), EMAIL, SignUpCode)
        .await
        .unwrap();
    // Sent but not checked: still closed.
    assert!(matches!(
        w.service.accounts().sign_up(request(EMAIL)).await,
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
            .verification()
            .check_code(Some("NewBie"), EMAIL, &code, SignUpCode)
            .await
            .unwrap()
    );
    w.service.accounts().sign_up(request(EMAIL)).await.unwrap();
    assert!(w.codes.rows.lock().unwrap()[EMAIL].consumed_at.is_some());
}

#[tokio::test]
async fn the_gate_closes_ten_minutes_after_the_check() {
    let w = in_memory_auth(AuthPolicy::default());
    w.service
        .verification()
        .send_code(None, EMAIL, SignUpCode)
        .await
        .unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    assert!(
        w.service
            .verification()
            .check_code(Some("newbie"), EMAIL, &code, SignUpCode)
            .await
            .unwrap()
    );
    w.clock.advance(TimeDelta::minutes(10) + TimeDelta::seconds(1));
    assert!(matches!(
        w.service.accounts().sign_up(request(EMAIL)).await,
        Err(SignUpError::EmailNotVerified)
    ));
}

#[tokio::test]
async fn codes_expire_after_ten_minutes() {
    let w = in_memory_auth(AuthPolicy::default());
    w.service
        .verification()
        .send_code(None, EMAIL, SignUpCode)
        .await
        .unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    w.clock.advance(TimeDelta::minutes(10));
    assert!(
        !w.service
            .verification()
            .check_code(None, EMAIL, &code, SignUpCode)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn five_wrong_tries_kill_the_code() {
    let w = in_memory_auth(AuthPolicy::default());
    w.service
        .verification()
        .send_code(None, EMAIL, SignUpCode)
        .await
        .unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        assert!(
            !w.service
                .verification()
                .check_code(None, EMAIL, wrong, SignUpCode)
                .await
                .unwrap()
        );
    }
    assert!(
        !w.service
            .verification()
            .check_code(None, EMAIL, &code, SignUpCode)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_code_is_typed_by_purpose() {
    let w = in_memory_auth(AuthPolicy::default());
    w.service
        .verification()
        .send_code(None, EMAIL, SignUpCode)
        .await
        .unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    assert!(
        !w.service
            .verification()
            .check_code(Some("newbie"), EMAIL, &code, ForgetPassword)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn resend_waits_a_minute_and_replaces_the_code() {
    let w = in_memory_auth(AuthPolicy::default());
    w.service
        .verification()
        .send_code(None, EMAIL, SignUpCode)
        .await
        .unwrap();
    let first = w.mailer.last_code(EMAIL).unwrap();
    w.clock.advance(TimeDelta::seconds(59));
    assert!(matches!(
        w.service.verification().send_code(None, EMAIL, SignUpCode).await,
        Err(SendCodeError::Cooldown(_))
    ));
    assert_eq!(w.mailer.sent.lock().unwrap().len(), 1);
    w.clock.advance(TimeDelta::seconds(1));
    w.service
        .verification()
        .send_code(None, EMAIL, SignUpCode)
        .await
        .unwrap();
    let second = w.mailer.last_code(EMAIL).unwrap();
    if first != second {
        assert!(
            !w.service
                .verification()
                .check_code(None, EMAIL, &first, SignUpCode)
                .await
                .unwrap()
        );
    }
    assert!(
        w.service
            .verification()
            .check_code(None, EMAIL, &second, SignUpCode)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn sign_up_code_for_a_taken_email_is_refused() {
    let w = in_memory_auth(AuthPolicy::default());
    verified_signup(&w).await;
    w.clock.advance(TimeDelta::minutes(2));
    assert!(matches!(
        w.service
            .verification()
            .send_code(None, "NEW@example.com", SignUpCode)
            .await,
        Err(SendCodeError::EmailTaken)
    ));
}

#[tokio::test]
async fn reset_consumes_the_code_changes_the_password_and_revokes_sessions() {
    let w = in_memory_auth(AuthPolicy::default());
    let user = verified_signup(&w).await;
    let login = w
        .service
        .accounts()
        .login(
            Identifier::LoginId("newbie".into()),
            "long enough",
            &Caller {
                contract: "standard",
                ip: None,
                user_agent: None,
            },
        )
        .await
        .unwrap();
    w.clock.advance(TimeDelta::minutes(1));
    let access = login.tokens.access.token.clone();
    assert!(
        w.service.sessions().introspect(&access).await.unwrap().is_some(),
        "live before the reset"
    );
    w.service
        .verification()
        .send_code(Some("newbie"), EMAIL, ForgetPassword)
        .await
        .unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    assert!(
        w.service
            .verification()
            .check_code(Some("newbie"), EMAIL, &code, ForgetPassword)
            .await
            .unwrap()
    );
    assert!(matches!(
        w.service
            .verification()
            .reset_password(AccountRef::Id(user.id.get()), &code, "short", &caller())
            .await,
        Err(ResetError::WeakPassword(_))
    ));
    let id = w
        .service
        .verification()
        .reset_password(AccountRef::Id(user.id.get()), &code, "brand new pass", &caller())
        .await
        .unwrap();
    assert_eq!(id, user.id);
    assert!(matches!(
        w.service
            .sessions()
            .refresh(&login.tokens.refresh.token, &caller())
            .await,
        Err(RefreshError::Invalid)
    ));
    // Introspection reports the reset at once; offline checks cannot.
    assert_eq!(w.service.sessions().introspect(&access).await.unwrap(), None);
    assert!(w.service.sessions().authenticate(&access).is_ok());
    let meta = || Caller {
        contract: "standard",
        ip: None,
        user_agent: None,
    };
    assert!(matches!(
        w.service
            .accounts()
            .login(Identifier::LoginId("newbie".into()), "long enough", &meta())
            .await,
        Err(LoginError::WrongPassword)
    ));
    assert!(
        w.service
            .accounts()
            .login(Identifier::LoginId("newbie".into()), "brand new pass", &meta())
            .await
            .is_ok()
    );
    // Single use.
    assert!(matches!(
        w.service
            .verification()
            .reset_password(
                AccountRef::LoginId("newbie".into()),
                &code,
                "another pass",
                &caller()
            )
            .await,
        Err(ResetError::Denied)
    ));
}

#[tokio::test]
async fn forget_password_mismatch_mails_nothing_and_answers_the_same() {
    let w = in_memory_auth(AuthPolicy::default());
    verified_signup(&w).await;
    let before = w.mailer.sent.lock().unwrap().len();
    w.clock.advance(TimeDelta::minutes(2));
    w.service
        .verification()
        .send_code(Some("someoneelse"), EMAIL, ForgetPassword)
        .await
        .unwrap();
    w.service
        .verification()
        .send_code(Some("newbie"), "other@example.com", ForgetPassword)
        .await
        .unwrap();
    assert_eq!(w.mailer.sent.lock().unwrap().len(), before);
    // The cooldown applies all the same, so a second try cannot tell either.
    assert!(matches!(
        w.service
            .verification()
            .send_code(Some("someoneelse"), EMAIL, ForgetPassword)
            .await,
        Err(SendCodeError::Cooldown(_))
    ));
}

#[tokio::test]
async fn a_failed_mail_leaves_no_usable_code_and_no_cooldown() {
    let w = in_memory_auth(AuthPolicy::default());
    w.mailer.down.store(true, Ordering::SeqCst);
    assert!(matches!(
        w.service.verification().send_code(None, EMAIL, SignUpCode).await,
        Err(SendCodeError::MailUnavailable(_))
    ));
    assert!(w.codes.rows.lock().unwrap().is_empty());
    w.mailer.down.store(false, Ordering::SeqCst);
    w.service
        .verification()
        .send_code(None, EMAIL, SignUpCode)
        .await
        .unwrap();
}

#[tokio::test]
async fn reset_with_a_wrong_code_counts_a_try() {
    let w = in_memory_auth(AuthPolicy::default());
    let user = verified_signup(&w).await;
    w.clock.advance(TimeDelta::minutes(1));
    w.service
        .verification()
        .send_code(Some("newbie"), EMAIL, ForgetPassword)
        .await
        .unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    let wrong = if code == "abcdef" { "abcde0" } else { "abcdef" };
    for _ in 0..5 {
        assert!(matches!(
            w.service
                .verification()
                .reset_password(AccountRef::Id(user.id.get()), wrong, "brand new pass", &caller())
                .await,
            Err(ResetError::Denied)
        ));
    }
    assert!(matches!(
        w.service
            .verification()
            .reset_password(AccountRef::Id(user.id.get()), &code, "brand new pass", &caller())
            .await,
        Err(ResetError::Denied)
    ));
}

#[tokio::test]
async fn duplicates_are_reported_before_the_gate() {
    let w = in_memory_auth(AuthPolicy::default());
    verified_signup(&w).await;
    let mut same_id = request("fresh@example.com");
    same_id.login_id = "NEWBIE".into();
    assert!(matches!(
        w.service.accounts().sign_up(same_id).await,
        Err(SignUpError::Duplicate(
            crate::identity::user::UniqueField::LoginId
        ))
    ));
    let mut same_email = request(EMAIL);
    same_email.login_id = "someoneelse".into();
    assert!(matches!(
        w.service.accounts().sign_up(same_email).await,
        Err(SignUpError::Duplicate(crate::identity::user::UniqueField::Email))
    ));
    assert!(matches!(
        w.service.accounts().sign_up(request("fresh@example.com")).await,
        Err(SignUpError::Duplicate(
            crate::identity::user::UniqueField::LoginId
        ))
    ));
}

/// Issue defect 3: a `SIGN_UP` check admits the sign-up of the login id the
/// code was sent (or first checked) for, once, and nobody else's.
#[tokio::test]
async fn a_sign_up_check_admits_only_its_login_id_once() {
    let w = in_memory_auth(AuthPolicy::default());
    w.service
        .verification()
        .send_code(Some("newbie"), EMAIL, SignUpCode)
        .await
        .unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    // Another login id's check of the right code is refused and spends no
    // try of the owner's.
    for _ in 0..6 {
        assert!(
            !w.service
                .verification()
                .check_code(Some("stranger"), EMAIL, &code, SignUpCode)
                .await
                .unwrap()
        );
    }
    assert_eq!(w.codes.rows.lock().unwrap()[EMAIL].attempts, 0);
    assert!(
        w.service
            .verification()
            .check_code(Some("newbie"), EMAIL, &code, SignUpCode)
            .await
            .unwrap()
    );
    let mut stranger = request(EMAIL);
    stranger.login_id = "stranger".into();
    assert!(matches!(
        w.service.accounts().sign_up(stranger).await,
        Err(SignUpError::EmailNotVerified)
    ));
    let user = w.service.accounts().sign_up(request(EMAIL)).await.unwrap();
    assert!(w.codes.rows.lock().unwrap()[EMAIL].consumed_at.is_some());
    // Single use: with the account gone, the same check admits nothing.
    w.service
        .accounts()
        .withdraw("newbie", "long enough", &Caller::new("account").with_ip(None))
        .await
        .unwrap();
    assert!(w.ports.users.by_id(user.id).await.unwrap().is_none());
    assert!(matches!(
        w.service.accounts().sign_up(request(EMAIL)).await,
        Err(SignUpError::EmailNotVerified)
    ));
}

/// A code sent without a login id is bound by the first right check that
/// names one; a check naming none opens no sign-up at all.
#[tokio::test]
async fn a_check_binds_a_code_sent_without_login_id() {
    let w = in_memory_auth(AuthPolicy::default());
    w.service
        .verification()
        .send_code(None, EMAIL, SignUpCode)
        .await
        .unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    assert!(
        w.service
            .verification()
            .check_code(None, EMAIL, &code, SignUpCode)
            .await
            .unwrap()
    );
    assert!(matches!(
        w.service.accounts().sign_up(request(EMAIL)).await,
        Err(SignUpError::EmailNotVerified)
    ));
    assert!(
        w.service
            .verification()
            .check_code(Some("newbie"), EMAIL, &code, SignUpCode)
            .await
            .unwrap()
    );
    assert!(
        !w.service
            .verification()
            .check_code(Some("stranger"), EMAIL, &code, SignUpCode)
            .await
            .unwrap()
    );
    // Once bound, a check naming nobody is refused too.
    assert!(
        !w.service
            .verification()
            .check_code(None, EMAIL, &code, SignUpCode)
            .await
            .unwrap()
    );
    w.service.accounts().sign_up(request(EMAIL)).await.unwrap();
}

/// A right check gives its reserved try back: four typos, then the code
/// still checks (twice) and resets.
#[tokio::test]
async fn a_right_code_is_not_a_wrong_try() {
    let w = in_memory_auth(AuthPolicy::default());
    let user = verified_signup(&w).await;
    w.clock.advance(TimeDelta::minutes(1));
    w.service
        .verification()
        .send_code(Some("newbie"), EMAIL, ForgetPassword)
        .await
        .unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    let wrong = if code == "abcdef" { "abcde0" } else { "abcdef" };
    for _ in 0..4 {
        assert!(
            !w.service
                .verification()
                .check_code(Some("newbie"), EMAIL, wrong, ForgetPassword)
                .await
                .unwrap()
        );
    }
    for _ in 0..2 {
        assert!(
            w.service
                .verification()
                .check_code(Some("newbie"), EMAIL, &code, ForgetPassword)
                .await
                .unwrap()
        );
    }
    assert_eq!(w.codes.rows.lock().unwrap()[EMAIL].attempts, 4);
    w.service
        .verification()
        .reset_password(AccountRef::Id(user.id.get()), &code, "brand new pass", &caller())
        .await
        .unwrap();
}

/// A code store whose reads are all served before any of a burst's writes:
/// the stale read that let a synchronised burst of checks be compared
/// about thirty times against a cap of five (issue defect 4). The first
/// `burst` readers wait until one more has read; that last reader then
/// waits until the test lets it go.
struct StaleReads {
    inner: std::sync::Arc<crate::testing::MemCodes>,
    burst: usize,
    readers: std::sync::atomic::AtomicUsize,
    all_read: tokio::sync::Barrier,
    release_last: tokio::sync::Semaphore,
}

#[async_trait::async_trait]
impl crate::verification::ports::CodeStore for StaleReads {
    async fn put(
        &self,
        code: &crate::verification::StoredCode,
        cooldown: TimeDelta,
    ) -> Result<crate::verification::PutOutcome, crate::PortError> {
        self.inner.put(code, cooldown).await
    }
    async fn get(
        &self,
        email: &crate::identity::user::Email,
    ) -> Result<Option<crate::verification::StoredCode>, crate::PortError> {
        let snapshot = self.inner.get(email).await;
        let n = self.readers.fetch_add(1, Ordering::SeqCst);
        if n <= self.burst {
            self.all_read.wait().await;
        }
        if n == self.burst {
            drop(self.release_last.acquire().await.unwrap());
        }
        snapshot
    }
    async fn reserve_attempt(
        &self,
        email: &crate::identity::user::Email,
        hash: &crate::verification::CodeHash,
        now: chrono::DateTime<chrono::Utc>,
        max: u32,
    ) -> Result<bool, crate::PortError> {
        self.inner.reserve_attempt(email, hash, now, max).await
    }
    async fn mark_verified(
        &self,
        email: &crate::identity::user::Email,
        hash: &crate::verification::CodeHash,
        now: chrono::DateTime<chrono::Utc>,
        max: u32,
        login_id: Option<&crate::identity::user::LoginId>,
    ) -> Result<bool, crate::PortError> {
        self.inner.mark_verified(email, hash, now, max, login_id).await
    }
    async fn consume(
        &self,
        email: &crate::identity::user::Email,
        hash: &crate::verification::CodeHash,
        now: chrono::DateTime<chrono::Utc>,
        max: u32,
    ) -> Result<bool, crate::PortError> {
        self.inner.consume(email, hash, now, max).await
    }
    async fn consume_sign_up(
        &self,
        email: &crate::identity::user::Email,
        hash: &crate::verification::CodeHash,
        login_id: &crate::identity::user::LoginId,
        since: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, crate::PortError> {
        self.inner
            .consume_sign_up(email, hash, login_id, since, now)
            .await
    }
    async fn discard(
        &self,
        email: &crate::identity::user::Email,
        hash: &crate::verification::CodeHash,
    ) -> Result<(), crate::PortError> {
        self.inner.discard(email, hash).await
    }
    async fn put_decoy(
        &self,
        key: &crate::verification::DecoyKey,
        now: chrono::DateTime<chrono::Utc>,
        cooldown: TimeDelta,
    ) -> Result<crate::verification::PutOutcome, crate::PortError> {
        self.inner.put_decoy(key, now, cooldown).await
    }
    async fn purge_expired(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        horizon: TimeDelta,
    ) -> Result<usize, crate::PortError> {
        self.inner.purge_expired(now, horizon).await
    }
}

/// Issue defect 4, made deterministic: forty wrong checks and then the
/// right one all read the code while it still had five tries left; the
/// wrong ones finish first. Only five wrong codes may have been compared,
/// and the right one must be refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_stale_reads_cannot_outrun_the_try_cap() {
    const BURST: usize = 40;
    let w = in_memory_auth(AuthPolicy::default());
    w.service
        .verification()
        .send_code(Some("newbie"), EMAIL, SignUpCode)
        .await
        .unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    let wrong = if code == "abcdef" { "abcde0" } else { "abcdef" };
    let stale = std::sync::Arc::new(StaleReads {
        inner: w.codes.clone(),
        burst: BURST,
        readers: std::sync::atomic::AtomicUsize::new(0),
        all_read: tokio::sync::Barrier::new(BURST + 1),
        release_last: tokio::sync::Semaphore::new(0),
    });
    let mut ports = w.ports.clone();
    ports.codes = stale.clone();
    let service = AuthService::new(ports, AuthPolicy::default());
    let wrong_checks: Vec<_> = (0..BURST)
        .map(|_| {
            let service = service.clone();
            tokio::spawn(async move {
                service
                    .verification()
                    .check_code(Some("newbie"), EMAIL, wrong, SignUpCode)
                    .await
                    .unwrap()
            })
        })
        .collect();
    while stale.readers.load(Ordering::SeqCst) < BURST {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let right = {
        let (service, code) = (service.clone(), code.clone());
        tokio::spawn(async move {
            service
                .verification()
                .check_code(Some("newbie"), EMAIL, &code, SignUpCode)
                .await
                .unwrap()
        })
    };
    for check in wrong_checks {
        assert!(!check.await.unwrap());
    }
    assert_eq!(w.codes.rows.lock().unwrap()[EMAIL].attempts, 5);
    stale.release_last.add_permits(1);
    assert!(!right.await.unwrap(), "the right code was accepted after the cap");
    assert!(matches!(
        w.service.accounts().sign_up(request(EMAIL)).await,
        Err(SignUpError::EmailNotVerified)
    ));
}

/// Issue defect 5: a stranger's `FORGET_PASSWORD` request for the owner's
/// email neither replaces the owner's pending code nor delays the owner's
/// next request, and still answers like a match would.
#[tokio::test]
async fn a_strangers_reset_request_changes_nothing_of_the_owners() {
    let w = in_memory_auth(AuthPolicy::default());
    let user = verified_signup(&w).await;
    w.clock.advance(TimeDelta::minutes(1));
    w.service
        .verification()
        .send_code(Some("newbie"), EMAIL, ForgetPassword)
        .await
        .unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    let pending = w.codes.rows.lock().unwrap()[EMAIL].clone();
    let mails = w.mailer.sent.lock().unwrap().len();
    // Even within the owner's cooldown: a pair's answers depend on that
    // pair's history only.
    w.clock.advance(TimeDelta::seconds(10));
    w.service
        .verification()
        .send_code(Some("stranger"), EMAIL, ForgetPassword)
        .await
        .unwrap();
    assert!(matches!(
        w.service
            .verification()
            .send_code(Some("stranger"), EMAIL, ForgetPassword)
            .await,
        Err(SendCodeError::Cooldown(_))
    ));
    assert_eq!(w.codes.rows.lock().unwrap()[EMAIL], pending);
    assert_eq!(w.mailer.sent.lock().unwrap().len(), mails);
    w.service
        .verification()
        .reset_password(AccountRef::Id(user.id.get()), &code, "brand new pass", &caller())
        .await
        .unwrap();
    // The owner's cooldown ended; the stranger's, still running, is the
    // stranger's alone.
    w.clock.advance(TimeDelta::seconds(51));
    w.service
        .verification()
        .send_code(Some("newbie"), EMAIL, ForgetPassword)
        .await
        .unwrap();
    assert_eq!(w.mailer.sent.lock().unwrap().len(), mails + 1);
}

/// What the scheduled purge deletes of codes now: the code store's rule at
/// the horizon the production `Housekeeper` derives from the policy.
async fn purge_codes(w: &InMemoryAuth) -> usize {
    use crate::ports::{Clock, CodeStore};
    let now = w.clock.now();
    let cutoffs = crate::housekeeping::RetentionPolicy::from_policy(w.service.policy(), None).cutoffs(now);
    w.codes.purge_expired(now, cutoffs.code_horizon).await.unwrap()
}

#[tokio::test]
async fn purging_keeps_what_a_cooldown_or_an_open_sign_up_needs() {
    let w = in_memory_auth(AuthPolicy::default());
    w.service
        .verification()
        .send_code(Some("newbie"), EMAIL, SignUpCode)
        .await
        .unwrap();
    let code = w.mailer.last_code(EMAIL).unwrap();
    w.clock.advance(TimeDelta::minutes(9));
    assert!(
        w.service
            .verification()
            .check_code(Some("newbie"), EMAIL, &code, SignUpCode)
            .await
            .unwrap()
    );
    w.service
        .verification()
        .send_code(Some("nobody"), "other@example.com", ForgetPassword)
        .await
        .unwrap();
    // The decoy's cooldown runs and the code is live: nothing goes.
    w.clock.advance(TimeDelta::seconds(30));
    assert_eq!(purge_codes(&w).await, 0);
    // The decoy's cooldown ended and the code expired, but the code's
    // sign-up window is still open: only the decoy goes.
    w.clock.advance(TimeDelta::seconds(90));
    assert_eq!(purge_codes(&w).await, 1);
    w.service.accounts().sign_up(request(EMAIL)).await.unwrap();
    w.clock.advance(TimeDelta::minutes(10));
    assert_eq!(purge_codes(&w).await, 1);
    assert!(w.codes.rows.lock().unwrap().is_empty());
    assert!(w.codes.decoys.lock().unwrap().is_empty());
}
