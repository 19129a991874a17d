//! Importing accounts with their password hashes (issue 16): imported
//! accounts log in on every password contract with their original
//! password and come out argon2id; bad input is reported by line and
//! changes nothing; the admin view (`GET /internal/users/{id}`).

use std::time::{Duration, Instant};

use crate::{Target, TestApp, unique_email, unique_login};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use serde_json::{Value, json};

use super::picsel_login;

crate::scenarios!(
    imported_accounts_log_in_everywhere_and_are_upgraded,
    bad_input_is_reported_by_line_and_changes_nothing,
    costly_hashes_and_ids_without_room_are_refused,
    rerunning_an_import_skips_and_reports_conflicts,
    dry_run_and_size_limit_store_nothing,
    user_view_answers_400_404_and_needs_the_admin_token,
    cli_import_writes_rejects_and_show_prints_the_account,
    kept_ids_win_over_generated_ones_in_one_file,
);

const PASSWORD: &str = "Password123!";

// Spring Security's documented `DelegatingPasswordEncoder` examples, all of
// the password "password".
const SPRING_BCRYPT: &str = "{bcrypt}$2a$10$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG";
const SPRING_PBKDF2: &str =
    "{pbkdf2}5d923b44a6d129f3ddf3e3c8d29412723dcbde72445e8ef6bf3b508fbf17fa4ed4d6b99ca763d8dc";
const SPRING_SCRYPT: &str = "{scrypt}$e0801$8bWJaSu2IKSn9Z9kM+TPXfOc/9bdYSrN1oD9qfVThWEwdRTnO7re7Ei+fUZRJ68k9lTyuTeUp4of4g24hHnazw==$OAOec05+bXxvuu/1qZ6NUR+xQYvYv7BeL1QxwRpY5Pc=";

/// NestJS `bcrypt` (`$2b$`), PHP's `$2y$`, and Spring's `{bcrypt}$2a$` of `password`.
fn bcrypt_of(password: &str, version: bcrypt::Version) -> String {
    bcrypt::hash_with_result(password, 4)
        .unwrap()
        .format_for_version(version)
}

fn pbkdf2_phc(password: &str, sha512: bool) -> String {
    let salt = b"0123456789abcdef";
    let mut out = [0u8; 32];
    let id = if sha512 {
        pbkdf2::pbkdf2_hmac::<pbkdf2::sha2::Sha512>(password.as_bytes(), salt, 2000, &mut out);
        "pbkdf2-sha512"
    } else {
        pbkdf2::pbkdf2_hmac::<pbkdf2::sha2::Sha256>(password.as_bytes(), salt, 2000, &mut out);
        "pbkdf2-sha256"
    };
    format!("${id}$i=2000,l=32${}${}", B64.encode(salt), B64.encode(out))
}

fn scrypt_phc(password: &str) -> String {
    let salt = b"0123456789abcdef";
    let mut out = [0u8; 32];
    let params = scrypt::Params::new(10, 8, 1).unwrap();
    scrypt::scrypt(password.as_bytes(), salt, &params, &mut out).unwrap();
    format!("$scrypt$ln=10,r=8,p=1${}${}", B64.encode(salt), B64.encode(out))
}

fn argon2_phc(password: &str, algorithm: argon2::Algorithm, m: u32) -> String {
    use argon2::PasswordHasher as _;
    let params = argon2::Params::new(m, 2, 1, None).unwrap();
    argon2::Argon2::new(algorithm, argon2::Version::V0x13, params)
        .hash_password_with_salt(password.as_bytes(), b"0123456789abcdef")
        .unwrap()
        .to_string()
}

/// `POST /internal/users/import` with `body` (and a query string).
async fn import(app: &TestApp, query: &str, body: String) -> crate::Reply {
    let bearer = format!("Bearer {}", app.admin_token());
    app.request(
        "POST",
        &format!("/internal/users/import{query}"),
        &[
            ("authorization".into(), bearer),
            ("content-type".into(), "application/x-ndjson".into()),
        ],
        body.into_bytes(),
    )
    .await
}

