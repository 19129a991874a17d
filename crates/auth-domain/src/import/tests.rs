//! Importing accounts, and upgrading their passwords on login.

use std::sync::atomic::Ordering;

use crate::audit::AuditKind;
use crate::caller::Caller;
use crate::identity::login::Identifier;
use crate::identity::password::{PasswordHash, PasswordScheme};
use crate::identity::ports::UserRepository;
use crate::identity::user::UserId;
use crate::import::use_cases::{ImportOptions, ImportRun};
use crate::import::{ImportRecord, RejectedLine};
use crate::testing::{InMemoryAuth, in_memory_auth, open_policy};

fn record(login: &str, hash: &str) -> ImportRecord {
    ImportRecord {
        login_id: Some(login.into()),
        email: Some(format!("{login}@example.com")),
        password_hash: Some(hash.into()),
        ..ImportRecord::default()
    }
}

fn meta() -> Caller {
    Caller {
        contract: "standard",
        ip: None,
        user_agent: None,
    }
}

async fn import(w: &InMemoryAuth, records: Vec<ImportRecord>) -> ImportRun {
    let mut run = ImportRun::new(ImportOptions::default());
    let batch = records
        .into_iter()
        .enumerate()
        .map(|(i, r)| (i as u64 + 1, r))
        .collect();
    w.service.import().import_batch(&mut run, batch).await.unwrap();
    run
}

fn scheme_of(w: &InMemoryAuth, login: &str) -> PasswordScheme {
    let user = w
        .users
        .all()
        .into_iter()
        .find(|u| u.login_id.as_ref().map(|l| l.as_str()) == Some(login))
        .unwrap();
    w.ports.hasher.scheme(user.password_hash.as_ref())
}

#[tokio::test]
async fn a_foreign_hash_is_upgraded_after_the_login_answered() {
    let w = in_memory_auth(open_policy());
    import(&w, vec![record("parkh", "old$correct horse")]).await;
    assert_eq!(scheme_of(&w, "parkh"), PasswordScheme::Bcrypt);

    w.service
        .accounts()
        .login(Identifier::LoginId("parkh".into()), "correct horse", &meta())
        .await
        .unwrap();
    // The login answered before anything was re-hashed or stored.
    assert_eq!(scheme_of(&w, "parkh"), PasswordScheme::Bcrypt);
    assert_eq!(w.background.run_all().await, 1);
    assert_eq!(scheme_of(&w, "parkh"), PasswordScheme::Argon2id);
    assert!(w.audit.kinds().contains(&AuditKind::PasswordUpgraded));

    // The new hash is the same password; a current hash is not upgraded again.
    w.service
        .accounts()
        .login(Identifier::LoginId("parkh".into()), "correct horse", &meta())
        .await
        .unwrap();
    assert_eq!(w.background.run_all().await, 0);
}

#[tokio::test]
async fn a_wrong_password_upgrades_nothing() {
    let w = in_memory_auth(open_policy());
    import(&w, vec![record("parkh", "old$correct horse")]).await;
    assert!(
        w.service
            .accounts()
            .login(Identifier::LoginId("parkh".into()), "wrong horse", &meta())
            .await
            .is_err()
    );
    assert_eq!(w.background.run_all().await, 0);
    assert_eq!(scheme_of(&w, "parkh"), PasswordScheme::Bcrypt);
}

#[tokio::test]
async fn a_failed_upgrade_keeps_the_old_hash_and_the_next_login_retries() {
    let w = in_memory_auth(open_policy());
    import(&w, vec![record("parkh", "old$correct horse")]).await;
    w.users.writes_down.store(true, Ordering::SeqCst);
    w.service
        .accounts()
        .login(Identifier::LoginId("parkh".into()), "correct horse", &meta())
        .await
        .unwrap();
    w.background.run_all().await;
    assert_eq!(scheme_of(&w, "parkh"), PasswordScheme::Bcrypt);
    // The old hash still logs in; once the database is back, it upgrades.
    w.users.writes_down.store(false, Ordering::SeqCst);
    w.service
        .accounts()
        .login(Identifier::LoginId("parkh".into()), "correct horse", &meta())
        .await
        .unwrap();
    w.background.run_all().await;
    assert_eq!(scheme_of(&w, "parkh"), PasswordScheme::Argon2id);
}

#[tokio::test]
async fn an_upgrade_never_overwrites_a_password_changed_meanwhile() {
    let w = in_memory_auth(open_policy());
    import(&w, vec![record("parkh", "old$correct horse")]).await;
    w.service
        .accounts()
        .login(Identifier::LoginId("parkh".into()), "correct horse", &meta())
        .await
        .unwrap();
    // A reset lands between the login and its background upgrade.
    let reset = PasswordHash::from_phc("fake$brand new one".into());
    let id = w.users.all()[0].id;
    w.users.set_password(id, &reset).await.unwrap();
    w.background.run_all().await;
    assert_eq!(w.users.all()[0].password_hash.as_ref(), Some(&reset));
}

