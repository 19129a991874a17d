//! The admin use cases over fakes: disabling refuses only a verified
//! password, revokes and announces; search pages; audit targets; the admin
//! role granted and revoked once, audited when it changes.

use crate::admin::AdminError;
use crate::audit::AuditKind;
use crate::caller::Caller;
use crate::identity::account::SignUp;
use crate::identity::login::{Identifier, Login, LoginError};
use crate::ports::Clock as _;
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

fn role_events(w: &InMemoryAuth) -> Vec<(AuditKind, Option<String>)> {
    w.audit
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e.kind, AuditKind::AdminRoleGrant | AuditKind::AdminRoleRevoke))
        .map(|e| (e.kind, e.target.clone()))
        .collect()
}

#[tokio::test]
async fn the_admin_role_is_granted_and_revoked_once_each_and_audited_when_it_changes() {
    let (w, id) = with_user("parkh").await;
    let admin = w.service.user_admin();
    assert!(!admin.is_admin(id).await.unwrap());
    assert!(!admin.user_view(id).await.unwrap().unwrap().admin);

    let granted = admin.grant_admin(id, &caller()).await.unwrap();
    assert!(granted.admin);
    assert_eq!(granted.user.id, id);
    assert!(admin.is_admin(id).await.unwrap());
    assert!(admin.user_view(id).await.unwrap().unwrap().admin);
    assert_eq!(
        w.roles.admins.lock().unwrap().get(&id).copied(),
        Some(w.clock.now())
    );
    // Idempotent: the same answer, nothing more recorded.
    assert!(admin.grant_admin(id, &caller()).await.unwrap().admin);
    let target = Some(format!("user:{id}"));
    assert_eq!(role_events(&w), vec![(AuditKind::AdminRoleGrant, target.clone())]);

    let revoked = admin.revoke_admin(id, &caller()).await.unwrap();
    assert!(!revoked.admin);
    assert!(!admin.is_admin(id).await.unwrap());
    assert!(!admin.revoke_admin(id, &caller()).await.unwrap().admin);
    assert_eq!(
        role_events(&w),
        vec![
            (AuditKind::AdminRoleGrant, target.clone()),
            (AuditKind::AdminRoleRevoke, target)
        ]
    );
    let event = w.audit.0.lock().unwrap().last().cloned().unwrap();
    assert_eq!(event.user_id, Some(id));
}

#[tokio::test]
async fn a_disabled_account_may_hold_the_admin_role() {
    let (w, id) = with_user("parkh").await;
    let admin = w.service.user_admin();
    admin.grant_admin(id, &caller()).await.unwrap();
    let change = admin.disable_user(id, &caller()).await.unwrap();
    assert!(change.view.admin && change.view.user.disabled_at.is_some());
    let (w2, other) = with_user("kimj").await;
    w2.service
        .user_admin()
        .disable_user(other, &caller())
        .await
        .unwrap();
    let view = w2
        .service
        .user_admin()
        .grant_admin(other, &caller())
        .await
        .unwrap();
    assert!(view.admin && view.user.disabled_at.is_some());
}

#[tokio::test]
async fn roles_of_unknown_users_are_refused_and_store_nothing() {
    let (w, _) = with_user("parkh").await;
    let ghost = crate::identity::user::UserId::new(999);
    assert!(matches!(
        w.service.user_admin().grant_admin(ghost, &caller()).await,
        Err(AdminError::UnknownUser)
    ));
    assert!(matches!(
        w.service.user_admin().revoke_admin(ghost, &caller()).await,
        Err(AdminError::UnknownUser)
    ));
    assert!(w.roles.admins.lock().unwrap().is_empty());
    assert!(role_events(&w).is_empty());
    assert!(!w.service.user_admin().is_admin(ghost).await.unwrap());
}

#[tokio::test]
async fn parallel_grants_change_and_record_once() {
    let (w, id) = with_user("parkh").await;
    let grants: Vec<_> = (0..20)
        .map(|_| {
            let admin = w.service.user_admin().clone();
            tokio::spawn(async move { admin.grant_admin(id, &caller()).await })
        })
        .collect();
    for grant in grants {
        assert!(grant.await.unwrap().unwrap().admin);
    }
    assert_eq!(role_events(&w).len(), 1);
}

#[tokio::test]
async fn without_a_role_store_nobody_is_admin_and_changes_fail() {
    let (w, id) = with_user("parkh").await;
    let bare = crate::admin::UserAdmin::new(
        crate::testing::test_core(open_policy()),
        w.users.clone(),
        w.social.identities.clone(),
        w.hasher.clone(),
        crate::sessions::issuer::SessionRevoker::new(w.sessions.clone(), w.bus.clone()),
    );
    assert!(!bare.is_admin(id).await.unwrap());
    assert!(!bare.user_view(id).await.unwrap().unwrap().admin);
    assert!(matches!(
        bare.grant_admin(id, &caller()).await,
        Err(AdminError::Internal(_))
    ));
    // A store that is down is an outage, never "not an admin".
    w.roles.down.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(w.service.user_admin().is_admin(id).await.is_err());
    assert!(matches!(
        w.service.user_admin().revoke_admin(id, &caller()).await,
        Err(AdminError::Internal(_))
    ));
}
