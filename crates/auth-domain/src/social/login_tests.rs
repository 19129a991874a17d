//! Social login use cases over fakes: flow state, linking rules, errors.

use std::sync::atomic::Ordering;

use chrono::TimeDelta;

use crate::caller::Caller;
use crate::identity::account::SignUp;
use crate::identity::login::{Identifier, Login, LoginError};
use crate::sessions::ports::SessionStore;
use crate::social::login::{FlowOrigin, ProviderAnswer, SocialLoginError, SocialStartError};
use crate::social::{EmailTrust, Provider, SocialProfile, StateHash};
use crate::testing::social::FakeAnswer;
use crate::testing::{InMemoryAuth, in_memory_auth, open_policy};

fn meta() -> Caller {
    Caller {
        contract: "picsel",
        ip: None,
        user_agent: None,
    }
}

fn profile(provider: Provider, subject: &str, email: Option<&str>, verified: bool) -> SocialProfile {
    SocialProfile {
        provider,
        subject: subject.into(),
        email: email.map(Into::into),
        email_trust: if verified {
            EmailTrust::Verified
        } else {
            EmailTrust::Unverified
        },
        name: Some("홍길동".into()),
        nickname: Some("길동".into()),
        picture: Some("https://img.example.com/p.png".into()),
    }
}

/// Starts a flow and returns its state (as the browser would carry it).
async fn start(w: &InMemoryAuth, provider: Provider) -> String {
    w.service
        .social()
        .start_social_login(provider.as_str(), FlowOrigin::App)
        .await
        .unwrap();
    let authorized = w.social.provider.authorized.lock().unwrap();
    let (p, state, _) = authorized.last().unwrap().clone();
    assert_eq!(p, provider);
    state
}

/// A whole flow answered with `answer` for a fresh code.
async fn flow(w: &InMemoryAuth, provider: Provider, answer: FakeAnswer) -> Result<Login, SocialLoginError> {
    let state = start(w, provider).await;
    let code = format!("code-{state}");
    w.social.provider.answer(&code, answer);
    w.service
        .social()
        .social_login(
            provider.as_str(),
            &state,
            None,
            ProviderAnswer::Code(code),
            &meta(),
        )
        .await
        .map(|done| {
            assert_eq!(done.origin, FlowOrigin::App, "started with FlowOrigin::App");
            done.login
        })
}

async fn login_as(w: &InMemoryAuth, p: SocialProfile) -> Result<Login, SocialLoginError> {
    flow(w, p.provider, FakeAnswer::Profile(p)).await
}