#[tokio::test]
async fn records_are_validated_one_by_one_with_their_line() {
    let w = in_memory_auth(open_policy());
    let mut no_secret = record("nosecret", "");
    no_secret.password_hash = None;
    let mut bad_email = record("bademail", "old$x");
    bad_email.email = Some("not-an-email".into());
    let mut no_email = record("noemail", "old$x");
    no_email.email = None;
    let mut bad_provider = record("badprov", "old$x");
    bad_provider.providers = vec![("myspace".into(), "1".into())];
    let mut zero_id = record("zeroid", "old$x");
    zero_id.account_id = Some(0);
    let run = import(
        &w,
        vec![
            record("good1", "old$pw"),
            no_secret,
            bad_email,
            no_email,
            bad_provider,
            record("badhash", "$md5$whatever"),
            record("x", "old$pw"),
            zero_id,
            record("Good1", "old$other"),
        ],
    )
    .await;
    let mut run = run;
    let rejects = run.take_rejects();
    let lines: Vec<u64> = rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![2, 3, 4, 5, 6, 7, 8, 9], "{rejects:?}");
    assert_eq!(
        rejects[0],
        RejectedLine {
            line: 2,
            reason: "passwordHash or providers is required".into()
        }
    );
    assert!(rejects[1].reason.starts_with("email:"), "{rejects:?}");
    assert!(rejects[2].reason.starts_with("email is required"), "{rejects:?}");
    assert!(rejects[3].reason.contains("unknown provider"), "{rejects:?}");
    assert!(rejects[4].reason.starts_with("passwordHash:"), "{rejects:?}");
    assert!(rejects[5].reason.starts_with("loginId:"), "{rejects:?}");
    assert!(rejects[6].reason.starts_with("accountId"), "{rejects:?}");
    assert_eq!(rejects[7].reason, "loginId repeats line 1");
    let report = run.report();
    assert_eq!((report.records, report.imported, report.rejected), (9, 1, 8));
    assert_eq!(w.users.all().len(), 1);
}

#[tokio::test]
async fn a_rerun_skips_what_was_imported_and_reports_conflicts() {
    let w = in_memory_auth(open_policy());
    let mut with_id = record("parkh", "old$pw");
    with_id.account_id = Some(7);
    import(&w, vec![with_id.clone(), record("kim", "old$pw")]).await;
    assert_eq!(
        w.users.all().iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![UserId::new(7), UserId::new(8)]
    );

    let mut taken_email = record("lee", "old$pw");
    taken_email.email = Some("kim@example.com".into());
    let mut run = import(&w, vec![with_id, taken_email, record("kim", "old$pw")]).await;
    let report = run.report().clone();
    // Line 3 is "kim" again in this file after line 2 claimed its email:
    // a duplicate within the file.
    assert_eq!((report.imported, report.skipped, report.conflicts), (0, 1, 1));
    assert_eq!(
        run.take_rejects(),
        vec![
            RejectedLine {
                line: 2,
                reason: "email belongs to another existing account".into()
            },
            RejectedLine {
                line: 3,
                reason: "email repeats line 2".into()
            }
        ]
    );
    assert_eq!(w.users.all().len(), 2);
}

#[tokio::test]
async fn plain_text_is_hashed_and_never_stored_as_given() {
    let w = in_memory_auth(open_policy());
    let run = import(&w, vec![record("parkh", "{noop}hunter2")]).await;
    assert_eq!(run.report().imported, 1);
    let stored = w.users.all()[0].password_hash.clone().unwrap();
    assert_ne!(stored.as_phc(), "{noop}hunter2");
    assert_eq!(scheme_of(&w, "parkh"), PasswordScheme::Argon2id);
    // A password the policy for new ones would refuse (too short) still
    // logs in: it is the account's existing password.
    w.service
        .accounts()
        .login(Identifier::LoginId("parkh".into()), "hunter2", &meta())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_dry_run_decides_the_same_and_stores_nothing() {
    let w = in_memory_auth(open_policy());
    let mut run = ImportRun::new(ImportOptions {
        dry_run: true,
        ..ImportOptions::default()
    });
    w.service
        .import()
        .import_batch(
            &mut run,
            vec![(1, record("parkh", "old$pw")), (2, record("parkh", "old$pw"))],
        )
        .await
        .unwrap();
    assert_eq!((run.report().imported, run.report().rejected), (1, 1));
    assert!(run.report().dry_run);
    assert!(w.users.all().is_empty());
}

/// Issue 26.5: an `accountId` at the top of the range would leave the id
/// sequence no room (every later sign-up failed): ids above 2^53 - 1 are
/// refused with the range; the largest allowed one is kept.
#[tokio::test]
async fn account_ids_stay_within_the_documented_range() {
    let w = in_memory_auth(open_policy());
    let mut top = record("topid", "old$pw");
    top.account_id = Some(i64::MAX);
    let mut above = record("aboveid", "old$pw");
    above.account_id = Some(crate::import::MAX_ACCOUNT_ID + 1);
    let mut largest = record("largest", "old$pw");
    largest.account_id = Some(crate::import::MAX_ACCOUNT_ID);
    let mut run = import(&w, vec![top, above, largest]).await;
    let rejects = run.take_rejects();
    assert_eq!(rejects.len(), 2, "{rejects:?}");
    for r in &rejects {
        assert_eq!(
            r.reason, "accountId must be an integer from 1 to 9007199254740991 (2^53 - 1)",
            "{rejects:?}"
        );
    }
    assert_eq!(run.report().imported, 1);
}
