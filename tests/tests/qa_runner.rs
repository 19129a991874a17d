//! `auth-qa` against a real server (issue 15): one in-process server per
//! backend, started with exactly the staging profile `auth-qa
//! --print-profile` prints, then the QA runner over every scenario, as
//! `auth-qa` runs it (the binary is a thin `main` over `auth_qa::qa::main`).
//! Nothing may fail; what cannot run against one shared deployment must be
//! reported as skipped with its reason, in the summary and in the JUnit
//! file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use auth_contract_tests::{TestBackend, TestDatabase, free_port, on_both_backends, settings_from, start};
use auth_qa::runner::Outcome;

const ADMIN: &str = "qa-admin-token-0123456789abcdef0123";

/// A server on a fresh database of `backend` with the staging profile for
/// `args` (plus `extra`), and the runner's options.
async fn deployment(
    backend: TestBackend,
    args: &[&str],
    extra: &[(&str, &str)],
) -> (TestDatabase, actix_web::dev::ServerHandle, auth_qa::qa::Options) {
    let db = TestDatabase::new(backend);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut argv = vec![
        "auth-qa".to_owned(),
        "--base-url".into(),
        base.clone(),
        "--admin-token".into(),
        ADMIN.into(),
    ];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    let options = <auth_qa::qa::Options as clap::Parser>::try_parse_from(&argv).unwrap();
    let mut env: BTreeMap<String, String> = auth_qa::qa::staging_profile(&options).into_iter().collect();
    // The runner's address as this server sees it.
    env.insert("AUTH_RATE_LIMIT_EXEMPT".into(), "127.0.0.1/32, ::1/128".into());
    env.insert("AUTH_BIND".into(), format!("127.0.0.1:{port}"));
    env.insert("AUTH_DATABASE_URL".into(), db.url().to_owned());
    env.insert("AUTH_DATABASE_POOL_SIZE".into(), "4".into());
    env.insert("AUTH_WORKERS".into(), "2".into());
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    let env: Vec<(String, String)> = env.into_iter().collect();
    let (_, handle, _) = start(settings_from(&env)).await;
    (db, handle, options)
}

/// Every scenario once against one server with the staging profile, mail
/// through the runner's SMTP sink, social login through its fake provider:
/// no failure; skips only with a reason; the JUnit report says the same.
async fn every_scenario_passes_or_says_why_it_was_skipped(backend: TestBackend) {
    let dir = std::env::temp_dir().join(format!("auth-qa-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let junit = dir.join("qa.xml");
    let (smtp, oauth) = (free_port(), free_port());
    let smtp_bind = format!("127.0.0.1:{smtp}");
    let oauth_bind = format!("127.0.0.1:{oauth}");
    let junit_arg = junit.display().to_string();
    let (_db, handle, options) = deployment(
        backend,
        &[
            "--smtp-bind",
            &smtp_bind,
            "--oauth-bind",
            &oauth_bind,
            "--junit",
            &junit_arg,
        ],
        &[],
    )
    .await;
    let results = auth_qa::qa::run(&options).await.unwrap();
    handle.stop(false).await;
    assert_eq!(results.len(), auth_qa::all().len(), "every scenario runs once");
    let failed: Vec<String> = results
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Failed { message, exchanges } => Some(format!(
                "{}: {}",
                r.scenario.id(),
                auth_qa::runner::failure_text(message, exchanges)
            )),
            _ => None,
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
    let skipped: Vec<&str> = results
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Skipped(reason) => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    assert!(skipped.iter().all(|r| r.starts_with("needs ")), "{skipped:?}");
    let passed = results.len() - skipped.len();
    // Most of the suite runs against a deployment: a profile or runner
    // change that skips the bulk of it is a regression, not a pass.
    assert!(
        passed * 3 >= results.len() * 2,
        "only {passed} of {} ran",
        results.len()
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(&format!(
            "tests=\"{}\" failures=\"0\" skipped=\"{}\"",
            results.len(),
            skipped.len()
        )),
        "{}",
        &xml[..xml.len().min(400)]
    );
    assert_eq!(xml.matches("<skipped message=\"needs ").count(), skipped.len());
    assert_eq!(xml.matches("<testcase ").count(), results.len());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Mail read from the deployment's `AUTH_MAIL_DIR` (no SMTP at all), and
/// a social-login scenario without `--oauth-bind`: skipped, saying so.
async fn mail_from_a_folder_and_social_login_skipped_without_the_fake(backend: TestBackend) {
    let dir = std::env::temp_dir().join(format!("auth-qa-mail-{}", uuid::Uuid::new_v4()));
    let mail_dir = dir.display().to_string();
    let (_db, handle, options) = deployment(
        backend,
        &["--mail-dir", &mail_dir, "--filter", "session::"],
        &[("AUTH_MAIL_DIR", &mail_dir)],
    )
    .await;
    let results = auth_qa::qa::run(&options).await.unwrap();
    assert!(!results.is_empty());
    for r in &results {
        assert!(
            matches!(r.outcome, Outcome::Passed),
            "{}: {:?}",
            r.scenario.id(),
            r.outcome
        );
    }
    // The codes went into files the runner read.
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert!(
        files >= results.len(),
        "{files} mails for {} scenarios",
        results.len()
    );

    let mut social = options.clone();
    social.filter = Some("social::google_round_trip".into());
    let results = auth_qa::qa::run(&social).await.unwrap();
    handle.stop(false).await;
    assert!(!results.is_empty());
    for r in &results {
        match &r.outcome {
            Outcome::Skipped(reason) => assert!(reason.contains("--oauth-bind"), "{reason}"),
            other => panic!("{}: {other:?}", r.scenario.id()),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

on_both_backends!(
    every_scenario_passes_or_says_why_it_was_skipped,
    mail_from_a_folder_and_social_login_skipped_without_the_fake,
);
