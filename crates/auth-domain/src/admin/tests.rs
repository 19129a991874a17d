//! The admin use cases over fakes: disabling refuses only a verified
//! password, revokes and announces; search pages; audit targets.

use crate::admin::AdminError;
use crate::audit::AuditKind;
use crate::caller::Caller;
use crate::identity::account::SignUp;
use crate::identity::login::{Identifier, Login, LoginError};
use crate::sessions::events::Event;
use crate::sessions::session::RevokeReason;
use crate::testing::{InMemoryAuth, caller, in_memory_auth, open_policy};

async fn with_user(login: &str) -> (InMemoryAuth, crate::identity::user::UserId) {
    let w = in_memory_auth(open_policy());
    let user = w
        .service
        .accounts()
        .sign_up(SignUp {
            login_id: login.into(),
            email: format!("{login}@example.com"),
            name: "홍길동".into(),
            password: "correct horse".into(),
        })
        .await
        .unwrap();
    (w, user.id)
}

fn meta() -> Caller {
    Caller {
        contract: "standard",
        ip: Some("203.0.113.7".parse().unwrap()),
        user_agent: Some("ua\u{7}/1".into()),
    }
}

async fn login(w: &InMemoryAuth, password: &str) -> Result<Login, LoginError> {
    w.service
        .accounts()
        .login(Identifier::LoginId("parkh".into()), password, &meta())
        .await
}

#[tokio::test]
async fn disabling_refuses_the_right_password_only_and_revokes_with_an_announcement() {
    let (w, id) = with_user("parkh").await;
    let first = login(&w, "correct horse").await.unwrap();
    // The session remembers its client, without control characters.
    let sessions = w.service.session_admin().user_sessions(id).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].ip, meta().ip);
    assert_eq!(sessions[0].user_agent.as_deref(), Some("ua/1"));

    let change = w.service.user_admin().disable_user(id, &caller()).await.unwrap();
    assert_eq!(change.revoked_sessions, 1);
    assert!(change.view.user.disabled_at.is_some());
    assert_eq!(change.view.live_sessions, 0);
    assert!(w.bus.events.lock().unwrap().contains(&Event::SessionsRevoked {
        sessions: vec![first.tokens.access.claims.sid],
        reason: RevokeReason::AccountDisabled,
    }));
    assert!(matches!(
        login(&w, "correct horse").await,
        Err(LoginError::Disabled)
    ));
    assert!(matches!(
        login(&w, "wrong horse").await,
        Err(LoginError::WrongPassword)
    ));
    assert!(
        w.service
            .session_admin()
            .user_sessions(id)
            .await
            .unwrap()
            .is_empty()
    );

    // Idempotent: the first time is kept, nothing more revoked.
    let again = w.service.user_admin().disable_user(id, &caller()).await.unwrap();
    assert_eq!(again.revoked_sessions, 0);
    assert_eq!(again.view.user.disabled_at, change.view.user.disabled_at);

    w.service.user_admin().enable_user(id, &caller()).await.unwrap();
    login(&w, "correct horse").await.unwrap();
    let targets: Vec<(AuditKind, Option<String>)> = w
        .audit
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|e| (e.kind, e.target.clone()))
        .collect();
    let target = Some(format!("user:{id}"));
    assert!(targets.contains(&(AuditKind::AdminUserDisable, target.clone())));
    assert!(targets.contains(&(AuditKind::AdminUserEnable, target)));
}

#[tokio::test]
async fn unknown_ids_are_refused() {
    let (w, _) = with_user("parkh").await;
    let ghost = crate::identity::user::UserId::new(999);
    assert!(matches!(
        w.service.user_admin().disable_user(ghost, &caller()).await,
        Err(AdminError::UnknownUser)
    ));
    assert!(matches!(
        w.service.user_admin().enable_user(ghost, &caller()).await,
        Err(AdminError::UnknownUser)
    ));
    assert!(matches!(
        w.service.session_admin().user_sessions(ghost).await,
        Err(AdminError::UnknownUser)
    ));
    assert!(matches!(
        w.service
            .session_admin()
            .revoke_user_sessions(ghost, &caller())
            .await,
        Err(AdminError::UnknownUser)
    ));
    let sid = crate::sessions::session::SessionId::from_uuid(uuid::Uuid::nil());
    assert!(matches!(
        w.service.session_admin().revoke_session(sid, &caller()).await,
        Err(AdminError::UnknownSession)
    ));
    let app = crate::chat::AppId::parse("app_x").unwrap();
    assert!(matches!(
        w.service.apps().delete_app(&app, &caller()).await,
        Err(AdminError::UnknownApp)
    ));
    assert!(matches!(
        w.service.apps().rotate_app_secret(&app, &caller()).await,
        Err(AdminError::UnknownApp)
    ));
}

#[tokio::test]
async fn search_pages_without_gaps_or_repeats() {
    let (w, first) = with_user("parkh").await;
    for login in ["kimj", "leeh"] {
        w.service
            .accounts()
            .sign_up(SignUp {
                login_id: login.into(),
                email: format!("{login}@example.com"),
                name: "홍길동".into(),
                password: "correct horse".into(),
            })
            .await
            .unwrap();
    }
    let page = w.service.user_admin().search_users(None, None, 2).await.unwrap();
    assert_eq!(page.users.len(), 2);
    assert_eq!(page.users[0].id, first);
    let next = w
        .service
        .user_admin()
        .search_users(None, page.next_after, 2)
        .await
        .unwrap();
    assert_eq!(next.users.len(), 1);
    assert_eq!(next.next_after, None);
    let found = w
        .service
        .user_admin()
        .search_users(Some(" KIM "), None, 20)
        .await
        .unwrap();
    assert_eq!(found.users.len(), 1);
    assert!(matches!(
        w.service
            .user_admin()
            .search_users(Some(&"x".repeat(201)), None, 20)
            .await,
        Err(AdminError::InvalidQuery)
    ));
}

#[tokio::test]
async fn a_rotated_app_secret_replaces_the_old_one() {
    let (w, _) = with_user("parkh").await;
    let created = w.service.apps().create_app("Chat", &caller()).await.unwrap();
    let rotated = w
        .service
        .apps()
        .rotate_app_secret(&created.app.id, &caller())
        .await
        .unwrap();
    assert_ne!(rotated.secret, created.secret);
    assert_eq!(rotated.app.secret_version, 1);
    assert_eq!(w.service.apps().list_apps().await.unwrap().len(), 1);
    w.service
        .apps()
        .delete_app(&created.app.id, &caller())
        .await
        .unwrap();
    assert!(w.service.apps().list_apps().await.unwrap().is_empty());
}
