//! The console (`/admin/`) and the account page (`/account/`) as a
//! browser without JavaScript sees them (issue 30): signing in through the
//! hosted sign-in as the built-in client `auth-console`, and every way a
//! request can be wrong (no or a wrong CSRF token, another user's session
//! id, a non-admin, an admin without a second factor, a session that
//! ended), each a clear page with nothing changed. The pages in a real
//! browser are `tests/browser/console.mjs`. See `docs/console.md`.

use futures_util::future::join_all;
use serde_json::json;

use crate::{NewUser, Target, TestApp};

use super::mfa::{authenticator, code, enrol_totp};
use super::oidc::{Browser, Page, admin, hidden, sessions};

crate::scenarios!(
    the_account_page_signs_in_through_the_hosted_sign_in,
    account_forms_refuse_forged_and_stale_requests,
    a_password_change_needs_the_current_password,
    the_console_is_for_admins_with_a_second_factor,
    console_actions_are_the_apis_use_cases,
    apps_clients_keys_and_audit_from_the_console,
);

/// Follows the pages from `path` as a browser does, signing in as `user`
/// on the hosted page (with `totp` for the second step when asked), until
/// a page answers; returns it.
async fn open(browser: &Browser, path: &str, user: &NewUser, totp: Option<&str>) -> Page {
    let mut page = browser.get(path).await;
    for _ in 0..8 {
        if page.status != 303 {
            return page;
        }
        let location = page.location.clone().unwrap();
        let location = location
            .strip_prefix(&browser_base(browser))
            .map_or(location.clone(), str::to_owned);
        if location.starts_with("/login?") {
            let shown = browser.get(&location).await;
            assert_eq!(shown.status, 200, "{location}: {shown:?}");
            let (csrf, request) = (hidden(&shown.text, "csrf"), hidden(&shown.text, "request"));
            page = browser
                .post(
                    "/login",
                    &[
                        ("username", &user.login),
                        ("password", &user.password),
                        ("csrf", &csrf),
                        ("request", &request),
                    ],
                )
                .await;
            if page.status == 200 && page.text.contains("name=\"mfa_token\"") {
                let token = hidden(&page.text, "mfa_token");
                let code = totp.unwrap_or_else(|| panic!("asked for a second step: {page:?}"));
                page = browser
                    .post(
                        "/login",
                        &[
                            ("mfa_token", &token),
                            ("code", code),
                            ("csrf", &csrf),
                            ("request", &request),
                        ],
                    )
                    .await;
            }
        } else {
            page = browser.get(&location).await;
        }
    }
    panic!("no page after eight redirects from {path}")
}

fn browser_base(browser: &Browser) -> String {
    browser.base().to_owned()
}

/// The pages' CSRF token (every form carries it).
fn csrf(page: &Page) -> String {
    hidden(&page.text, "csrf")
}

async fn the_account_page_signs_in_through_the_hosted_sign_in(target: &Target) {
    let app = TestApp::spawn_issuer(target, |_| {}).await;
    let user = app.new_user().await;
    let browser = Browser::new(&app);
    // Not signed in: to the sign-in, which starts the code flow of the
    // built-in client.
    let first = browser.get("/account/").await;
    assert_eq!(first.status, 303, "{first:?}");
    assert!(
        first
            .location
            .as_deref()
            .unwrap()
            .contains("/account/login?next="),
        "{first:?}"
    );
    let start = browser.get(first.location.as_deref().unwrap()).await;
    let authorize = start.location.clone().unwrap();
    assert!(
        authorize.contains("/oauth2/authorize?") && authorize.contains("client_id=auth-console"),
        "{authorize}"
    );
    assert!(authorize.contains("code_challenge_method=S256"), "{authorize}");
    let page = open(&browser, "/account/", &user, None).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.text.contains(&user.email) && page.text.contains(&user.login),
        "{}",
        page.text
    );
    assert!(page.text.contains("<html lang=\"ko\""), "Korean by default");
    // The console's grant is a session like the others.
    let live = sessions(&app, &user).await;
    assert!(
        live.as_array().unwrap().iter().any(|s| s["contract"] == "oidc"),
        "{live}"
    );
    // The built-in client is not a registration an admin can list or change.
    let clients = admin(&app, "GET", "/internal/oauth-clients", None).await;
    assert!(!clients.text.contains("auth-console"), "{}", clients.text);
    let change = admin(&app, "DELETE", "/internal/oauth-clients/auth-console", None).await;
    assert_eq!(change.status.as_u16(), 404, "{}", change.text);
    // A callback without the flow's cookie (or with another state) is a
    // clear 400 page, no session.
    let stray = Browser::new(&app).get("/account/callback?code=x&state=y").await;
    assert_eq!(stray.status, 400, "{stray:?}");
}