async fn password_user(w: &InMemoryAuth, email: &str) -> crate::identity::user::User {
    w.service
        .accounts()
        .sign_up(SignUp {
            login_id: "parkh".into(),
            email: email.into(),
            name: "박혁".into(),
            password: "correct horse".into(),
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn start_stores_a_state_and_pkce_where_supported() {
    let w = in_memory_auth(open_policy());
    for provider in Provider::ALL {
        let state = start(&w, provider).await;
        assert_eq!(state.len(), 64);
        let stored = w
            .social
            .states
            .rows
            .lock()
            .unwrap()
            .get(&StateHash::of(&state))
            .cloned()
            .unwrap();
        assert_eq!(stored.provider, provider);
        assert_eq!(stored.expires_at - stored.created_at, TimeDelta::minutes(10));
        let (_, _, verifier) = w
            .social
            .provider
            .authorized
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap();
        assert_eq!(verifier.is_some(), provider.supports_pkce(), "{provider}");
        assert_eq!(
            stored.pkce_verifier.map(|v| v.expose().to_owned()),
            verifier,
            "{provider}"
        );
    }
    // Two flows never share a state.
    let a = start(&w, Provider::Google).await;
    let b = start(&w, Provider::Google).await;
    assert_ne!(a, b);
}

#[tokio::test]
async fn unknown_and_unconfigured_providers() {
    let w = in_memory_auth(open_policy());
    assert!(matches!(
        w.service
            .social()
            .start_social_login("github", FlowOrigin::App)
            .await,
        Err(SocialStartError::UnknownProvider)
    ));
    assert!(matches!(
        w.service
            .social()
            .start_social_login("Google", FlowOrigin::App)
            .await,
        Err(SocialStartError::UnknownProvider)
    ));
    w.social.provider.disabled.lock().unwrap().insert(Provider::Naver);
    assert!(matches!(
        w.service
            .social()
            .start_social_login("naver", FlowOrigin::App)
            .await,
        Err(SocialStartError::NotConfigured)
    ));
    let r = w
        .service
        .social()
        .social_login("naver", "s", None, ProviderAnswer::Code("c".into()), &meta())
        .await;
    assert!(matches!(r, Err(SocialLoginError::NotConfigured)));
    let r = w
        .service
        .social()
        .social_login("github", "s", None, ProviderAnswer::Code("c".into()), &meta())
        .await;
    assert!(matches!(r, Err(SocialLoginError::UnknownProvider)));
    assert!(w.social.states.rows.lock().unwrap().is_empty());
}

#[tokio::test]
async fn first_login_creates_a_passwordless_user_and_later_ones_find_it() {
    let w = in_memory_auth(open_policy());
    let first = login_as(&w, profile(Provider::Kakao, "4242", Some("Kim@Kakao.com"), true))
        .await
        .unwrap();
    let u = &first.user;
    assert_eq!(u.email.as_str(), "kim@kakao.com");
    assert_eq!(u.name, "홍길동");
    assert_eq!(u.profile_image.as_deref(), Some("https://img.example.com/p.png"));
    assert!(u.login_id.is_none() && u.password_hash.is_none());
    // A session was opened like any login's.
    let sid = first.tokens.access.claims.sid;
    assert!(w.sessions.sessions.lock().unwrap().get(&sid).unwrap().is_live());
    assert_eq!(w.sessions.sessions.lock().unwrap()[&sid].client, "picsel");
    // The verifier stored at the start reached the exchange.
    let (_, _, started_verifier) = w.social.provider.authorized.lock().unwrap()[0].clone();
    let (_, _, _, sent_verifier) = w.social.provider.exchanges.lock().unwrap()[0].clone();
    assert!(started_verifier.is_some());
    assert_eq!(started_verifier, sent_verifier);

    // Later logins map to the same user even when the provider's email
    // changed or is no longer shared.
    for email in [Some("kim@kakao.com"), Some("other@kakao.com"), None] {
        let again = login_as(&w, profile(Provider::Kakao, "4242", email, false))
            .await
            .unwrap();
        assert_eq!(again.user.uuid, u.uuid);
        assert_ne!(again.tokens.access.claims.sid, sid);
    }
    // The same subject at another provider is another identity.
    let err = login_as(&w, profile(Provider::Naver, "4242", Some("kim@kakao.com"), false)).await;
    assert!(matches!(err, Err(SocialLoginError::EmailNotVerified)));
}

#[tokio::test]
async fn a_verified_email_links_to_the_existing_account() {
    let w = in_memory_auth(open_policy());
    let existing = password_user(&w, "park@example.com").await;
    let login = login_as(
        &w,
        profile(Provider::Google, "g-1", Some("PARK@example.com"), true),
    )
    .await
    .unwrap();
    assert_eq!(login.user.id, existing.id);
    // Nothing of the account changed; its password still works.
    assert_eq!(login.user.name, "박혁");
    assert!(login.user.profile_image.is_none());
    w.service
        .accounts()
        .login(Identifier::LoginId("parkh".into()), "correct horse", &meta())
        .await
        .unwrap();
    // And the link holds.
    let (id, _) = w.social.identities.rows.lock().unwrap()[&(Provider::Google, "g-1".to_owned())];
    assert_eq!(id, existing.id);
}

#[tokio::test]
async fn an_unverified_email_is_refused_and_nothing_is_stored() {
    let w = in_memory_auth(open_policy());
    let existing = password_user(&w, "park@example.com").await;
    // Existing account: no takeover.
    let r = login_as(
        &w,
        profile(Provider::Kakao, "k-1", Some("park@example.com"), false),
    )
    .await;
    assert!(matches!(r, Err(SocialLoginError::EmailNotVerified)));
    // New email: no account is planted on an address nobody proved.
    let r = login_as(
        &w,
        profile(Provider::Kakao, "k-2", Some("new@example.com"), false),
    )
    .await;
    assert!(matches!(r, Err(SocialLoginError::EmailNotVerified)));
    assert!(w.social.identities.rows.lock().unwrap().is_empty());
    assert!(
        w.service
            .accounts()
            .email_available("new@example.com")
            .await
            .unwrap()
    );
    assert!(w.sessions.live_sessions(existing.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn no_email_cannot_create_an_account() {
    let w = in_memory_auth(open_policy());
    for email in [None, Some("not-an-email"), Some("")] {
        let r = login_as(&w, profile(Provider::Naver, "n-1", email, true)).await;
        assert!(matches!(r, Err(SocialLoginError::EmailMissing)), "{email:?}");
    }
    assert!(w.social.identities.rows.lock().unwrap().is_empty());
}

#[tokio::test]
async fn social_only_users_fail_password_login_like_a_wrong_password() {
    let w = in_memory_auth(open_policy());
    let login = login_as(
        &w,
        profile(Provider::Google, "g-2", Some("solo@example.com"), true),
    )
    .await
    .unwrap();
    let before = w.hasher.verifications.load(Ordering::SeqCst);
    let r = w
        .service
        .accounts()
        .login(Identifier::Email(login.user.email.as_str().into()), "", &meta())
        .await;
    assert!(matches!(r, Err(LoginError::WrongPassword)));
    assert_eq!(w.hasher.verifications.load(Ordering::SeqCst), before + 1);
}

#[tokio::test]
async fn a_state_is_single_use_bound_to_its_provider_and_expires() {
    let w = in_memory_auth(open_policy());
    let p = profile(Provider::Google, "g-3", Some("s@example.com"), true);

    // Forged.
    let r = w
        .service
        .social()
        .social_login(
            "google",
            "forged",
            None,
            ProviderAnswer::Code("c".into()),
            &meta(),
        )
        .await;
    assert!(matches!(r, Err(SocialLoginError::InvalidState)));

    // Another provider's state is refused and not spent.
    let state = start(&w, Provider::Google).await;
    w.social.provider.answer("c1", FakeAnswer::Profile(p.clone()));
    let r = w
        .service
        .social()
        .social_login("kakao", &state, None, ProviderAnswer::Code("c1".into()), &meta())
        .await;
    assert!(matches!(r, Err(SocialLoginError::InvalidState)));
    w.service
        .social()
        .social_login("google", &state, None, ProviderAnswer::Code("c1".into()), &meta())
        .await
        .unwrap();
    // Reused.
    let r = w
        .service
        .social()
        .social_login("google", &state, None, ProviderAnswer::Code("c1".into()), &meta())
        .await;
    assert!(matches!(r, Err(SocialLoginError::InvalidState)));
    assert_eq!(w.social.provider.exchanges.lock().unwrap().len(), 1);

    // Expired: the fake clock moves past the lifetime.
    let state = start(&w, Provider::Google).await;
    w.clock.advance(TimeDelta::minutes(10));
    let r = w
        .service
        .social()
        .social_login("google", &state, None, ProviderAnswer::Code("c1".into()), &meta())
        .await;
    assert!(matches!(r, Err(SocialLoginError::InvalidState)));
    assert!(w.social.states.rows.lock().unwrap().is_empty());
}

#[tokio::test]
async fn provider_errors_spend_the_state() {
    let w = in_memory_auth(open_policy());
    let state = start(&w, Provider::Naver).await;
    let r = w
        .service
        .social()
        .social_login(
            "naver",
            &state,
            None,
            ProviderAnswer::Error("access_denied".into()),
            &meta(),
        )
        .await;
    assert!(matches!(r, Err(SocialLoginError::Denied)));
    let r = w
        .service
        .social()
        .social_login("naver", &state, None, ProviderAnswer::Code("c".into()), &meta())
        .await;
    assert!(matches!(r, Err(SocialLoginError::InvalidState)));

    let state = start(&w, Provider::Google).await;
    let r = w
        .service
        .social()
        .social_login(
            "google",
            &state,
            None,
            ProviderAnswer::Error("server_error".into()),
            &meta(),
        )
        .await;
    assert!(matches!(r, Err(SocialLoginError::ProviderError(e)) if e == "server_error"));
    let state = start(&w, Provider::Google).await;
    let r = w
        .service
        .social()
        .social_login("google", &state, None, ProviderAnswer::Missing, &meta())
        .await;
    assert!(matches!(r, Err(SocialLoginError::MissingCode)));

    assert!(matches!(
        flow(&w, Provider::Kakao, FakeAnswer::CodeRejected).await,
        Err(SocialLoginError::CodeRejected(_))
    ));
    assert!(matches!(
        flow(&w, Provider::Kakao, FakeAnswer::TokenDown).await,
        Err(SocialLoginError::TokenExchange(_))
    ));
    assert!(matches!(
        flow(&w, Provider::Kakao, FakeAnswer::UserInfoDown).await,
        Err(SocialLoginError::UserInfo(_))
    ));
    // A profile of the wrong provider is not trusted.
    let other = profile(Provider::Google, "g", Some("x@example.com"), true);
    assert!(matches!(
        flow(&w, Provider::Kakao, FakeAnswer::Profile(other)).await,
        Err(SocialLoginError::UserInfo(_))
    ));
    assert!(w.social.identities.rows.lock().unwrap().is_empty());
}

#[tokio::test]
async fn concurrent_first_logins_make_one_user() {
    let w = in_memory_auth(open_policy());
    let p = profile(Provider::Google, "g-race", Some("race@example.com"), true);
    let (a, b) = tokio::join!(login_as(&w, p.clone()), login_as(&w, p));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.user.id, b.user.id);
}

#[tokio::test]
async fn browser_flows_need_their_browsers_nonce() {
    let w = in_memory_auth(open_policy());
    let email = "bound@example.com";
    let answer = |code: &str| {
        w.social.provider.answer(
            code,
            FakeAnswer::Profile(profile(Provider::Google, "g-bound", Some(email), true)),
        );
    };
    let begin = || async {
        let started = w
            .service
            .social()
            .start_social_login("google", FlowOrigin::Browser)
            .await
            .unwrap();
        let state = w
            .social
            .provider
            .authorized
            .lock()
            .unwrap()
            .last()
            .unwrap()
            .1
            .clone();
        (state, started.browser.expect("a browser flow has a nonce"))
    };
    // Without the nonce, or with another flow's: refused, and the state is
    // spent (the right nonce afterwards finds nothing).
    let (state, nonce) = begin().await;
    let (_, other) = begin().await;
    answer("c-wrong");
    for (state, wrong) in [(&state, None), (&begin().await.0, Some(other.expose()))] {
        assert!(matches!(
            w.service
                .social()
                .social_login(
                    "google",
                    state,
                    wrong,
                    ProviderAnswer::Code("c-wrong".into()),
                    &meta()
                )
                .await,
            Err(SocialLoginError::BrowserMismatch)
        ));
    }
    assert!(matches!(
        w.service
            .social()
            .social_login(
                "google",
                &state,
                Some(nonce.expose()),
                ProviderAnswer::Code("c".into()),
                &meta()
            )
            .await,
        Err(SocialLoginError::InvalidState)
    ));
    assert!(
        w.ports
            .users
            .by_email(&crate::identity::user::Email::parse(email).unwrap())
            .await
            .unwrap()
            .is_none()
    );
    // With it: logged in. The nonce is stored only as a hash.
    let (state, nonce) = begin().await;
    let stored = w
        .social
        .states
        .rows
        .lock()
        .unwrap()
        .get(&StateHash::of(&state))
        .cloned()
        .unwrap();
    assert_eq!(stored.browser, Some(nonce.hash()));
    answer("c-right");
    let login = w
        .service
        .social()
        .social_login(
            "google",
            &state,
            Some(nonce.expose()),
            ProviderAnswer::Code("c-right".into()),
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(login.login.user.email.as_str(), email);
    assert_eq!(
        login.origin,
        FlowOrigin::Browser,
        "its browser's flow, delivered as such"
    );
    // Application flows are not bound: no nonce, none needed.
    let started = w
        .service
        .social()
        .start_social_login("google", FlowOrigin::App)
        .await
        .unwrap();
    assert!(started.browser.is_none());
}

/// A Naver profile whose address is a `@naver.com` mailbox.
fn naver_mailbox(subject: &str, email: &str) -> SocialProfile {
    SocialProfile {
        email_trust: EmailTrust::ProviderMailbox,
        ..profile(Provider::Naver, subject, Some(email), false)
    }
}

#[tokio::test]
async fn naver_mailboxes_create_accounts_but_never_link_by_email() {
    let w = in_memory_auth(open_policy());
    // A fresh address: a new account, found again by the link.
    let created = login_as(&w, naver_mailbox("n-1", "gil@naver.com")).await.unwrap();
    assert!(created.user.password_hash.is_none());
    let again = login_as(&w, naver_mailbox("n-1", "gil@naver.com")).await.unwrap();
    assert_eq!(again.user.id, created.user.id);
    // An address an account already has: Naver does not attest it, so no
    // link, whatever the account.
    let existing = password_user(&w, "park@naver.com").await;
    let r = login_as(&w, naver_mailbox("n-2", "park@naver.com")).await;
    assert!(matches!(r, Err(SocialLoginError::EmailTaken)));
    let r = login_as(&w, naver_mailbox("n-3", "gil@naver.com")).await;
    assert!(matches!(r, Err(SocialLoginError::EmailTaken)));
    // Nor does a verified identity join the account created from a Naver
    // mailbox (its address was never proven); a proven one it joins.
    let r = login_as(&w, profile(Provider::Google, "g-1", Some("gil@naver.com"), true)).await;
    assert!(matches!(r, Err(SocialLoginError::EmailTaken)));
    let joined = login_as(&w, profile(Provider::Kakao, "k-1", Some("park@naver.com"), true))
        .await
        .unwrap();
    assert_eq!(joined.user.id, existing.id);
    let links = w.social.identities.rows.lock().unwrap();
    assert_eq!(links.len(), 2, "only n-1 and k-1 are linked: {:?}", links.keys());
}
