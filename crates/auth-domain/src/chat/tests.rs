use std::sync::atomic::Ordering;

use chrono::TimeDelta;

use crate::caller::Caller;
use crate::chat::use_cases::{ChatLoginError, ChatProfileInput, CreateAppError};
use crate::chat::{AppId, ChatProfiles, ChatUser, MAX_FRIENDS};
use crate::identity::account::SignUp;
use crate::identity::login::Identifier;
use crate::sessions::token::TokenError;
use crate::testing::chat::FakeAppTokens;
use crate::testing::{InMemoryAuth, caller, in_memory_auth, open_policy};

fn input(user: &str) -> ChatProfileInput {
    ChatProfileInput {
        user_id: user.into(),
        nickname: Some("닉네임".into()),
        profile_image_url: Some("https://bucket.s3.amazonaws.com/a.png".into()),
        friends: vec!["user-2".into(), "user-3".into()],
    }
}

async fn with_app() -> (InMemoryAuth, String, String) {
    let w = in_memory_auth(open_policy());
    let created = w
        .service
        .apps()
        .create_app("  My Chat  ", &caller())
        .await
        .unwrap();
    assert_eq!(created.app.name, "My Chat");
    let id = created.app.id.as_str().to_owned();
    (w, id, created.secret)
}

fn exp_in(w: &InMemoryAuth, secs: i64) -> i64 {
    (w.clock.now() + TimeDelta::seconds(secs)).timestamp()
}

use crate::platform::Clock;

#[tokio::test]
async fn create_app_makes_a_random_id_and_refuses_blank_names() {
    let w = in_memory_auth(open_policy());
    let a = w.service.apps().create_app("a", &caller()).await.unwrap();
    let b = w.service.apps().create_app("b", &caller()).await.unwrap();
    assert!(a.app.id.as_str().starts_with("app_"));
    assert_eq!(a.app.id.as_str().len(), 4 + 24);
    assert_ne!(a.app.id, b.app.id);
    assert_ne!(a.secret, b.secret);
    assert!(!format!("{a:?}").contains(&a.secret), "secret redacted in Debug");
    for bad in ["", "   ", &"x".repeat(101), "a\u{0}b", "a\nb"] {
        assert!(matches!(
            w.service.apps().create_app(bad, &caller()).await,
            Err(CreateAppError::InvalidName)
        ));
    }
}

