//! A signed-in password change through the password gate.

use crate::identity::account::SignUp;
use crate::identity::login::Identifier;
use crate::identity::password_change::ChangePasswordError;
use crate::testing::{caller, in_memory_auth, open_policy};

#[tokio::test]
async fn a_password_change_checks_both_passwords_and_ends_the_other_sessions() {
    let w = in_memory_auth(open_policy());
    let accounts = w.service.accounts();
    accounts
        .sign_up(SignUp {
            login_id: "kimpw".into(),
            email: "kimpw@example.com".into(),
            name: "김".into(),
            password: "correct horse".into(),
        })
        .await
        .unwrap();
    let who = caller();
    let login = || accounts.login(Identifier::LoginId("kimpw".into()), "correct horse", &who);
    let kept = login().await.unwrap();
    let other = login().await.unwrap();
    let user = kept.user.clone();
    let keep = [kept.tokens.access.claims.sid];
    let r = accounts
        .change_password(&user, "wrong horse", "battery staple", true, &keep, &caller())
        .await;
    assert!(matches!(r, Err(ChangePasswordError::WrongPassword)), "{r:?}");
    let r = accounts
        .change_password(&user, "correct horse", "x", true, &keep, &caller())
        .await;
    assert!(matches!(r, Err(ChangePasswordError::WeakPassword(_))), "{r:?}");
    let ended = accounts
        .change_password(&user, "correct horse", "battery staple", true, &keep, &caller())
        .await
        .unwrap();
    assert_eq!(ended, 1);
    let sessions = w.service.sessions();
    let live: Vec<_> = sessions
        .own_sessions(user.id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(live, keep.to_vec(), "only the kept session lives");
    assert!(!live.contains(&other.tokens.access.claims.sid));
    assert!(login().await.is_err(), "the old password is gone");
    accounts
        .login(Identifier::LoginId("kimpw".into()), "battery staple", &caller())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_user_ends_only_their_own_sessions() {
    let w = in_memory_auth(open_policy());
    let accounts = w.service.accounts();
    for (login_id, email) in [("kimown", "kimown@example.com"), ("leeown", "leeown@example.com")] {
        accounts
            .sign_up(SignUp {
                login_id: login_id.into(),
                email: email.into(),
                name: "사용자".into(),
                password: "correct horse".into(),
            })
            .await
            .unwrap();
    }
    let kim = accounts
        .login(Identifier::LoginId("kimown".into()), "correct horse", &caller())
        .await
        .unwrap();
    let lee = accounts
        .login(Identifier::LoginId("leeown".into()), "correct horse", &caller())
        .await
        .unwrap();
    let sessions = w.service.sessions();
    let lee_sid = lee.tokens.access.claims.sid;
    assert!(
        !sessions
            .end_own_session(kim.user.id, lee_sid, &caller())
            .await
            .unwrap()
    );
    assert_eq!(
        sessions.own_sessions(lee.user.id).await.unwrap().len(),
        1,
        "lee's session lives"
    );
    assert!(
        sessions
            .end_own_session(lee.user.id, lee_sid, &caller())
            .await
            .unwrap()
    );
    assert!(
        !sessions
            .end_own_session(lee.user.id, lee_sid, &caller())
            .await
            .unwrap(),
        "once"
    );
}
