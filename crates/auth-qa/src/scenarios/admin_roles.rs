//! The admin role (issue 30): granted and revoked through
//! `POST /internal/users/{id}/grant-admin|revoke-admin`, shown as `admin`
//! in `GET /internal/users/{id}`, each change on the audit trail once
//! (idempotent calls and parallel grants record one event, never a 5xx);
//! a disabled account may hold the role and still cannot log in; bad ids
//! 400/404, no token 401.

use crate::{Reply, Target, TestApp};
use serde_json::{Value, json};

use super::assert_keys;

async fn admin(app: &TestApp, method: &str, path: &str) -> Reply {
    let headers = [(
        "authorization".to_owned(),
        format!("Bearer {}", app.admin_token()),
    )];
    app.request(method, path, &headers, Vec::new()).await
}

#[track_caller]
fn ok(r: &Reply) -> &Value {
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    &r.json
}

/// The user's role events on the audit trail, newest first, as
/// `(kind, target)`.
async fn role_events(app: &TestApp, user: i64) -> Vec<(String, Value)> {
    let r = admin(app, "GET", &format!("/internal/audit?user={user}")).await;
    ok(&r)["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"].as_str().is_some_and(|k| k.starts_with("admin_role_")))
        .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["target"].clone()))
        .collect()
}

async fn the_admin_role_is_granted_shown_audited_and_revoked(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let other = app.new_user().await;
    let show = format!("/internal/users/{}", user.id);
    let shown = ok(&admin(&app, "GET", &show).await).clone();
    assert_eq!(shown["user"]["admin"], false, "{shown}");

    let granted = admin(&app, "POST", &format!("{show}/grant-admin")).await;
    let body = ok(&granted).clone();
    assert_keys(&body, &["success", "user"]);
    assert_eq!(body["success"], true);
    assert_eq!(body["user"]["admin"], true, "{body}");
    assert_eq!(body["user"]["id"], json!(user.id));
    // The answer is the account as `GET /internal/users/{id}` shows it.
    let shown = ok(&admin(&app, "GET", &show).await).clone();
    assert_eq!(shown, body);
    let others = ok(&admin(&app, "GET", &format!("/internal/users/{}", other.id)).await).clone();
    assert_eq!(others["user"]["admin"], false, "only that account: {others}");
    let target = json!(format!("user:{}", user.id));
    assert_eq!(
        role_events(&app, user.id).await,
        vec![("admin_role_grant".to_owned(), target.clone())]
    );

    // Granting again changes nothing: the same answer, nothing recorded.
    let again = admin(&app, "POST", &format!("{show}/grant-admin")).await;
    assert_eq!(ok(&again), &body);
    assert_eq!(role_events(&app, user.id).await.len(), 1);

    let revoked = admin(&app, "POST", &format!("{show}/revoke-admin")).await;
    assert_eq!(ok(&revoked)["user"]["admin"], false, "{}", revoked.text);
    assert_eq!(ok(&admin(&app, "GET", &show).await)["user"]["admin"], false);
    let again = admin(&app, "POST", &format!("{show}/revoke-admin")).await;
    assert_eq!(ok(&again), ok(&revoked));
    assert_eq!(
        role_events(&app, user.id).await,
        vec![
            ("admin_role_revoke".to_owned(), target.clone()),
            ("admin_role_grant".to_owned(), target)
        ]
    );
}

async fn a_disabled_account_may_hold_the_role_and_still_cannot_log_in(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let base = format!("/internal/users/{}", user.id);
    ok(&admin(&app, "POST", &format!("{base}/grant-admin")).await);
    let disabled = admin(&app, "POST", &format!("{base}/disable")).await;
    assert_eq!(ok(&disabled)["user"]["admin"], true, "{}", disabled.text);
    assert_eq!(ok(&disabled)["user"]["disabled"], true);
    let login = app
        .post(
            "/api/auth/login",
            &json!({"username": user.login, "password": user.password}),
        )
        .await;
    assert_eq!(
        login.status.as_u16(),
        403,
        "the role unlocks nothing: {}",
        login.text
    );
    // Granted while disabled too.
    let fresh = app.new_user().await;
    let fresh_base = format!("/internal/users/{}", fresh.id);
    ok(&admin(&app, "POST", &format!("{fresh_base}/disable")).await);
    let granted = admin(&app, "POST", &format!("{fresh_base}/grant-admin")).await;
    assert_eq!(ok(&granted)["user"]["admin"], true, "{}", granted.text);
    assert_eq!(ok(&granted)["user"]["disabled"], true);
    let enabled = admin(&app, "POST", &format!("{base}/enable")).await;
    assert_eq!(ok(&enabled)["user"]["admin"], true, "enable keeps the role");
}

async fn role_routes_refuse_bad_ids(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    for action in ["grant-admin", "revoke-admin"] {
        for (id, status) in [
            ("999999999".to_owned(), 404),
            ("abc".to_owned(), 400),
            ("99999999999999999999999".to_owned(), 400),
        ] {
            let path = format!("/internal/users/{id}/{action}");
            let r = admin(&app, "POST", &path).await;
            assert_eq!(r.status.as_u16(), status, "{path}: {}", r.text);
            assert_eq!(r.json["success"], false, "{path}: {}", r.text);
            assert_keys(&r.json, &["success", "message"]);
        }
        let path = format!("/internal/users/{}/{action}", user.id);
        let r = app.request("POST", &path, &[], Vec::new()).await;
        assert_eq!(r.status.as_u16(), 401, "{path}: {}", r.text);
    }
    let shown = ok(&admin(&app, "GET", &format!("/internal/users/{}", user.id)).await).clone();
    assert_eq!(shown["user"]["admin"], false, "nothing happened: {shown}");
    assert!(role_events(&app, user.id).await.is_empty());
}

async fn parallel_grants_never_fail_and_record_once(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let path = format!("/internal/users/{}/grant-admin", user.id);
    let replies = futures_util::future::join_all((0..20).map(|_| admin(&app, "POST", &path))).await;
    for r in &replies {
        assert_eq!(ok(r)["user"]["admin"], true, "{}", r.text);
    }
    assert_eq!(
        role_events(&app, user.id).await,
        vec![("admin_role_grant".to_owned(), json!(format!("user:{}", user.id)))],
        "one grant changed the role"
    );
    let path = format!("/internal/users/{}/revoke-admin", user.id);
    let replies = futures_util::future::join_all((0..20).map(|_| admin(&app, "POST", &path))).await;
    for r in &replies {
        assert_eq!(ok(r)["user"]["admin"], false, "{}", r.text);
    }
    assert_eq!(role_events(&app, user.id).await.len(), 2);
}

crate::scenarios!(
    the_admin_role_is_granted_shown_audited_and_revoked,
    a_disabled_account_may_hold_the_role_and_still_cannot_log_in,
    role_routes_refuse_bad_ids,
    parallel_grants_never_fail_and_record_once,
);