async fn show(app: &TestApp, id: i64) -> crate::Reply {
    let bearer = format!("Bearer {}", app.admin_token());
    app.get_headers(&format!("/internal/users/{id}"), &[("authorization", &bearer)])
        .await
}

async fn scheme(app: &TestApp, id: i64) -> String {
    let reply = show(app, id).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    reply.str("/user/passwordScheme")
}

/// Waits (bounded) for the background upgrade to store argon2id.
async fn wait_for_argon2id(app: &TestApp, id: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = scheme(app, id).await;
        if now == "argon2id" {
            return;
        }
        assert!(Instant::now() < deadline, "account {id} still {now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ndjson(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Logs in with every password contract; returns the `account` id.
async fn login_everywhere(app: &TestApp, login: &str, email: &str, password: &str) -> i64 {
    let standard = app
        .post(
            "/api/auth/login",
            &json!({"username": login, "password": password}),
        )
        .await;
    assert_eq!(standard.status.as_u16(), 200, "standard: {}", standard.text);
    picsel_login(app, email, password).await;
    let session = app
        .post("/api/login", &json!({"userId": login, "password": password}))
        .await;
    assert_eq!(session.status.as_u16(), 200, "session: {}", session.text);
    let account = app
        .post(
            "/api/auth/sign-in",
            &json!({"authId": login, "password": password}),
        )
        .await;
    assert_eq!(account.status.as_u16(), 200, "account: {}", account.text);
    account.json["data"]["id"].as_i64().unwrap()
}

async fn imported_accounts_log_in_everywhere_and_are_upgraded(target: &Target) {
    let app = TestApp::spawn(target).await;
    // Imports write fixed ids: not against a shared deployment.
    app.inside("an empty database of its own (imports keep fixed ids)");
    // One account per supported format: (hash, password, scheme before).
    let formats: Vec<(String, &str, &str)> = vec![
        (bcrypt_of(PASSWORD, bcrypt::Version::TwoB), PASSWORD, "bcrypt"),
        (bcrypt_of(PASSWORD, bcrypt::Version::TwoY), PASSWORD, "bcrypt"),
        (
            format!("{{bcrypt}}{}", bcrypt_of(PASSWORD, bcrypt::Version::TwoA)),
            PASSWORD,
            "bcrypt",
        ),
        (SPRING_BCRYPT.into(), "password", "bcrypt"),
        (SPRING_PBKDF2.into(), "password", "pbkdf2-sha1"),
        (SPRING_SCRYPT.into(), "password", "scrypt"),
        (pbkdf2_phc(PASSWORD, false), PASSWORD, "pbkdf2-sha256"),
        (pbkdf2_phc(PASSWORD, true), PASSWORD, "pbkdf2-sha512"),
        (scrypt_phc(PASSWORD), PASSWORD, "scrypt"),
        (
            format!(
                "{{argon2}}{}",
                argon2_phc(PASSWORD, argon2::Algorithm::Argon2id, 4096)
            ),
            PASSWORD,
            "argon2id-old",
        ),
        (
            argon2_phc(PASSWORD, argon2::Algorithm::Argon2i, 4096),
            PASSWORD,
            "argon2i",
        ),
        (format!("{{noop}}{PASSWORD}"), PASSWORD, "argon2id"),
    ];
    let base = 5000;
    let mut accounts = Vec::new();
    let lines: Vec<Value> = formats
        .iter()
        .enumerate()
        .map(|(i, (hash, password, before))| {
            let login = unique_login();
            let email = unique_email();
            let id = base + i as i64;
            accounts.push((id, login.clone(), email.clone(), *password, *before));
            json!({"loginId": login, "email": email, "emailVerified": true, "name": "홍길동",
                   "passwordHash": hash, "createdAt": "2024-03-01T09:00:00Z", "accountId": id,
                   "providers": [{"provider": "kakao", "subject": format!("k-{id}")}]})
        })
        .collect();
    let reply = import(&app, "", ndjson(&lines)).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_eq!(reply.json["imported"], json!(formats.len()), "{}", reply.text);
    assert_eq!(reply.json["rejected"], json!(0), "{}", reply.text);
    assert_eq!(reply.json["byScheme"]["bcrypt"], json!(4), "{}", reply.text);

    for (id, login, email, password, before) in &accounts {
        let view = show(&app, *id).await;
        assert_eq!(view.json["user"]["loginId"], json!(login), "{}", view.text);
        assert_eq!(view.json["user"]["providers"], json!(["kakao"]), "{}", view.text);
        assert_eq!(view.json["user"]["createdAt"], json!("2024-03-01T09:00:00.000Z"));
        assert_eq!(view.str("/user/passwordScheme"), *before, "{login}");
        // The first login verifies the foreign hash; `account` answers the
        // numeric id the old system gave.
        assert_eq!(login_everywhere(&app, login, email, password).await, *id);
        wait_for_argon2id(&app, *id).await;
        // The upgraded hash is the same password, on every contract; a
        // wrong one still fails.
        assert_eq!(login_everywhere(&app, login, email, password).await, *id);
        let wrong = app
            .post(
                "/api/auth/login",
                &json!({"username": login, "password": "Wrong-pass1"}),
            )
            .await;
        assert_eq!(wrong.status.as_u16(), 401, "{}", wrong.text);
    }

    // New accounts continue above the imported ids.
    let user = app.new_user().await;
    assert!(
        user.id > base + formats.len() as i64 - 1,
        "{} after {base}",
        user.id
    );
}

async fn bad_input_is_reported_by_line_and_changes_nothing(target: &Target) {
    let app = TestApp::spawn(target).await;
    let existing = app.new_user().await;
    let good = |login: &str| json!({"loginId": login, "email": format!("{login}@example.com"), "passwordHash": bcrypt_of(PASSWORD, bcrypt::Version::TwoB)});
    let (a, b) = (unique_login(), unique_login());
    let mut body = String::new();
    body.push_str(&format!("{}\n", good(&a))); // 1: stored
    body.push_str("{\"loginId\": \"x\", oops}\n"); // 2: malformed JSON
    body.push_str(&format!("{}\n", good(&a))); // 3: repeats line 1
    body.push_str(&format!(
        "{}\n",
        json!({"loginId": unique_login(), "email": existing.email, "passwordHash": SPRING_BCRYPT})
    )); // 4: the existing account's email
    body.push_str(&format!(
        "{}\n",
        json!({"loginId": unique_login(), "email": "not-an-email", "passwordHash": SPRING_BCRYPT})
    )); // 5: invalid email
    body.push_str(&format!(
        "{}\n",
        json!({"loginId": unique_login(), "email": unique_email(), "passwordHash": &SPRING_BCRYPT[..40]})
    )); // 6: truncated bcrypt
    body.push_str(&format!(
        "{}\n",
        json!({"loginId": unique_login(), "email": unique_email(), "passwordHash": &SPRING_PBKDF2[..60]})
    )); // 7: {pbkdf2} of other parameters (or cut)
    body.push_str(&format!(
        "{}\n",
        json!({"loginId": unique_login(), "email": unique_email(), "passwordHash": "$scrypt$ln=30,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"})
    )); // 8: scrypt parameters too costly
    body.push_str(&format!(
        "{{\"loginId\":\"{}\",\"name\":\"{}\"}}\n",
        unique_login(),
        "x".repeat(70_000)
    )); // 9: oversized
    body.push('\n'); // 10: blank, skipped
    body.push_str(&format!("{}\n", good(&b))); // 11: stored
    body.push_str("{\"loginId\": \"cutoff\", \"email\": \"cut@exam"); // 12: cut off mid-line
    let reply = import(&app, "", body).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    let r = &reply.json;
    assert_eq!(
        (r["records"].clone(), r["imported"].clone(), r["rejected"].clone()),
        (json!(11), json!(2), json!(9)),
        "{}",
        reply.text
    );
    assert_eq!(r["conflicts"], json!(1));
    let rejects: Vec<(i64, String)> = r["rejects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["line"].as_i64().unwrap(),
                x["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let lines: Vec<i64> = rejects.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, vec![2, 3, 4, 5, 6, 7, 8, 9, 12], "{rejects:?}");
    let reason = |line: i64| rejects.iter().find(|(l, _)| *l == line).unwrap().1.clone();
    assert!(reason(2).contains("malformed JSON"), "{}", reason(2));
    assert_eq!(reason(3), "loginId repeats line 1");
    assert_eq!(reason(4), "email belongs to another existing account");
    assert!(reason(5).starts_with("email:"), "{}", reason(5));
    assert!(reason(6).contains("truncated"), "{}", reason(6));
    assert!(reason(7).contains("expect 40"), "{}", reason(7));
    assert!(reason(8).contains("too costly"), "{}", reason(8));
    assert!(reason(9).contains("longer than"), "{}", reason(9));
    assert!(reason(12).contains("cut off"), "{}", reason(12));
    // No reason quotes hash material.
    assert!(!reply.text.contains("dXJ3SW6G7P50"), "{}", reply.text);

    // The existing account is untouched and still logs in.
    let view = show(&app, existing.id).await;
    assert_eq!(view.json["user"]["email"], json!(existing.email));
    assert_eq!(view.str("/user/passwordScheme"), "argon2id");
    app.standard_login(&existing).await;
    // The two good lines were stored and log in.
    for login in [&a, &b] {
        let ok = app
            .post(
                "/api/auth/login",
                &json!({"username": login, "password": PASSWORD}),
            )
            .await;
        assert_eq!(ok.status.as_u16(), 200, "{}", ok.text);
    }
}

/// Issue 26.4 and 26.5: a hash whose parameters are each within bounds but
/// whose product costs seconds of a core per wrong password is refused at
/// the import with the estimate; an `accountId` at the top of the range is
/// refused with the documented range, and sign-ups go on.
async fn costly_hashes_and_ids_without_room_are_refused(target: &Target) {
    let app = TestApp::spawn(target).await;
    const SALT: &str = "MDEyMzQ1Njc4OWFiY2RlZg";
    const OUT: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY";
    let line =
        |hash: String| json!({"loginId": unique_login(), "email": unique_email(), "passwordHash": hash});
    let mut top = line(bcrypt_of(PASSWORD, bcrypt::Version::TwoB));
    top["accountId"] = json!(i64::MAX);
    let body = ndjson(&[
        line(format!("$scrypt$ln=20,r=2,p=16${SALT}${OUT}")),
        line("$2b$16$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG".into()),
        line(format!("$argon2id$v=19$m=262144,t=16,p=16${SALT}${OUT}")),
        top,
        line(bcrypt_of(PASSWORD, bcrypt::Version::TwoB)),
    ]);
    let reply = import(&app, "", body).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_eq!(
        (reply.json["imported"].clone(), reply.json["rejected"].clone()),
        (json!(1), json!(4)),
        "{}",
        reply.text
    );
    let rejects = reply.json["rejects"].as_array().unwrap();
    for r in &rejects[..3] {
        let reason = r["reason"].as_str().unwrap();
        assert!(reason.contains("s of a core per login"), "{reason}");
    }
    assert_eq!(
        rejects[3]["reason"],
        json!("accountId must be an integer from 1 to 9007199254740991 (2^53 - 1)")
    );
    // Sign-ups go on.
    app.new_user().await;
}

async fn rerunning_an_import_skips_and_reports_conflicts(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (a, b) = (unique_login(), unique_login());
    let first = ndjson(&[
        json!({"loginId": a, "email": format!("{a}@example.com"), "passwordHash": SPRING_BCRYPT}),
        json!({"email": format!("{b}@example.com"), "providers": [{"provider": "naver", "subject": format!("n-{b}")}]}),
    ]);
    let reply = import(&app, "", first.clone()).await;
    assert_eq!(
        (reply.json["imported"].clone(), reply.json["byScheme"].clone()),
        (json!(2), json!({"bcrypt": 1, "none": 1})),
        "{}",
        reply.text
    );
    // The same file again (after a crash, say): nothing new, nothing changed.
    let again = import(&app, "", first).await;
    assert_eq!(
        (
            again.json["imported"].clone(),
            again.json["skipped"].clone(),
            again.json["rejected"].clone()
        ),
        (json!(0), json!(2), json!(0)),
        "{}",
        again.text
    );
    // A record that takes the login id with another email is a conflict.
    let conflict = import(
        &app,
        "",
        ndjson(&[json!({"loginId": a, "email": unique_email(), "passwordHash": SPRING_BCRYPT})]),
    )
    .await;
    assert_eq!(conflict.json["conflicts"], json!(1), "{}", conflict.text);
    assert_eq!(
        conflict.json["rejects"][0]["reason"],
        json!("loginId belongs to another existing account")
    );
    let ok = app
        .post("/api/auth/login", &json!({"username": a, "password": "password"}))
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.text);
}

async fn dry_run_and_size_limit_store_nothing(target: &Target) {
    let app = TestApp::spawn_with(target, |c| {
        c.set("AUTH_IMPORT_MAX_BYTES", 4096);
    })
    .await;
    let login = unique_login();
    let line = ndjson(&[
        json!({"loginId": login, "email": format!("{login}@example.com"), "passwordHash": SPRING_BCRYPT}),
    ]);
    let dry = import(&app, "?dryRun=true", line.clone()).await;
    assert_eq!(
        (dry.json["dryRun"].clone(), dry.json["imported"].clone()),
        (json!(true), json!(1)),
        "{}",
        dry.text
    );
    let login_fails = app
        .post(
            "/api/auth/login",
            &json!({"username": login, "password": "password"}),
        )
        .await;
    assert_eq!(login_fails.status.as_u16(), 401, "{}", login_fails.text);

    let big = line.repeat(4096 / line.len() + 2);
    let refused = import(&app, "", big).await;
    assert_eq!(refused.status.as_u16(), 413, "{}", refused.text);
    assert_eq!(refused.json["success"], json!(false));
    let still = app
        .post(
            "/api/auth/login",
            &json!({"username": login, "password": "password"}),
        )
        .await;
    assert_eq!(still.status.as_u16(), 401, "{}", still.text);

    let bad = import(&app, "?springPbkdf2=md5", line.clone()).await;
    assert_eq!(bad.status.as_u16(), 400, "{}", bad.text);
    assert!(
        import_audits(&app).await.is_empty(),
        "a dry run, an oversized body and a bad query changed nothing and are not audited"
    );

    let stored = import(&app, "", line).await;
    assert_eq!(stored.json["imported"], json!(1), "{}", stored.text);
    assert_eq!(
        import_audits(&app).await,
        vec![json!("import:imported=1,skipped=0,rejected=0")],
        "an import is an administrator's action on the audit trail"
    );
}

/// The targets of the `admin_user_import` audit events.
async fn import_audits(app: &TestApp) -> Vec<Value> {
    let bearer = format!("Bearer {}", app.admin_token());
    let events = app
        .get_headers("/internal/audit?limit=1000", &[("authorization", &bearer)])
        .await;
    assert_eq!(events.status.as_u16(), 200, "{}", events.text);
    events.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "admin_user_import")
        .map(|e| e["target"].clone())
        .collect()
}

async fn user_view_answers_400_404_and_needs_the_admin_token(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let view = show(&app, user.id).await;
    assert_eq!(view.status.as_u16(), 200, "{}", view.text);
    assert_eq!(view.json["success"], json!(true));
    assert_eq!(view.json["user"]["loginId"], json!(user.login));
    assert_eq!(view.json["user"]["passwordScheme"], json!("argon2id"));
    assert_eq!(view.json["user"]["providers"], json!([]));
    let bearer = format!("Bearer {}", app.admin_token());
    let nan = app
        .get_headers("/internal/users/abc", &[("authorization", &bearer)])
        .await;
    assert_eq!(nan.status.as_u16(), 400, "{}", nan.text);
    assert_eq!(show(&app, 987_654_321).await.status.as_u16(), 404);
    let anonymous = app.get(&format!("/internal/users/{}", user.id)).await;
    assert_eq!(anonymous.status.as_u16(), 401, "{}", anonymous.text);
    let import_anonymous = app
        .post_raw("/internal/users/import", "{}\n", "application/x-ndjson")
        .await;
    assert_eq!(import_anonymous.status.as_u16(), 401, "{}", import_anonymous.text);
}

async fn cli_import_writes_rejects_and_show_prints_the_account(target: &Target) {
    let app = TestApp::spawn(target).await;
    // The CLI writes to the server's database directly.
    let cli = app.inside("the server's database (the import CLI)");
    let dir = std::env::temp_dir().join(format!("auth-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("users.ndjson");
    let login = unique_login();
    std::fs::write(
        &input,
        ndjson(&[
            json!({"loginId": login, "email": format!("{login}@example.com"), "passwordHash": SPRING_PBKDF2, "accountId": 777}),
            json!({"loginId": "x", "email": "bad"}),
        ]),
    )
    .unwrap();
    let report = cli.cli_import(&input, Some("v5.5")).await.unwrap();
    assert_eq!(
        (report["imported"].clone(), report["rejected"].clone()),
        (json!(1), json!(1)),
        "{report}"
    );
    let rejects = std::fs::read_to_string(dir.join("users.ndjson.rejects.ndjson")).unwrap();
    let reject: Value = serde_json::from_str(rejects.trim()).unwrap();
    assert_eq!(reject["line"], json!(2), "{rejects}");
    // Idempotent: the same file again skips the account.
    let again = cli.cli_import(&input, Some("v5.5")).await.unwrap();
    assert_eq!(
        (again["imported"].clone(), again["skipped"].clone()),
        (json!(0), json!(1)),
        "{again}"
    );

    let shown = cli.cli_show_user("777").await.unwrap();
    assert_eq!(shown["user"]["loginId"], json!(login));
    assert_eq!(shown["user"]["passwordScheme"], json!("pbkdf2-sha1"));
    assert_eq!(shown, show(&app, 777).await.json);
    let ok = app
        .post(
            "/api/auth/login",
            &json!({"username": login, "password": "password"}),
        )
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.text);
    let _ = std::fs::remove_dir_all(&dir);
}

async fn kept_ids_win_over_generated_ones_in_one_file(target: &Target) {
    let app = TestApp::spawn(target).await;
    // Needs an empty database: the kept ids are 1 and 2.
    let cli = app.inside("an empty database of its own and the import CLI");
    // Lines without `accountId` come first; in an empty database they
    // would take ids 1 and 2, which the later lines keep.
    let logins: Vec<String> = (0..4).map(|_| unique_login()).collect();
    let line = |login: &String, id: Option<i64>| {
        let mut l =
            json!({"loginId": login, "email": format!("{login}@example.com"), "passwordHash": SPRING_BCRYPT});
        if let Some(id) = id {
            l["accountId"] = json!(id);
        }
        l
    };
    // Through the CLI, one account per transaction: the generated ids of
    // the first lines would be stored before the kept ones are seen.
    let dir = std::env::temp_dir().join(format!("auth-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("mixed.ndjson");
    std::fs::write(
        &input,
        ndjson(&[
            line(&logins[0], None),
            line(&logins[1], None),
            line(&logins[2], Some(1)),
            line(&logins[3], Some(2)),
        ]),
    )
    .unwrap();
    let report = cli.cli_import(&input, None).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        (report["imported"].clone(), report["rejected"].clone()),
        (json!(4), json!(0)),
        "{report}"
    );
    assert_eq!(show(&app, 1).await.json["user"]["loginId"], json!(logins[2]));
    assert_eq!(show(&app, 2).await.json["user"]["loginId"], json!(logins[3]));
    for login in &logins[..2] {
        let signed_in = app
            .post(
                "/api/auth/sign-in",
                &json!({"authId": login, "password": "password"}),
            )
            .await;
        assert!(
            signed_in.json["data"]["id"].as_i64().unwrap() > 2,
            "{}",
            signed_in.text
        );
    }
}