#[tokio::test]
async fn first_login_registers_and_later_logins_update() {
    let (w, app, secret) = with_app().await;
    let exp = exp_in(&w, 600);
    let token = FakeAppTokens::sign(&secret, "user-1", Some(&app), exp);
    let first = w
        .service
        .chat()
        .chat_login(&app, &token, input("user-1"))
        .await
        .unwrap();
    assert_eq!(first.user_id, "user-1");
    assert!(first.registered);
    assert_eq!(first.expires_at.timestamp(), exp);
    let mut changed = input("user-1");
    changed.nickname = Some("new".into());
    changed.friends = vec![];
    let second = w.service.chat().chat_login(&app, &token, changed).await.unwrap();
    assert!(!second.registered);
    let stored = w
        .chat
        .profiles
        .get(&AppId::parse(&app).unwrap(), &ChatUser::App("user-1".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.nickname.as_deref(), Some("new"));
    assert!(stored.friends.is_empty());
}

#[tokio::test]
async fn app_id_claim_is_optional_but_must_match() {
    let (w, app, secret) = with_app().await;
    let exp = exp_in(&w, 600);
    let no_claim = FakeAppTokens::sign(&secret, "u", None, exp);
    assert!(
        w.service
            .chat()
            .chat_login(&app, &no_claim, input("u"))
            .await
            .is_ok()
    );
    let other_claim = FakeAppTokens::sign(&secret, "u", Some("app_other"), exp);
    assert!(matches!(
        w.service.chat().chat_login(&app, &other_claim, input("u")).await,
        Err(ChatLoginError::Token(TokenError::Invalid))
    ));
}

#[tokio::test]
async fn refusals() {
    let (w, app, secret) = with_app().await;
    let other = w.service.apps().create_app("other", &caller()).await.unwrap();
    let exp = exp_in(&w, 600);
    let token = FakeAppTokens::sign(&secret, "u", Some(&app), exp);
    // Unknown or malformed App-Id.
    for bad in ["", "app_000000000000000000000000", "bad id!"] {
        assert!(matches!(
            w.service.chat().chat_login(bad, &token, input("u")).await,
            Err(ChatLoginError::UnknownApp)
        ));
    }
    // Another app's token.
    let foreign = FakeAppTokens::sign(&other.secret, "u", None, exp);
    assert!(matches!(
        w.service.chat().chat_login(&app, &foreign, input("u")).await,
        Err(ChatLoginError::Token(TokenError::Invalid))
    ));
    // Garbage.
    assert!(matches!(
        w.service.chat().chat_login(&app, "garbage", input("u")).await,
        Err(ChatLoginError::Token(TokenError::Invalid))
    ));
    // sub != userId.
    assert!(matches!(
        w.service
            .chat()
            .chat_login(&app, &token, input("someone-else"))
            .await,
        Err(ChatLoginError::Mismatch)
    ));
    // Expired: the clock moves past exp.
    w.clock.advance(TimeDelta::seconds(601));
    assert!(matches!(
        w.service.chat().chat_login(&app, &token, input("u")).await,
        Err(ChatLoginError::Token(TokenError::Expired))
    ));
}

#[tokio::test]
async fn profile_bounds() {
    let (w, app, secret) = with_app().await;
    let token = FakeAppTokens::sign(&secret, "u", None, exp_in(&w, 600));
    let mut many = input("u");
    many.friends = vec!["f".into(); MAX_FRIENDS + 1];
    let mut long = input("u");
    long.friends = vec!["f".repeat(129)];
    let mut empty = input("u");
    empty.friends = vec![String::new()];
    let mut nick = input("u");
    nick.nickname = Some("n".repeat(101));
    for bad in [many, long, empty, nick] {
        assert!(matches!(
            w.service.chat().chat_login(&app, &token, bad).await,
            Err(ChatLoginError::InvalidProfile)
        ));
    }
    let mut most = input("u");
    most.friends = vec!["f".repeat(128); MAX_FRIENDS];
    assert!(w.service.chat().chat_login(&app, &token, most).await.is_ok());
}

#[tokio::test]
async fn own_access_tokens_name_the_user_by_uuid_or_login_id() {
    let (w, app, _) = with_app().await;
    w.service
        .accounts()
        .sign_up(SignUp {
            login_id: "parkh".into(),
            email: "p@example.com".into(),
            name: "홍길동".into(),
            password: "correct horse".into(),
        })
        .await
        .unwrap();
    let login = w
        .service
        .accounts()
        .login(
            Identifier::LoginId("parkh".into()),
            "correct horse",
            &Caller {
                contract: "standard",
                ip: None,
                user_agent: None,
            },
        )
        .await
        .unwrap();
    let access = login.tokens.access.token.clone();
    let uuid = login.tokens.access.claims.sub.to_string();
    let by_uuid = w
        .service
        .chat()
        .chat_login(&app, &access, input(&uuid))
        .await
        .unwrap();
    assert!(by_uuid.registered);
    assert_eq!(by_uuid.expires_at, login.tokens.access.expires_at);
    // The login id names the same user: stored under the UUID, so an update.
    let by_login = w
        .service
        .chat()
        .chat_login(&app, &access, input("parkh"))
        .await
        .unwrap();
    assert_eq!(by_login.user_id, "parkh");
    assert!(!by_login.registered);
    assert!(matches!(
        w.service.chat().chat_login(&app, &access, input("someone")).await,
        Err(ChatLoginError::Mismatch)
    ));
    let identity = w.service.chat().authenticate_chat(&app, &access).await.unwrap();
    assert!(identity.is_user(&uuid) && identity.is_user("parkh") && !identity.is_user("x"));
    assert_eq!(identity.user, ChatUser::Own(login.tokens.access.claims.sub));
    w.clock.advance(TimeDelta::hours(1));
    assert!(matches!(
        w.service.chat().chat_login(&app, &access, input(&uuid)).await,
        Err(ChatLoginError::Token(TokenError::Expired))
    ));
}

#[tokio::test]
async fn own_access_tokens_of_a_revoked_session_are_refused() {
    let (w, app, _) = with_app().await;
    w.service
        .accounts()
        .sign_up(SignUp {
            login_id: "parkh".into(),
            email: "p@example.com".into(),
            name: "홍길동".into(),
            password: "correct horse".into(),
        })
        .await
        .unwrap();
    let login = w
        .service
        .accounts()
        .login(
            Identifier::LoginId("parkh".into()),
            "correct horse",
            &Caller {
                contract: "standard",
                ip: None,
                user_agent: None,
            },
        )
        .await
        .unwrap();
    let access = login.tokens.access.token.clone();
    w.service
        .sessions()
        .logout_with_access(&access, &caller())
        .await
        .unwrap();
    assert!(matches!(
        w.service.chat().chat_login(&app, &access, input("parkh")).await,
        Err(ChatLoginError::Token(TokenError::Invalid))
    ));
}

#[tokio::test]
async fn storage_failure_is_internal() {
    let (w, app, secret) = with_app().await;
    let token = FakeAppTokens::sign(&secret, "u", None, exp_in(&w, 600));
    w.chat.profiles.down.store(true, Ordering::SeqCst);
    assert!(matches!(
        w.service.chat().chat_login(&app, &token, input("u")).await,
        Err(ChatLoginError::Internal(_))
    ));
}

/// Signs up `login_id` and returns `(access token, UUID)`.
async fn own_user(w: &InMemoryAuth, login_id: &str) -> (String, uuid::Uuid) {
    w.service
        .accounts()
        .sign_up(SignUp {
            login_id: login_id.into(),
            email: format!("{login_id}@example.com"),
            name: "홍길동".into(),
            password: "correct horse".into(),
        })
        .await
        .unwrap();
    let login = w
        .service
        .accounts()
        .login(
            Identifier::LoginId(login_id.into()),
            "correct horse",
            &Caller {
                contract: "standard",
                ip: None,
                user_agent: None,
            },
        )
        .await
        .unwrap();
    (login.tokens.access.token.clone(), login.tokens.access.claims.sub)
}

#[tokio::test]
async fn our_users_and_an_apps_users_are_separate_namespaces() {
    let (w, app, secret) = with_app().await;
    let app_id = AppId::parse(&app).unwrap();
    let (access, uuid) = own_user(&w, "bob").await;
    // The application's own "bob" logs in first.
    let app_bob = FakeAppTokens::sign(&secret, "bob", Some(&app), exp_in(&w, 600));
    let mut theirs = input("bob");
    theirs.nickname = Some("app bob".into());
    assert!(
        w.service
            .chat()
            .chat_login(&app, &app_bob, theirs)
            .await
            .unwrap()
            .registered
    );
    // Our "bob" names himself "bob" too: that is our user, a new profile.
    let identity = w.service.chat().authenticate_chat(&app, &access).await.unwrap();
    assert_eq!(identity.user, ChatUser::Own(uuid));
    let mut ours = input("bob");
    ours.nickname = Some("our bob".into());
    ours.friends = vec![];
    assert!(
        w.service
            .chat()
            .chat_login(&app, &access, ours)
            .await
            .unwrap()
            .registered
    );
    let stored = |user: ChatUser| {
        let (w, app_id) = (&w, &app_id);
        async move { w.chat.profiles.get(app_id, &user).await.unwrap().unwrap() }
    };
    let app_profile = stored(ChatUser::App("bob".into())).await;
    assert_eq!(app_profile.nickname.as_deref(), Some("app bob"));
    assert_eq!(
        app_profile.friends,
        vec!["user-2".to_owned(), "user-3".to_owned()]
    );
    assert_eq!(
        stored(ChatUser::Own(uuid)).await.nickname.as_deref(),
        Some("our bob")
    );
    // An application token minting our user's UUID is the application's
    // user of that name: our user's profile is untouched.
    let forged = FakeAppTokens::sign(&secret, &uuid.to_string(), Some(&app), exp_in(&w, 600));
    let mut minted = input(&uuid.to_string());
    minted.nickname = Some("hijacked".into());
    assert!(
        w.service
            .chat()
            .chat_login(&app, &forged, minted)
            .await
            .unwrap()
            .registered
    );
    assert_eq!(
        stored(ChatUser::Own(uuid)).await.nickname.as_deref(),
        Some("our bob")
    );
    // And the application's token for "bob" does not name our user by UUID.
    assert!(matches!(
        w.service
            .chat()
            .chat_login(&app, &app_bob, input(&uuid.to_string()))
            .await,
        Err(ChatLoginError::Mismatch)
    ));
}

/// Issue 26: a chat socket lives as long as its session (our own token)
/// and its application's secret; deleting or re-keying the application is
/// announced so the sockets close at once.
#[tokio::test]
async fn chat_sockets_end_with_their_session_and_their_apps_secret() {
    let (w, app, secret) = with_app().await;
    let app_id = AppId::parse(&app).unwrap();
    let (access, _) = own_user(&w, "socketu").await;
    let own = w.service.chat().authenticate_chat(&app, &access).await.unwrap();
    assert!(own.session.is_some());
    let token = FakeAppTokens::sign(&secret, "u", None, exp_in(&w, 600));
    let theirs = w.service.chat().authenticate_chat(&app, &token).await.unwrap();
    assert_eq!(theirs.session, None);
    let chat = w.service.chat();
    assert!(chat.chat_socket_live(&own).await.unwrap());
    assert!(chat.chat_socket_live(&theirs).await.unwrap());

    w.service
        .sessions()
        .logout_with_access(&access, &caller())
        .await
        .unwrap();
    assert!(!chat.chat_socket_live(&own).await.unwrap(), "the session ended");
    assert!(chat.chat_socket_live(&theirs).await.unwrap());

    w.service
        .apps()
        .rotate_app_secret(&app_id, &caller())
        .await
        .unwrap();
    assert!(!chat.chat_socket_live(&theirs).await.unwrap(), "re-keyed");
    let announced = |w: &InMemoryAuth| {
        w.bus
            .events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, crate::sessions::events::Event::AppRevoked { app } if *app == app_id))
            .count()
    };
    assert_eq!(announced(&w), 1);
    let rekeyed = w
        .service
        .chat()
        .authenticate_chat(&app, &FakeAppTokens::sign(&secret, "u", None, exp_in(&w, 600)))
        .await;
    assert!(rekeyed.is_err(), "the old secret no longer verifies");
    w.service.apps().delete_app(&app_id, &caller()).await.unwrap();
    assert_eq!(announced(&w), 2);
}