async fn account_forms_refuse_forged_and_stale_requests(target: &Target) {
    let app = TestApp::spawn_issuer(target, |_| {}).await;
    let user = app.new_user().await;
    let other = app.new_user().await;
    app.standard_login(&user).await;
    app.standard_login(&other).await;
    let browser = Browser::new(&app);
    let page = open(&browser, "/account/", &user, None).await;
    let token = csrf(&page);
    let mine = sessions(&app, &user).await;
    let standard_sid = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["contract"] == "standard")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = sessions(&app, &other).await[0]["id"].as_str().unwrap().to_owned();
    // No CSRF token, or a wrong one: 403, nothing ended.
    for fields in [
        vec![("sid", standard_sid.as_str())],
        vec![("sid", standard_sid.as_str()), ("csrf", "x")],
    ] {
        let r = browser.post("/account/sessions/revoke", &fields).await;
        assert_eq!(r.status, 403, "{r:?}");
    }
    assert_eq!(sessions(&app, &user).await, mine, "nothing changed");
    // Another user's session id: 404, their session lives.
    let r = browser
        .post("/account/sessions/revoke", &[("sid", &theirs), ("csrf", &token)])
        .await;
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(sessions(&app, &other).await.as_array().unwrap().len(), 1);
    // Twenty parallel ends of my own session: one ends it, the others find
    // it gone; never a 500.
    let fields = [("sid", standard_sid.as_str()), ("csrf", token.as_str())];
    let statuses: Vec<u16> = join_all((0..20).map(|_| browser.post("/account/sessions/revoke", &fields)))
        .await
        .into_iter()
        .map(|p| p.status)
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 303 || *s == 404), "{statuses:?}");
    // The page's own session ended elsewhere: a page asks to sign in again,
    // a form is a clear 401 and changes nothing.
    let r = admin(
        &app,
        "DELETE",
        &format!("/internal/users/{}/sessions", user.id),
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let again = browser.get("/account/").await;
    assert_eq!(again.status, 303, "{again:?}");
    assert!(
        again.location.as_deref().unwrap().contains("/account/login"),
        "{again:?}"
    );
    let r = browser
        .post(
            "/account/password",
            &[
                ("current", &user.password),
                ("new", "Another-Pass-123"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(r.status, 401, "{r:?}");
    app.standard_login(&user).await; // the old password still works
}

async fn a_password_change_needs_the_current_password(target: &Target) {
    let app = TestApp::spawn_issuer(target, |_| {}).await;
    let user = app.new_user().await;
    app.standard_login(&user).await;
    let browser = Browser::new(&app);
    let page = open(&browser, "/account/", &user, None).await;
    let token = csrf(&page);
    let new = "A-new-Password-456";
    let wrong = browser
        .post(
            "/account/password",
            &[("current", "not-it-123"), ("new", new), ("csrf", &token)],
        )
        .await;
    assert_eq!(wrong.status, 400, "{wrong:?}");
    let weak = browser
        .post(
            "/account/password",
            &[("current", &user.password), ("new", "x"), ("csrf", &token)],
        )
        .await;
    assert_eq!(weak.status, 400, "{weak:?}");
    app.standard_login(&user).await;
    let done = browser
        .post(
            "/account/password",
            &[
                ("current", &user.password),
                ("new", new),
                ("others", "1"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{done:?}");
    // The other sessions ended; the page's own (and its browser session)
    // did not.
    let live = sessions(&app, &user).await;
    assert!(
        live.as_array()
            .unwrap()
            .iter()
            .all(|s| s["contract"] != "standard"),
        "{live}"
    );
    assert_eq!(browser.get("/account/").await.status, 200);
    let old = app
        .post(
            "/api/auth/login",
            &json!({"username": user.login, "password": user.password}),
        )
        .await;
    assert_eq!(old.status.as_u16(), 401, "{}", old.text);
    let renewed = NewUser {
        password: new.to_owned(),
        ..user.clone()
    };
    app.standard_login(&renewed).await;
    let audit = admin(&app, "GET", &format!("/internal/audit?user={}", user.id), None).await;
    assert!(audit.text.contains("password_change"), "{}", audit.text);
}

async fn the_console_is_for_admins_with_a_second_factor(target: &Target) {
    let app = TestApp::spawn_issuer(target, |_| {}).await;
    let user = app.new_user().await;
    // Not an admin: 403, after signing in.
    let browser = Browser::new(&app);
    let page = open(&browser, "/admin/", &user, None).await;
    assert_eq!(page.status, 403, "{page:?}");
    // An admin without a second factor is asked to enrol one.
    let r = admin(
        &app,
        "POST",
        &format!("/internal/users/{}/grant-admin", user.id),
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let page = browser.get("/admin/").await;
    assert_eq!(page.status, 403, "{page:?}");
    assert!(page.text.contains("/account/#security"), "{}", page.text);
    // With TOTP on, a sign-in with the password alone is not enough: the
    // console asks for a fresh sign-in with the second step.
    let (secret, _) = enrol_totp(&app, &user).await;
    let totp = authenticator(&secret);
    let step = code(&totp, 1);
    let page = open(&browser, "/admin/", &user, Some(&step)).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.text.contains("/admin/users"), "{}", page.text);
}

async fn console_actions_are_the_apis_use_cases(target: &Target) {
    let app = TestApp::spawn_issuer(target, |c| {
        c.set("AUTH_ADMIN_REQUIRE_MFA", "false");
    })
    .await;
    let boss = app.new_user().await;
    let r = admin(
        &app,
        "POST",
        &format!("/internal/users/{}/grant-admin", boss.id),
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let kim = app.new_user().await;
    let lee = app.new_user().await;
    app.standard_login(&lee).await;
    let browser = Browser::new(&app);
    let page = open(&browser, &format!("/admin/users/{}", kim.id), &boss, None).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.text.contains(&kim.email), "{}", page.text);
    let token = csrf(&page);
    // Without the token: 403, not disabled.
    let r = browser
        .post(&format!("/admin/users/{}/disable", kim.id), &[])
        .await;
    assert_eq!(r.status, 403, "{r:?}");
    let shown = admin(&app, "GET", &format!("/internal/users/{}", kim.id), None).await;
    assert_eq!(shown.json["user"]["disabled"], false, "{}", shown.text);
    // With it: disabled, and the API's audit event.
    let r = browser
        .post(&format!("/admin/users/{}/disable", kim.id), &[("csrf", &token)])
        .await;
    assert_eq!(r.status, 303, "{r:?}");
    let shown = admin(&app, "GET", &format!("/internal/users/{}", kim.id), None).await;
    assert_eq!(shown.json["user"]["disabled"], true, "{}", shown.text);
    let audit = admin(&app, "GET", &format!("/internal/audit?user={}", kim.id), None).await;
    assert!(audit.text.contains("admin_user_disable"), "{}", audit.text);
    // Another user's session id under kim's page: 404, lee's session lives.
    let sid = sessions(&app, &lee).await[0]["id"].as_str().unwrap().to_owned();
    let r = browser
        .post(
            &format!("/admin/users/{}/sessions/revoke", kim.id),
            &[("sid", &sid), ("csrf", &token)],
        )
        .await;
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(sessions(&app, &lee).await.as_array().unwrap().len(), 1);
    let r = browser
        .post(
            &format!("/admin/users/{}/sessions/revoke", lee.id),
            &[("sid", &sid), ("csrf", &token)],
        )
        .await;
    assert_eq!(r.status, 303, "{r:?}");
    assert!(sessions(&app, &lee).await.as_array().unwrap().is_empty());
    // Grant and revoke the role from the page.
    let r = browser
        .post(
            &format!("/admin/users/{}/grant-admin", lee.id),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(r.status, 303, "{r:?}");
    let shown = admin(&app, "GET", &format!("/internal/users/{}", lee.id), None).await;
    assert_eq!(shown.json["user"]["admin"], true, "{}", shown.text);
    // An unknown user, an unknown action: clear 404s.
    for path in [
        "/admin/users/999999/disable",
        "/admin/users/abc/disable",
        &format!("/admin/users/{}/explode", lee.id),
    ] {
        let r = browser.post(path, &[("csrf", &token)]).await;
        assert_eq!(r.status, 404, "{path}: {r:?}");
    }
    // Revoking one's own role: the next page is refused.
    let r = browser
        .post(
            &format!("/admin/users/{}/revoke-admin", boss.id),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(browser.get("/admin/users").await.status, 403);
}

/// The text of the element with `id` (`<p … id="x">text</p>`).
fn element_text(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let at = html.find(&marker).unwrap_or_else(|| panic!("no #{id} in {html}"));
    let start = at + html[at..].find('>').unwrap() + 1;
    let end = start + html[start..].find('<').unwrap();
    html[start..end].trim().to_owned()
}

async fn apps_clients_keys_and_audit_from_the_console(target: &Target) {
    let app = TestApp::spawn_issuer(target, |c| {
        c.set("AUTH_ADMIN_REQUIRE_MFA", "false");
    })
    .await;
    let boss = app.new_user().await;
    let r = admin(
        &app,
        "POST",
        &format!("/internal/users/{}/grant-admin", boss.id),
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let browser = Browser::new(&app);
    let page = open(&browser, "/admin/apps", &boss, None).await;
    assert_eq!(page.status, 200, "{page:?}");
    let token = csrf(&page);
    // An application: its secret is shown once and logs in as the API's would.
    let created = browser
        .post("/admin/apps", &[("name", "콘솔 앱"), ("csrf", &token)])
        .await;
    assert_eq!(created.status, 200, "{created:?}");
    let secret = element_text(&created.text, "app-secret");
    let listed = admin(&app, "GET", "/internal/apps", None).await;
    let app_id = listed.json["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "콘솔 앱")
        .unwrap_or_else(|| panic!("{}", listed.text))["appId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(secret.len() >= 32, "{secret}");
    let blank = browser
        .post("/admin/apps", &[("name", ""), ("csrf", &token)])
        .await;
    assert_eq!(blank.status, 400, "{blank:?}");
    // A client: registered, its redirect URIs edited, a bad one refused by name.
    let created = browser
        .post(
            "/admin/clients",
            &[
                ("name", "Grafana"),
                ("redirect_uris", "https://grafana.example/cb"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{created:?}");
    let clients = admin(&app, "GET", "/internal/oauth-clients", None).await;
    let client_id = clients.json["clients"][0]["clientId"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", clients.text))
        .to_owned();
    let edited = browser
        .post(
            &format!("/admin/clients/{client_id}/uris"),
            &[
                (
                    "redirect_uris",
                    "https://grafana.example/cb\nhttps://grafana.example/cb2",
                ),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(edited.status, 303, "{edited:?}");
    let shown = admin(&app, "GET", &format!("/internal/oauth-clients/{client_id}"), None).await;
    assert_eq!(
        shown.json["client"]["redirectUris"],
        json!(["https://grafana.example/cb", "https://grafana.example/cb2"]),
        "{}",
        shown.text
    );
    let bad = browser
        .post(
            &format!("/admin/clients/{client_id}/uris"),
            &[("redirect_uris", "not a uri"), ("csrf", &token)],
        )
        .await;
    assert_eq!(bad.status, 400, "{bad:?}");
    let console_client = browser.get("/admin/clients/auth-console").await;
    assert_eq!(
        console_client.status, 404,
        "the built-in client is not an admin's to change"
    );
    // Keys: the page lists them; a rotation is the API's.
    // The overview counts the live sessions of everyone (the boss's
    // browser and console sessions at least).
    let overview = browser.get("/admin/").await;
    assert_eq!(overview.status, 200, "{overview:?}");
    let live: u64 = element_text(&overview.text, "live-sessions").parse().unwrap();
    assert!(live >= 2, "live sessions {live}");
    let keys = browser.get("/admin/keys").await;
    assert_eq!(keys.status, 200, "{keys:?}");
    let rotated = browser.post("/admin/keys/rotate", &[("csrf", &token)]).await;
    assert!(rotated.status == 303 || rotated.status == 200, "{rotated:?}");
    // The audit trail: the console's actions are there, filtered by kind.
    let audit = browser.get("/admin/audit?kind=admin_app_create").await;
    assert_eq!(audit.status, 200, "{audit:?}");
    assert!(audit.text.contains(&format!("app:{app_id}")), "{}", audit.text);
    assert!(
        !audit.text.contains("admin_oauth_client_create</td>"),
        "filtered by kind"
    );
    let bad = browser.get("/admin/audit?user=abc").await;
    assert_eq!(bad.status, 400, "{bad:?}");
    // Deleting the application from the page.
    let deleted = browser
        .post(&format!("/admin/apps/{app_id}/delete"), &[("csrf", &token)])
        .await;
    assert_eq!(deleted.status, 303, "{deleted:?}");
    let listed = admin(&app, "GET", "/internal/apps", None).await;
    assert!(!listed.text.contains(&app_id), "{}", listed.text);
}
