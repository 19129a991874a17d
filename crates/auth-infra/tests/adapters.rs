//! Storage adapters against real databases: every scenario runs on SQLite
//! and on PostgreSQL (`<scenario>::sqlite`, `<scenario>::postgres`).
//! PostgreSQL must be reachable (`AUTH_TEST_POSTGRES_URL`); tests fail, never
//! skip, when it is not.

// Helpers outside #[test] functions are not "in tests" for clippy.toml's
// allow-*-in-tests, so an integration-test file still allows them itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[macro_use]
mod common;
mod import;
use common::open;

use std::sync::Arc;

use auth_domain::identity::password::PasswordHash;
use auth_domain::identity::user::{DisplayName, Email, LoginId, NewUser, UniqueField, User, UserId};
use auth_domain::ports::{InsertUserError, SessionStore, UserRepository};
use auth_domain::sessions::session::{
    RefreshRecord, RefreshTokenHash, RevokeReason, RotateOutcome, Session, SessionId,
};
use auth_infra::testdb::TestDatabase;
use auth_infra::{
    Backend, Database, DieselSessionStore, DieselUserRepository, load_or_create_signing_secret,
};
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use uuid::Uuid;

/// A time with sub-second precision, as stored (microseconds).
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn new_user(login: Option<&str>, email: &str) -> NewUser {
    NewUser {
        uuid: Uuid::new_v4(),
        login_id: login.map(|l| LoginId::parse(l).unwrap()),
        email: Email::parse(email).unwrap(),
        name: DisplayName::parse("홍길동").unwrap(),
        profile_image: Some("https://example.com/a.png".into()),
        password_hash: Some(PasswordHash::from_phc(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        )),
        created_at: now(),
    }
}

/// The user and session stores over one test database.
struct UserAndSessionStores {
    users: DieselUserRepository,
    sessions: DieselSessionStore,
}

impl UserAndSessionStores {
    fn new(db: Database) -> Self {
        Self {
            users: DieselUserRepository::new(db.clone()),
            sessions: DieselSessionStore::new(db),
        }
    }

    async fn user(&self, login: &str) -> User {
        self.users
            .insert(new_user(Some(login), &format!("{login}@example.com")))
            .await
            .unwrap()
    }

    /// A live session for `user` with one unspent refresh token.
    async fn session(&self, user: &User) -> (Session, RefreshRecord) {
        let t = now();
        let session = Session {
            id: SessionId::from_uuid(Uuid::new_v4()),
            user_id: user.id,
            client: "standard".into(),
            created_at: t,
            revoked_at: None,
            revoke_reason: None,
            ip: None,
            user_agent: None,
            last_refreshed_at: None,
            amr: Vec::new(),
        };
        let first = refresh_for(&session, t);
        self.sessions.create(&session, &first).await.unwrap();
        (session, first)
    }
}

fn refresh_for(session: &Session, t: DateTime<Utc>) -> RefreshRecord {
    RefreshRecord {
        hash: RefreshTokenHash::of_jti(&Uuid::new_v4().to_string()),
        session_id: session.id,
        issued_at: t,
        expires_at: t + TimeDelta::days(14),
        spent_at: None,
    }
}

mod scenarios {
    auth_infra::on_both_backends!(with crate::common::on_migrated:
        insert_and_find,
        duplicate_login_id,
        duplicate_email,
        concurrent_same_email,
        rotate_then_reuse,
        concurrent_rotations,
        rotate_after_revoke,
        rotate_unknown,
        add_refresh_live_and_revoked,
        revoke_twice,
        revoke_all_returns_live_ids,
        delete_cascades,
        set_password,
        signing_secret_is_stable,
        ping_and_migrate_twice,
        live_sessions_oldest_first,
        refresh_expiry_is_the_latest_unspent,
        racing_code_sends_store_one,
        code_tries_are_reserved_atomically,
        sign_up_verification_is_bound_and_spent_once,
        decoys_leave_codes_alone_and_are_purged,
    );

    auth_infra::on_both_backends!(with crate::common::on_migrated:
        social_link_and_find,
        social_concurrent_links_pick_one_user,
        social_links_go_with_the_user,
        oauth_state_is_taken_once,
        oauth_state_is_bound_to_its_provider,
        oauth_state_put_purges_expired,
    );

    auth_infra::on_both_backends!(with crate::common::on_migrated:
        throttle_counts_and_locks,
        throttle_concurrent_failures_all_count,
        throttle_parallel_burst_is_granted_exactly_the_limit,
        audit_records_and_reads_newest_first,
        purge_deletes_only_what_expired,
    );

    auth_infra::on_both_backends!(with crate::common::on_migrated:
        import_keeps_ids_and_links_and_new_users_continue_above,
        import_rerun_is_idempotent_and_conflicts_change_nothing,
        import_dry_run_stores_nothing,
        import_racing_keys_fall_back_to_one_transaction_per_account,
        upgrade_replaces_only_the_hash_it_verified,
        import_keeps_an_unverified_address_until_a_reset,
        sign_ups_continue_after_the_largest_importable_id,
    );

    auth_infra::on_both_backends!(with crate::common::on_migrated:
        search_matches_login_email_name_literally_page_by_page,
        search_through_the_index_follows_every_write,
        search_index_covers_accounts_stored_before_it,
        search_pages_in_id_order_however_many_match,
        disable_is_conditional_and_enable_clears,
        active_sessions_and_touch,
    );

    pub use super::admin::*;
    pub use super::audit::*;
    pub use super::housekeeping::*;
    pub use super::import::*;
    pub use super::social::*;
    pub use super::throttle::*;
    use super::*;

    pub async fn insert_and_find(db: Database) {
        let c = UserAndSessionStores::new(db);
        let new = new_user(Some("ParkH1"), "Park@Example.com");
        let created = c.users.insert(new.clone()).await.unwrap();
        assert!(created.id.get() > 0);
        assert_eq!(created.uuid, new.uuid);
        assert_eq!(created.login_id.as_ref().map(LoginId::as_str), Some("parkh1"));
        assert_eq!(created.email.as_str(), "park@example.com");
        assert_eq!(created.name, "홍길동");
        assert_eq!(
            created.profile_image.as_deref(),
            Some("https://example.com/a.png")
        );
        assert_eq!(created.password_hash, new.password_hash);
        assert_eq!(created.created_at, new.created_at);

        for found in [
            c.users.by_id(created.id).await.unwrap(),
            c.users.by_uuid(new.uuid).await.unwrap(),
            c.users
                .by_login_id(&LoginId::parse("parkh1").unwrap())
                .await
                .unwrap(),
            c.users
                .by_email(&Email::parse("PARK@example.com").unwrap())
                .await
                .unwrap(),
        ] {
            let found = found.expect("user found");
            assert_eq!(found.id, created.id);
            assert_eq!(found.uuid, created.uuid);
            assert_eq!(found.created_at, created.created_at);
            assert_eq!(found.password_hash, created.password_hash);
        }

        assert!(
            c.users
                .by_id(auth_domain::identity::user::UserId::new(9_999))
                .await
                .unwrap()
                .is_none()
        );
        assert!(c.users.by_uuid(Uuid::new_v4()).await.unwrap().is_none());
        assert!(
            c.users
                .by_login_id(&LoginId::parse("nobody").unwrap())
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            c.users
                .by_email(&Email::parse("no@example.com").unwrap())
                .await
                .unwrap()
                .is_none()
        );

        // Social-only user: no login id, no password; ids increase.
        let mut social = new_user(None, "social@example.com");
        social.password_hash = None;
        social.profile_image = None;
        let s = c.users.insert(social).await.unwrap();
        assert!(s.id > created.id);
        assert!(s.login_id.is_none() && s.password_hash.is_none() && s.profile_image.is_none());
        // Several users without a login id are fine (NULLs are distinct).
        c.users
            .insert(new_user(None, "social2@example.com"))
            .await
            .unwrap();
    }

    pub async fn duplicate_login_id(db: Database) {
        let c = UserAndSessionStores::new(db);
        c.users
            .insert(new_user(Some("alice"), "a1@example.com"))
            .await
            .unwrap();
        let err = c
            .users
            .insert(new_user(Some("ALICE"), "a2@example.com"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, InsertUserError::Duplicate(UniqueField::LoginId)),
            "{err:?}"
        );
    }

    pub async fn duplicate_email(db: Database) {
        let c = UserAndSessionStores::new(db);
        c.users
            .insert(new_user(Some("bob1"), "bob@example.com"))
            .await
            .unwrap();
        let err = c
            .users
            .insert(new_user(Some("bob2"), "BOB@example.com"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, InsertUserError::Duplicate(UniqueField::Email)),
            "{err:?}"
        );
        // Both taken: either answer names a real collision.
        let err = c
            .users
            .insert(new_user(Some("bob1"), "bob@example.com"))
            .await
            .unwrap_err();
        assert!(matches!(err, InsertUserError::Duplicate(_)), "{err:?}");
    }

    pub async fn concurrent_same_email(db: Database) {
        let users = Arc::new(DieselUserRepository::new(db));
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let users = Arc::clone(&users);
                tokio::spawn(async move {
                    users
                        .insert(new_user(Some(&format!("racer{i}")), "race@example.com"))
                        .await
                })
            })
            .collect();
        let (mut ok, mut dup) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(InsertUserError::Duplicate(UniqueField::Email)) => dup += 1,
                Err(e) => panic!("unexpected error: {e:?}"),
            }
        }
        assert_eq!((ok, dup), (1, 19));
    }

    pub async fn rotate_then_reuse(db: Database) {
        let c = UserAndSessionStores::new(db);
        let u = c.user("rot1").await;
        let (s, first) = c.session(&u).await;
        assert_eq!(c.sessions.get(s.id).await.unwrap(), Some(s.clone()));
        assert_eq!(
            c.sessions.refresh_record(&first.hash).await.unwrap(),
            Some(first.clone())
        );

        let t1 = now();
        let next = refresh_for(&s, t1);
        assert_eq!(
            c.sessions.rotate(&first.hash, &next, t1).await.unwrap(),
            RotateOutcome::Rotated
        );
        let spent = c.sessions.refresh_record(&first.hash).await.unwrap().unwrap();
        assert_eq!(spent.spent_at, Some(t1));
        // The rotation recorded the session's last refresh in its commit.
        assert_eq!(
            c.sessions.get(s.id).await.unwrap().unwrap().last_refreshed_at,
            Some(t1)
        );
        assert_eq!(
            c.sessions.refresh_record(&next.hash).await.unwrap(),
            Some(next.clone())
        );

        let t2 = t1 + TimeDelta::seconds(5);
        let other = refresh_for(&s, t2);
        assert_eq!(
            c.sessions.rotate(&first.hash, &other, t2).await.unwrap(),
            RotateOutcome::AlreadySpent(t1)
        );
        assert!(c.sessions.refresh_record(&other.hash).await.unwrap().is_none());
        // A refused rotation records nothing.
        assert_eq!(
            c.sessions.get(s.id).await.unwrap().unwrap().last_refreshed_at,
            Some(t1)
        );
        // The newest token still rotates.
        assert_eq!(
            c.sessions.rotate(&next.hash, &other, t2).await.unwrap(),
            RotateOutcome::Rotated
        );
    }

    pub async fn concurrent_rotations(db: Database) {
        let c = UserAndSessionStores::new(db.clone());
        let u = c.user("rot2").await;
        let (s, first) = c.session(&u).await;
        let store = Arc::new(DieselSessionStore::new(db));
        let t = now();
        let nexts: Vec<RefreshRecord> = (0..30).map(|_| refresh_for(&s, t)).collect();
        let tasks: Vec<_> = nexts
            .iter()
            .cloned()
            .map(|next| {
                let store = Arc::clone(&store);
                let spent = first.hash.clone();
                tokio::spawn(async move { store.rotate(&spent, &next, t).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap().unwrap());
        }
        let rotated = outcomes.iter().filter(|o| **o == RotateOutcome::Rotated).count();
        assert_eq!(rotated, 1, "{outcomes:?}");
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, RotateOutcome::Rotated | RotateOutcome::AlreadySpent(_))),
            "{outcomes:?}"
        );
        // Exactly one of the candidates was stored.
        let mut stored = 0;
        for next in &nexts {
            if c.sessions.refresh_record(&next.hash).await.unwrap().is_some() {
                stored += 1;
            }
        }
        assert_eq!(stored, 1);
    }

    pub async fn rotate_after_revoke(db: Database) {
        let c = UserAndSessionStores::new(db);
        let u = c.user("rot3").await;
        let (s, first) = c.session(&u).await;
        assert!(
            c.sessions
                .revoke(s.id, RevokeReason::Logout, now())
                .await
                .unwrap()
        );
        let next = refresh_for(&s, now());
        assert_eq!(
            c.sessions.rotate(&first.hash, &next, now()).await.unwrap(),
            RotateOutcome::SessionRevoked
        );
        assert!(c.sessions.refresh_record(&next.hash).await.unwrap().is_none());
        let unspent = c.sessions.refresh_record(&first.hash).await.unwrap().unwrap();
        assert_eq!(unspent.spent_at, None);
    }

    pub async fn rotate_unknown(db: Database) {
        let c = UserAndSessionStores::new(db);
        let u = c.user("rot4").await;
        let (s, _) = c.session(&u).await;
        let next = refresh_for(&s, now());
        let unknown = RefreshTokenHash::of_jti("never issued");
        assert_eq!(
            c.sessions.rotate(&unknown, &next, now()).await.unwrap(),
            RotateOutcome::Unknown
        );
        assert!(c.sessions.refresh_record(&next.hash).await.unwrap().is_none());
        assert!(
            c.sessions
                .get(SessionId::from_uuid(Uuid::new_v4()))
                .await
                .unwrap()
                .is_none()
        );
    }

    pub async fn add_refresh_live_and_revoked(db: Database) {
        let c = UserAndSessionStores::new(db);
        let u = c.user("add1").await;
        let (s, _) = c.session(&u).await;
        let extra = refresh_for(&s, now());
        assert!(c.sessions.add_refresh(&extra).await.unwrap());
        assert_eq!(c.sessions.refresh_record(&extra.hash).await.unwrap(), Some(extra));

        assert!(
            c.sessions
                .revoke(s.id, RevokeReason::RefreshReuse, now())
                .await
                .unwrap()
        );
        let late = refresh_for(&s, now());
        assert!(!c.sessions.add_refresh(&late).await.unwrap());
        assert!(c.sessions.refresh_record(&late.hash).await.unwrap().is_none());

        // A session that never existed.
        let ghost = Session {
            id: SessionId::from_uuid(Uuid::new_v4()),
            ..s
        };
        let orphan = refresh_for(&ghost, now());
        assert!(!c.sessions.add_refresh(&orphan).await.unwrap());
        assert!(c.sessions.refresh_record(&orphan.hash).await.unwrap().is_none());
    }

    pub async fn revoke_twice(db: Database) {
        let c = UserAndSessionStores::new(db);
        let u = c.user("rev1").await;
        let (s, _) = c.session(&u).await;
        let t = now();
        assert!(c.sessions.revoke(s.id, RevokeReason::Logout, t).await.unwrap());
        assert!(
            !c.sessions
                .revoke(s.id, RevokeReason::Withdrawal, t + TimeDelta::seconds(1))
                .await
                .unwrap()
        );
        let got = c.sessions.get(s.id).await.unwrap().unwrap();
        assert_eq!(got.revoked_at, Some(t));
        assert_eq!(got.revoke_reason, Some(RevokeReason::Logout));
        assert!(!got.is_live());
        assert!(
            !c.sessions
                .revoke(SessionId::from_uuid(Uuid::new_v4()), RevokeReason::Logout, t)
                .await
                .unwrap()
        );
    }

    pub async fn revoke_all_returns_live_ids(db: Database) {
        let c = UserAndSessionStores::new(db);
        let u = c.user("rev2").await;
        let other = c.user("rev3").await;
        let (a, _) = c.session(&u).await;
        let (b, _) = c.session(&u).await;
        let (dead, _) = c.session(&u).await;
        let (theirs, _) = c.session(&other).await;
        assert!(
            c.sessions
                .revoke(dead.id, RevokeReason::Logout, now())
                .await
                .unwrap()
        );

        let t = now() + TimeDelta::seconds(1);
        let mut ids = c
            .sessions
            .revoke_all(u.id, RevokeReason::PasswordReset, t)
            .await
            .unwrap();
        ids.sort();
        let mut expected = vec![a.id, b.id];
        expected.sort();
        assert_eq!(ids, expected);

        for id in [a.id, b.id] {
            let s = c.sessions.get(id).await.unwrap().unwrap();
            assert_eq!(
                (s.revoked_at, s.revoke_reason),
                (Some(t), Some(RevokeReason::PasswordReset))
            );
        }
        let d = c.sessions.get(dead.id).await.unwrap().unwrap();
        assert_eq!(d.revoke_reason, Some(RevokeReason::Logout));
        assert!(c.sessions.get(theirs.id).await.unwrap().unwrap().is_live());

        assert!(
            c.sessions
                .revoke_all(u.id, RevokeReason::Logout, t)
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub async fn delete_cascades(db: Database) {
        let c = UserAndSessionStores::new(db);
        let u = c.user("del1").await;
        let keep = c.user("del2").await;
        let (s, first) = c.session(&u).await;
        let (ks, kfirst) = c.session(&keep).await;
        // A disabled account is not deleted (issue 26: it could free its
        // login id and email by withdrawing), and keeps its sessions' rows.
        let t = chrono::Utc::now();
        c.users.set_disabled(u.id, Some(t)).await.unwrap().unwrap();
        assert!(!c.users.delete_enabled(u.id).await.unwrap());
        assert!(c.users.by_id(u.id).await.unwrap().is_some());
        c.users.set_disabled(u.id, None).await.unwrap().unwrap();
        assert!(c.users.delete_enabled(u.id).await.unwrap());
        assert!(!c.users.delete_enabled(u.id).await.unwrap());
        assert!(c.users.by_id(u.id).await.unwrap().is_none());
        assert!(c.sessions.get(s.id).await.unwrap().is_none());
        assert!(c.sessions.refresh_record(&first.hash).await.unwrap().is_none());
        assert!(c.sessions.get(ks.id).await.unwrap().is_some());
        assert!(c.sessions.refresh_record(&kfirst.hash).await.unwrap().is_some());
        // The email is free again.
        c.users
            .insert(new_user(Some("del1"), "del1@example.com"))
            .await
            .unwrap();
    }

    pub async fn set_password(db: Database) {
        let c = UserAndSessionStores::new(db);
        let u = c.user("pw1").await;
        let new_hash = PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3aGFzaA".into());
        assert!(c.users.set_password(u.id, &new_hash).await.unwrap());
        let got = c.users.by_id(u.id).await.unwrap().unwrap();
        assert_eq!(got.password_hash, Some(new_hash.clone()));
        assert_ne!(got.password_hash, u.password_hash);
        assert!(
            !c.users
                .set_password(auth_domain::identity::user::UserId::new(424_242), &new_hash)
                .await
                .unwrap()
        );
    }

    pub async fn signing_secret_is_stable(db: Database) {
        let (first, created) = load_or_create_signing_secret(&db).await.unwrap();
        assert!(created);
        assert_eq!(first.len(), 64);
        let (second, created) = load_or_create_signing_secret(&db).await.unwrap();
        assert!(!created);
        assert_eq!(first, second);
    }

    pub async fn ping_and_migrate_twice(db: Database) {
        db.ping().await.unwrap();
        db.migrate().await.unwrap();
        db.migrate().await.unwrap();
        db.ping().await.unwrap();
        // The schema still works after the repeated migration.
        let c = UserAndSessionStores::new(db);
        c.user("mig1").await;
    }

    pub async fn live_sessions_oldest_first(db: Database) {
        let c = UserAndSessionStores::new(db);
        let u = c.user("live1");
        let u = u.await;
        let other = c.user("live2").await;
        let (a, _) = c.session(&u).await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let (b, _) = c.session(&u).await;
        let (gone, _) = c.session(&u).await;
        c.session(&other).await;
        assert!(
            c.sessions
                .revoke(gone.id, RevokeReason::Logout, now())
                .await
                .unwrap()
        );
        let live: Vec<SessionId> = c
            .sessions
            .live_sessions(u.id)
            .await
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(live, vec![a.id, b.id]);
    }

    pub async fn refresh_expiry_is_the_latest_unspent(db: Database) {
        let c = UserAndSessionStores::new(db);
        let u = c.user("exp1").await;
        let (s, first) = c.session(&u).await;
        assert_eq!(
            c.sessions.refresh_expiry(s.id).await.unwrap(),
            Some(first.expires_at)
        );
        // Rotation spends the first token; the horizon is the next one's expiry.
        let mut next = refresh_for(&s, now() + TimeDelta::seconds(1));
        next.expires_at = first.expires_at + TimeDelta::days(3);
        c.sessions.rotate(&first.hash, &next, now()).await.unwrap();
        assert_eq!(
            c.sessions.refresh_expiry(s.id).await.unwrap(),
            Some(next.expires_at)
        );
        let unknown = SessionId::from_uuid(Uuid::new_v4());
        assert_eq!(c.sessions.refresh_expiry(unknown).await.unwrap(), None);
    }

    pub async fn racing_code_sends_store_one(db: Database) {
        use auth_domain::ports::CodeStore;
        use auth_domain::verification::{CodePurpose, PlainCode, PutOutcome, StoredCode};
        let store = Arc::new(auth_infra::DieselCodeStore::new(db));
        let email = Email::parse("race@example.com").unwrap();
        let t = now();
        let tasks: Vec<_> = (0..10u8)
            .map(|i| {
                let store = store.clone();
                let email = email.clone();
                tokio::spawn(async move {
                    let code = PlainCode::from_random([i, i, i]);
                    let stored = StoredCode {
                        hash: code.hash(&email, CodePurpose::SignUp),
                        email,
                        purpose: CodePurpose::SignUp,
                        user_id: None,
                        login_id: None,
                        sent_at: t,
                        expires_at: t + TimeDelta::minutes(10),
                        attempts: 0,
                        verified_at: None,
                        consumed_at: None,
                    };
                    (
                        store.put(&stored, TimeDelta::seconds(60)).await.unwrap(),
                        stored.hash,
                    )
                })
            })
            .collect();
        let mut stored = Vec::new();
        for task in tasks {
            let (outcome, hash) = task.await.unwrap();
            match outcome {
                PutOutcome::Stored => stored.push(hash),
                PutOutcome::Cooldown(until) => assert_eq!(until, t + TimeDelta::seconds(60)),
            }
        }
        assert_eq!(stored.len(), 1, "exactly one racing send stores its code");
        assert_eq!(store.get(&email).await.unwrap().unwrap().hash, stored[0]);
        // After the cooldown a send replaces the code and resets its tries.
        assert!(store.reserve_attempt(&email, &stored[0], t, 5).await.unwrap());
        let later = t + TimeDelta::seconds(60);
        let code = PlainCode::from_random([9, 9, 9]);
        let replacement = StoredCode {
            hash: code.hash(&email, CodePurpose::ForgetPassword),
            email: email.clone(),
            purpose: CodePurpose::ForgetPassword,
            user_id: None,
            login_id: None,
            sent_at: later,
            expires_at: later + TimeDelta::minutes(10),
            attempts: 0,
            verified_at: None,
            consumed_at: None,
        };
        assert_eq!(
            store.put(&replacement, TimeDelta::seconds(60)).await.unwrap(),
            PutOutcome::Stored
        );
        assert_eq!(store.get(&email).await.unwrap(), Some(replacement.clone()));
        // Consumption is single use and bound to the current hash.
        assert!(!store.consume(&email, &stored[0], later, 5).await.unwrap());
        assert!(store.consume(&email, &replacement.hash, later, 5).await.unwrap());
        assert!(!store.consume(&email, &replacement.hash, later, 5).await.unwrap());
    }

    fn sign_up_code(email: &Email, t: DateTime<Utc>) -> auth_domain::verification::StoredCode {
        use auth_domain::verification::{CodePurpose, PlainCode, StoredCode};
        StoredCode {
            hash: PlainCode::from_random([1, 2, 3]).hash(email, CodePurpose::SignUp),
            email: email.clone(),
            purpose: CodePurpose::SignUp,
            user_id: None,
            login_id: None,
            sent_at: t,
            expires_at: t + TimeDelta::minutes(10),
            attempts: 0,
            verified_at: None,
            consumed_at: None,
        }
    }

    /// Issue defect 4: tries are reserved before a comparison, in one
    /// conditional write, so `max` + 35 concurrent reservations get exactly
    /// `max` grants; expired or used codes get none.
    pub async fn code_tries_are_reserved_atomically(db: Database) {
        use auth_domain::ports::CodeStore;
        let store = Arc::new(auth_infra::DieselCodeStore::new(db));
        let email = Email::parse("burst@example.com").unwrap();
        let t = now();
        let code = sign_up_code(&email, t);
        store.put(&code, TimeDelta::seconds(60)).await.unwrap();
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let (store, email, hash) = (store.clone(), email.clone(), code.hash.clone());
                tokio::spawn(async move { store.reserve_attempt(&email, &hash, t, 5).await.unwrap() })
            })
            .collect();
        let mut granted = 0;
        for task in tasks {
            granted += usize::from(task.await.unwrap());
        }
        assert_eq!(granted, 5, "max tries, however many race");
        assert_eq!(store.get(&email).await.unwrap().unwrap().attempts, 5);
        assert!(!store.reserve_attempt(&email, &code.hash, t, 5).await.unwrap());
        // A holder of one of the five may still verify, and gives it back.
        assert!(store.mark_verified(&email, &code.hash, t, 5, None).await.unwrap());
        assert_eq!(store.get(&email).await.unwrap().unwrap().attempts, 4);
        // Expired: no try, no verification, no consumption.
        let expired = code.expires_at;
        assert!(
            !store
                .reserve_attempt(&email, &code.hash, expired, 5)
                .await
                .unwrap()
        );
        assert!(
            !store
                .mark_verified(&email, &code.hash, expired, 5, None)
                .await
                .unwrap()
        );
        assert!(!store.consume(&email, &code.hash, expired, 5).await.unwrap());
        // Over the cap (a holder's try included): no verification either.
        assert!(store.reserve_attempt(&email, &code.hash, t, 5).await.unwrap());
        assert!(!store.mark_verified(&email, &code.hash, t, 4, None).await.unwrap());
        // Used: no try.
        assert!(store.consume(&email, &code.hash, t, 5).await.unwrap());
        assert!(!store.reserve_attempt(&email, &code.hash, t, 5).await.unwrap());
    }

    /// Issue defect 3: a `SIGN_UP` verification binds the first login id a
    /// successful check names, and is spent once, by that login id only.
    pub async fn sign_up_verification_is_bound_and_spent_once(db: Database) {
        use auth_domain::ports::CodeStore;
        let store = Arc::new(auth_infra::DieselCodeStore::new(db));
        let email = Email::parse("bind@example.com").unwrap();
        let (owner, other) = (
            LoginId::parse("Owner1").unwrap(),
            LoginId::parse("other1").unwrap(),
        );
        let t = now();
        let code = sign_up_code(&email, t);
        store.put(&code, TimeDelta::seconds(60)).await.unwrap();
        assert!(store.reserve_attempt(&email, &code.hash, t, 5).await.unwrap());
        assert!(
            store
                .mark_verified(&email, &code.hash, t, 5, Some(&owner))
                .await
                .unwrap()
        );
        let stored = store.get(&email).await.unwrap().unwrap();
        assert_eq!(
            (stored.login_id.as_ref(), stored.verified_at, stored.attempts),
            (Some(&owner), Some(t), 0)
        );
        assert!(store.reserve_attempt(&email, &code.hash, t, 5).await.unwrap());
        assert!(
            !store
                .mark_verified(&email, &code.hash, t, 5, Some(&other))
                .await
                .unwrap()
        );
        assert_eq!(
            store.get(&email).await.unwrap().unwrap().login_id,
            Some(owner.clone())
        );
        // Another login id, or a check older than the window, spends nothing.
        let window_start = t - TimeDelta::minutes(10);
        assert!(
            !store
                .consume_sign_up(&email, &code.hash, &other, window_start, t)
                .await
                .unwrap()
        );
        let late = t + TimeDelta::seconds(1);
        assert!(
            !store
                .consume_sign_up(&email, &code.hash, &owner, late, late)
                .await
                .unwrap()
        );
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (store, email, hash, owner) =
                    (store.clone(), email.clone(), code.hash.clone(), owner.clone());
                tokio::spawn(async move {
                    store
                        .consume_sign_up(&email, &hash, &owner, window_start, t)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut spent = 0;
        for task in tasks {
            spent += usize::from(task.await.unwrap());
        }
        assert_eq!(spent, 1, "one check admits one sign-up");
        assert_eq!(store.get(&email).await.unwrap().unwrap().consumed_at, Some(t));
        // A new send replaces the binding with its own.
        let mut next = sign_up_code(&email, t + TimeDelta::minutes(1));
        next.login_id = Some(other.clone());
        store.put(&next, TimeDelta::seconds(60)).await.unwrap();
        assert_eq!(store.get(&email).await.unwrap(), Some(next));
    }

    /// Issue defect 5: decoy cooldowns live apart from the codes, race like
    /// codes do, and go with the codes when the purge finds them useless.
    pub async fn decoys_leave_codes_alone_and_are_purged(db: Database) {
        use auth_domain::ports::CodeStore;
        use auth_domain::verification::{DecoyKey, PutOutcome};
        let store = Arc::new(auth_infra::DieselCodeStore::new(db));
        let email = Email::parse("owner@example.com").unwrap();
        let t = now();
        let code = sign_up_code(&email, t);
        store.put(&code, TimeDelta::seconds(60)).await.unwrap();
        let minute = TimeDelta::seconds(60);
        let later = t + TimeDelta::seconds(61);
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let store = store.clone();
                let key = DecoyKey::of(&email, Some("stranger"));
                tokio::spawn(async move { store.put_decoy(&key, later, minute).await.unwrap() })
            })
            .collect();
        let mut stored = 0;
        for task in tasks {
            match task.await.unwrap() {
                PutOutcome::Stored => stored += 1,
                PutOutcome::Cooldown(until) => assert_eq!(until, later + minute),
            }
        }
        assert_eq!(stored, 1, "exactly one racing decoy starts the cooldown");
        assert_eq!(store.get(&email).await.unwrap(), Some(code.clone()));
        // Another pair has its own cooldown; the pair's ends after a minute.
        let other = DecoyKey::of(&email, Some("someone"));
        assert_eq!(
            store.put_decoy(&other, later, minute).await.unwrap(),
            PutOutcome::Stored
        );
        let stranger = DecoyKey::of(&email, Some("stranger"));
        assert_eq!(
            store.put_decoy(&stranger, later + minute, minute).await.unwrap(),
            PutOutcome::Stored
        );
        // Purge: the first decoy ended, the code is expired but was sent
        // within the horizon.
        let horizon = TimeDelta::minutes(10);
        let at = later + minute + TimeDelta::seconds(1);
        assert_eq!(store.purge_expired(at, horizon).await.unwrap(), 1);
        assert!(store.get(&email).await.unwrap().is_some());
        let at = t + TimeDelta::minutes(20);
        assert_eq!(store.purge_expired(at, horizon).await.unwrap(), 2);
        assert_eq!(store.get(&email).await.unwrap(), None);
        assert_eq!(
            store.put_decoy(&stranger, at, minute).await.unwrap(),
            PutOutcome::Stored
        );
    }
}

/// Racing instances agree on one signing secret.
mod signing_secret_race {
    use super::*;

    async fn race(t: &TestDatabase) {
        let db = open(t).await;
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move { load_or_create_signing_secret(&db).await })
            })
            .collect();
        let mut secrets = Vec::new();
        let mut created = 0;
        for task in tasks {
            let (secret, c) = task.await.unwrap().unwrap();
            created += usize::from(c);
            secrets.push(secret);
        }
        assert_eq!(created, 1);
        assert!(secrets.windows(2).all(|w| w[0] == w[1]));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        race(&TestDatabase::sqlite()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        race(&TestDatabase::postgres()).await;
    }
}

/// Opening databases: URL forms and errors.
mod connect {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn sqlite_parent_directory_is_created() {
        let dir = std::env::temp_dir().join(format!("auth_test_dir_{}", Uuid::new_v4().simple()));
        let url = format!("sqlite://{}/nested/auth.db", dir.display());
        let db = Database::connect(&url, 2).await.unwrap();
        db.migrate().await.unwrap();
        db.ping().await.unwrap();
        assert!(dir.join("nested/auth.db").exists());
        drop(db);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn in_memory_sqlite_is_refused() {
        let err = Database::connect("sqlite::memory:", 2).await.unwrap_err();
        assert!(matches!(err, auth_infra::DbError::InMemorySqlite), "{err}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn unknown_scheme_is_refused() {
        let err = Database::connect("mysql://root:hunter2@localhost/db", 2)
            .await
            .unwrap_err();
        assert!(matches!(err, auth_infra::DbError::UnsupportedUrl(_)), "{err}");
        assert!(!err.to_string().contains("hunter2"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn postgres_error_is_real_and_without_password() {
        // Nothing listens on port 1.
        let err = Database::connect("postgres://app:hunter2@127.0.0.1:1/db", 2)
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, auth_infra::DbError::Connect(_)), "{msg}");
        assert!(
            msg.contains("127.0.0.1") || msg.to_lowercase().contains("connect"),
            "{msg}"
        );
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(!format!("{err:?}").contains("hunter2"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn postgresql_scheme_works() {
        let t = TestDatabase::postgres();
        let url = t.url().replacen("postgres://", "postgresql://", 1);
        let db = Database::connect(&url, 1).await.unwrap();
        assert_eq!(db.backend(), Backend::Postgres);
        db.ping().await.unwrap();
        assert!(!format!("{db:?}").is_empty());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn works_from_a_current_thread_runtime() {
        // actix workers are current-thread runtimes.
        let t = TestDatabase::sqlite();
        let db = open(&t).await;
        let c = UserAndSessionStores::new(db);
        let u = c.user("cur1").await;
        assert!(c.users.by_id(u.id).await.unwrap().is_some());
    }
}

/// Social login stores: identity links and pending flows.
mod social {
    use super::*;
    use auth_domain::social::{
        LoginStateStore, PendingLogin, PkceVerifier, Provider, SocialIdentityStore, StateHash,
    };
    use auth_infra::{DieselLoginStateStore, DieselSocialIdentityStore};

    fn pending(provider: Provider, state: &str, t: DateTime<Utc>, ttl: TimeDelta) -> PendingLogin {
        PendingLogin {
            state: StateHash::of(state),
            provider,
            pkce_verifier: provider
                .supports_pkce()
                .then(|| PkceVerifier::from_random([5; 32])),
            // Browser-bound flows keep their nonce's hash; Kakao's stand for
            // flows handed to an application (unbound).
            browser: (provider != Provider::Kakao).then(|| StateHash::of(&format!("nonce-{state}"))),
            created_at: t,
            expires_at: t + ttl,
        }
    }

    pub async fn social_link_and_find(db: Database) {
        let c = UserAndSessionStores::new(db.clone());
        let ids = DieselSocialIdentityStore::new(db);
        let u = c.user("soc1").await;
        let other = c.user("soc2").await;
        assert_eq!(ids.user_for(Provider::Google, "sub-1").await.unwrap(), None);
        assert_eq!(
            ids.link(Provider::Google, "sub-1", u.id, now()).await.unwrap(),
            u.id
        );
        assert_eq!(ids.user_for(Provider::Google, "sub-1").await.unwrap(), Some(u.id));
        // A pair maps to one user: linking it again to another keeps the first.
        assert_eq!(
            ids.link(Provider::Google, "sub-1", other.id, now())
                .await
                .unwrap(),
            u.id
        );
        assert_eq!(ids.user_for(Provider::Google, "sub-1").await.unwrap(), Some(u.id));
        // The same subject at another provider is another pair; one user may
        // have several pairs.
        assert_eq!(ids.user_for(Provider::Kakao, "sub-1").await.unwrap(), None);
        assert_eq!(
            ids.link(Provider::Kakao, "sub-1", other.id, now()).await.unwrap(),
            other.id
        );
        assert_eq!(ids.link(Provider::Naver, "n-1", u.id, now()).await.unwrap(), u.id);
        assert_eq!(ids.user_for(Provider::Naver, "n-1").await.unwrap(), Some(u.id));
        assert_eq!(ids.link(Provider::Naver, "n-2", u.id, now()).await.unwrap(), u.id);
        // Which providers a user has identities at (each once).
        let mut providers = ids.providers_of(u.id).await.unwrap();
        providers.sort();
        assert_eq!(providers, vec![Provider::Google, Provider::Naver]);
        assert_eq!(ids.providers_of(other.id).await.unwrap(), vec![Provider::Kakao]);
        let lonely = c.user("soc3").await;
        assert!(ids.providers_of(lonely.id).await.unwrap().is_empty());
        // Subjects are exact strings.
        assert_eq!(ids.user_for(Provider::Google, "SUB-1").await.unwrap(), None);
        // Linking to a user that does not exist is an infrastructure error.
        assert!(
            ids.link(
                Provider::Google,
                "ghost",
                auth_domain::identity::user::UserId::new(999_999),
                now()
            )
            .await
            .is_err()
        );
    }

    pub async fn social_concurrent_links_pick_one_user(db: Database) {
        let c = UserAndSessionStores::new(db.clone());
        let ids = Arc::new(DieselSocialIdentityStore::new(db));
        let mut users = vec![];
        for i in 0..6 {
            users.push(c.user(&format!("race{i}")).await.id);
        }
        let mut tasks = vec![];
        for id in users.clone() {
            let ids = ids.clone();
            tasks.push(tokio::spawn(async move {
                ids.link(Provider::Kakao, "4242", id, now()).await.unwrap()
            }));
        }
        let mut winners = std::collections::HashSet::new();
        for t in tasks {
            winners.insert(t.await.unwrap());
        }
        assert_eq!(winners.len(), 1, "every racer sees the same owner: {winners:?}");
        let owner = *winners.iter().next().unwrap();
        assert!(users.contains(&owner));
        assert_eq!(ids.user_for(Provider::Kakao, "4242").await.unwrap(), Some(owner));
    }

    pub async fn social_links_go_with_the_user(db: Database) {
        let c = UserAndSessionStores::new(db.clone());
        let ids = DieselSocialIdentityStore::new(db);
        let u = c.user("socdel").await;
        ids.link(Provider::Naver, "n-del", u.id, now()).await.unwrap();
        assert!(c.users.delete_enabled(u.id).await.unwrap());
        assert_eq!(ids.user_for(Provider::Naver, "n-del").await.unwrap(), None);
        // The pair is free again.
        let v = c.user("socnew").await;
        assert_eq!(
            ids.link(Provider::Naver, "n-del", v.id, now()).await.unwrap(),
            v.id
        );
    }

    pub async fn oauth_state_is_taken_once(db: Database) {
        let states = Arc::new(DieselLoginStateStore::new(db));
        let t = now();
        let p = pending(Provider::Google, "state-1", t, TimeDelta::minutes(10));
        states.put(&p).await.unwrap();
        // Many concurrent callbacks with one state: exactly one gets it.
        let mut tasks = vec![];
        for _ in 0..8 {
            let states = states.clone();
            tasks.push(tokio::spawn(async move {
                states
                    .take(Provider::Google, &StateHash::of("state-1"))
                    .await
                    .unwrap()
            }));
        }
        let mut got = vec![];
        for task in tasks {
            if let Some(found) = task.await.unwrap() {
                got.push(found);
            }
        }
        assert_eq!(got.len(), 1);
        assert_eq!(got[0], p, "round-trips exactly, verifier included");
        assert!(got[0].pkce_verifier.is_some());
        assert_eq!(
            states
                .take(Provider::Google, &StateHash::of("state-1"))
                .await
                .unwrap(),
            None
        );
        // Naver flows store no verifier.
        let n = pending(Provider::Naver, "state-n", t, TimeDelta::minutes(10));
        states.put(&n).await.unwrap();
        let taken = states
            .take(Provider::Naver, &StateHash::of("state-n"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken.pkce_verifier, None);
        assert_eq!(
            states
                .take(Provider::Naver, &StateHash::of("forged"))
                .await
                .unwrap(),
            None
        );
    }

    pub async fn oauth_state_is_bound_to_its_provider(db: Database) {
        let states = DieselLoginStateStore::new(db);
        let p = pending(Provider::Kakao, "state-k", now(), TimeDelta::minutes(10));
        states.put(&p).await.unwrap();
        assert_eq!(
            states
                .take(Provider::Google, &StateHash::of("state-k"))
                .await
                .unwrap(),
            None
        );
        // Not spent by the wrong provider's attempt.
        assert_eq!(
            states
                .take(Provider::Kakao, &StateHash::of("state-k"))
                .await
                .unwrap(),
            Some(p)
        );
    }

    pub async fn oauth_state_put_purges_expired(db: Database) {
        let states = DieselLoginStateStore::new(db);
        let t = now();
        let old = pending(
            Provider::Google,
            "old",
            t - TimeDelta::minutes(20),
            TimeDelta::minutes(10),
        );
        let live = pending(
            Provider::Google,
            "live",
            t - TimeDelta::minutes(5),
            TimeDelta::minutes(10),
        );
        states.put(&old).await.unwrap();
        states.put(&live).await.unwrap();
        // Stored as given; expiry is the use case's to judge.
        let fresh = pending(Provider::Kakao, "fresh", t, TimeDelta::minutes(10));
        states.put(&fresh).await.unwrap();
        assert_eq!(
            states
                .take(Provider::Google, &StateHash::of("old"))
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            states
                .take(Provider::Google, &StateHash::of("live"))
                .await
                .unwrap(),
            Some(live)
        );
        assert_eq!(
            states
                .take(Provider::Kakao, &StateHash::of("fresh"))
                .await
                .unwrap(),
            Some(fresh)
        );
    }
}

mod throttle {
    use auth_domain::identity::throttle::{Reservation, ThrottlePolicy, ThrottleRule, ThrottleState};
    use auth_domain::ports::LoginThrottle;
    use auth_infra::DieselLoginThrottle;

    use super::*;

    fn rule() -> ThrottleRule {
        ThrottlePolicy::default().account
    }

    fn granted(r: Reservation) -> Vec<ThrottleState> {
        match r {
            Reservation::Granted(states) => states,
            Reservation::Refused(until) => panic!("refused until {until}"),
        }
    }

    pub async fn throttle_counts_and_locks(db: Database) {
        let t = DieselLoginThrottle::new(db);
        let t0 = now();
        let keys = vec![
            ("acct:login:parkh".to_owned(), rule()),
            ("ip:10.0.0.1".to_owned(), ThrottlePolicy::default().ip),
        ];
        for i in 1..=4 {
            let s = granted(t.reserve(&keys, t0).await.unwrap());
            assert_eq!((s[0].failures, s[1].failures), (i, i), "in the order given");
            assert_eq!(s[0].locked_until, None);
        }
        // The fifth reservation is granted and locks the account key.
        let s = granted(t.reserve(&keys, t0).await.unwrap());
        assert_eq!(s[0].locked_until, Some(t0 + TimeDelta::minutes(1)));
        assert_eq!(
            t.reserve(&keys, t0).await.unwrap(),
            Reservation::Refused(t0 + TimeDelta::minutes(1))
        );
        // A refusal counted nothing: the IP alone still has attempts.
        let ip_only = vec![keys[1].clone()];
        assert_eq!(granted(t.reserve(&ip_only, t0).await.unwrap())[0].failures, 6);
        // Other keys are not affected; an expired lock is no lock, and the
        // next attempt in the window locks for twice as long.
        granted(
            t.reserve(&[("acct:login:other".to_owned(), rule())], t0)
                .await
                .unwrap(),
        );
        let t1 = t0 + TimeDelta::seconds(61);
        let s = granted(t.reserve(&keys[..1], t1).await.unwrap());
        assert_eq!((s[0].failures, s[0].lockouts), (6, 2));
        assert_eq!(s[0].locked_until, Some(t1 + TimeDelta::minutes(2)));
        // Released (a success): the lock this reservation imposed is gone.
        t.release("acct:login:parkh", &rule(), &s[0]).await.unwrap();
        let s = granted(t.reserve(&keys[..1], t1).await.unwrap());
        assert_eq!((s[0].failures, s[0].lockouts), (6, 2));
        t.reset("acct:login:parkh").await.unwrap();
        let s = granted(t.reserve(&keys[..1], t1).await.unwrap());
        assert_eq!(s[0].failures, 1);
        t.reset("acct:login:never-seen").await.unwrap();
        t.release("acct:login:never-seen", &rule(), &s[0]).await.unwrap();
    }

    pub async fn throttle_concurrent_failures_all_count(db: Database) {
        let t = Arc::new(DieselLoginThrottle::new(db));
        let t0 = now();
        let generous = ThrottleRule {
            max_failures: 1000,
            ..rule()
        };
        let tasks: Vec<_> = (0..30)
            .map(|_| {
                let t = Arc::clone(&t);
                tokio::spawn(async move { t.reserve(&[("ip:10.0.0.9".to_owned(), generous)], t0).await })
            })
            .collect();
        let mut seen = Vec::new();
        for task in tasks {
            seen.push(granted(task.await.unwrap().unwrap())[0].failures);
        }
        seen.sort_unstable();
        assert_eq!(seen, (1..=30).collect::<Vec<u32>>(), "every attempt counted once");
    }

    /// The defect this port exists for: a burst of checks at one account
    /// (from many IPs, each with its own key too) gets exactly the limit of
    /// reservations granted, however they interleave.
    pub async fn throttle_parallel_burst_is_granted_exactly_the_limit(db: Database) {
        let t = Arc::new(DieselLoginThrottle::new(db));
        let t0 = now();
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let t = Arc::clone(&t);
                tokio::spawn(async move {
                    let keys = [
                        ("acct:burst".to_owned(), rule()),
                        (format!("ip:10.1.0.{i}"), ThrottlePolicy::default().ip),
                    ];
                    t.reserve(&keys, t0).await
                })
            })
            .collect();
        let mut granted_count = 0;
        for task in tasks {
            if let Reservation::Granted(_) = task.await.unwrap().unwrap() {
                granted_count += 1;
            }
        }
        assert_eq!(granted_count, 5);
    }
}

mod audit {
    use auth_domain::audit::{AuditEvent, AuditKind};
    use auth_domain::identity::user::UserId;
    use auth_domain::ports::AuditLog;
    use auth_infra::DieselAuditLog;

    use super::*;

    pub async fn audit_records_and_reads_newest_first(db: Database) {
        let log = DieselAuditLog::new(db);
        let t0 = now();
        let sid = SessionId::from_uuid(Uuid::new_v4());
        let event = |kind, user: Option<i64>, i: i64| AuditEvent {
            at: t0 + TimeDelta::seconds(i),
            kind,
            user_id: user.map(UserId::new),
            session_id: (kind == AuditKind::LoginSuccess).then_some(sid),
            ip: Some("2001:db8::1".parse().unwrap()),
            user_agent: Some("curl/8\0x".into()),
            target: None,
        };
        log.record(event(AuditKind::LoginFailure, None, 0)).await;
        log.record(event(AuditKind::LoginSuccess, Some(7), 1)).await;
        log.record(event(AuditKind::Logout, Some(7), 2)).await;
        log.record(event(AuditKind::LoginSuccess, Some(8), 3)).await;
        let all = log.recent(None, 10).await.unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].user_id, Some(UserId::new(8)));
        assert_eq!(all[3].kind, AuditKind::LoginFailure);
        let mine = log.recent(Some(UserId::new(7)), 10).await.unwrap();
        assert_eq!(
            mine.iter().map(|e| e.kind).collect::<Vec<_>>(),
            vec![AuditKind::Logout, AuditKind::LoginSuccess]
        );
        assert_eq!(mine[1].session_id, Some(sid));
        assert_eq!(mine[1].at, t0 + TimeDelta::seconds(1));
        assert_eq!(mine[1].ip, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(mine[1].user_agent.as_deref(), Some("curl/8x"));
        assert_eq!(log.recent(None, 1).await.unwrap().len(), 1);
    }
}

mod housekeeping {
    use auth_domain::AuthPolicy;
    use auth_domain::audit::{AuditEvent, AuditKind};
    use auth_domain::housekeeping::{Housekeeping, PurgeReport, RetentionPolicy};
    use auth_domain::identity::throttle::{Reservation, ThrottlePolicy};
    use auth_domain::ports::{AuditLog, CodeStore, LoginThrottle};
    use auth_domain::verification::{CodePurpose, PlainCode, StoredCode};
    use auth_infra::{DieselAuditLog, DieselCodeStore, DieselHousekeeping, DieselLoginThrottle};

    use super::*;

    /// An anonymous failed login recorded at `at`.
    fn failed_login_at(at: DateTime<Utc>) -> AuditEvent {
        AuditEvent {
            at,
            kind: AuditKind::LoginFailure,
            user_id: None,
            session_id: None,
            ip: None,
            user_agent: None,
            target: None,
        }
    }

    /// PostgreSQL: the purge vacuums the tables that churn every time, and
    /// the audit table only once it deleted audit rows, so the database
    /// stops growing even where autovacuum is off (as on this machine's
    /// PostgreSQL) or slow to start.
    #[tokio::test(flavor = "multi_thread")]
    async fn purge_vacuums_what_churns_on_postgres() {
        let t = TestDatabase::postgres();
        let db = Database::connect(t.url(), 2).await.unwrap();
        db.migrate().await.unwrap();
        let vacuums = |table: &'static str| {
            let db = db.clone();
            async move {
                db.raw_strings(&format!(
                    "SELECT vacuum_count::text AS value FROM pg_stat_user_tables WHERE relname = '{table}'"
                ))
                .await
                .unwrap()[0]
                    .parse::<u64>()
                    .unwrap()
            }
        };
        let purge = DieselHousekeeping::new(db.clone());
        let retention = RetentionPolicy::from_policy(&AuthPolicy::default(), Some(TimeDelta::days(30)));
        let at = now();
        purge.purge(&retention.cutoffs(at)).await.unwrap();
        for table in [
            "sessions",
            "refresh_tokens",
            "verification_codes",
            "login_throttle",
        ] {
            assert_eq!(vacuums(table).await, 1, "{table}");
        }
        assert_eq!(vacuums("audit_log").await, 0);
        DieselAuditLog::new(db.clone())
            .record(failed_login_at(at - TimeDelta::days(40)))
            .await;
        let report = purge.purge(&retention.cutoffs(at)).await.unwrap();
        assert_eq!(report.audit_events, 1);
        assert_eq!(vacuums("audit_log").await, 1);
        assert_eq!(vacuums("sessions").await, 2);
    }

    /// A session created at `created` whose one refresh record expires at
    /// `expires`, revoked at `revoked` if given.
    async fn session_at(
        c: &UserAndSessionStores,
        user: &User,
        created: DateTime<Utc>,
        expires: DateTime<Utc>,
        revoked: Option<DateTime<Utc>>,
    ) -> SessionId {
        let session = Session {
            id: SessionId::from_uuid(Uuid::new_v4()),
            user_id: user.id,
            client: "standard".into(),
            created_at: created,
            revoked_at: None,
            revoke_reason: None,
            ip: None,
            user_agent: None,
            last_refreshed_at: None,
            amr: Vec::new(),
        };
        let record = RefreshRecord {
            expires_at: expires,
            ..refresh_for(&session, created)
        };
        c.sessions.create(&session, &record).await.unwrap();
        if let Some(at) = revoked {
            c.sessions
                .revoke(session.id, RevokeReason::Logout, at)
                .await
                .unwrap();
        }
        session.id
    }

    fn code(email: &str, sent: DateTime<Utc>, ttl: TimeDelta) -> StoredCode {
        let email = Email::parse(email).unwrap();
        StoredCode {
            hash: PlainCode::from_random([1, 2, 3]).hash(&email, CodePurpose::SignUp),
            email,
            purpose: CodePurpose::SignUp,
            user_id: None,
            login_id: None,
            sent_at: sent,
            expires_at: sent + ttl,
            attempts: 0,
            verified_at: None,
            consumed_at: None,
        }
    }

    pub async fn purge_deletes_only_what_expired(db: Database) {
        let c = UserAndSessionStores::new(db.clone());
        let t = now();
        let day = TimeDelta::days(1);
        let u = c.user("purge1").await;
        // Sessions: kept — live; revoked an hour ago; refresh expired 10
        // minutes ago (its last access token may still be in use). Purged —
        // revoked 2 days ago; refresh expired an hour ago.
        let live = session_at(&c, &u, t - day, t + day, None).await;
        let revoked_recently = session_at(&c, &u, t - day, t + day, Some(t - TimeDelta::hours(1))).await;
        let just_expired = session_at(&c, &u, t - day * 8, t - TimeDelta::minutes(10), None).await;
        let revoked_long_ago = session_at(&c, &u, t - day * 3, t + day, Some(t - day * 2)).await;
        let expired = session_at(&c, &u, t - day * 8, t - TimeDelta::hours(1), None).await;
        // Codes: kept — live; expired but still in its resend cooldown
        // (a 5-second code). Purged — expired and long sent.
        let codes = DieselCodeStore::new(db.clone());
        let cooldown = TimeDelta::seconds(60);
        for stored in [
            code("live@example.com", t, TimeDelta::minutes(10)),
            code(
                "cooling@example.com",
                t - TimeDelta::seconds(10),
                TimeDelta::seconds(5),
            ),
            code("old@example.com", t - TimeDelta::hours(1), TimeDelta::minutes(10)),
        ] {
            codes.put(&stored, cooldown).await.unwrap();
        }
        // Throttle counters: kept — in the window; locked beyond it. Purged
        // — window over, not locked.
        let throttle = DieselLoginThrottle::new(db.clone());
        let window = ThrottlePolicy::default().account;
        let long_lock = auth_domain::identity::throttle::ThrottleRule {
            max_failures: 1,
            base_lock: day * 2,
            max_lock: day * 2,
            ..window
        };
        for (key, rule, at) in [
            ("acct:recent", window, t - TimeDelta::minutes(5)),
            ("acct:locked", long_lock, t - day),
            ("acct:idle", window, t - day),
        ] {
            assert!(matches!(
                throttle.reserve(&[(key.to_owned(), rule)], at).await.unwrap(),
                Reservation::Granted(_)
            ));
        }
        // Audit: one event inside a 30-day retention, one outside.
        let audit = DieselAuditLog::new(db.clone());
        for at in [t - TimeDelta::days(40), t - TimeDelta::days(2)] {
            audit.record(failed_login_at(at)).await;
        }

        let mut policy = AuthPolicy::default();
        policy.codes.resend_cooldown = cooldown;
        let retention = RetentionPolicy::from_policy(&policy, Some(TimeDelta::days(30)));
        let purge = DieselHousekeeping::new(db.clone());
        let report = purge.purge(&retention.cutoffs(t)).await.unwrap();
        assert_eq!(
            report,
            PurgeReport {
                refresh_records: 2,
                sessions: 2,
                codes: 1,
                oauth_states: 0,
                authorization_codes: 0,
                second_factor_steps: 0,
                throttle_counters: 1,
                request_rates: 0,
                audit_events: 1,
            }
        );
        for kept in [live, revoked_recently, just_expired] {
            assert!(c.sessions.get(kept).await.unwrap().is_some(), "{kept:?} kept");
        }
        for gone in [revoked_long_ago, expired] {
            assert!(c.sessions.get(gone).await.unwrap().is_none(), "{gone:?} purged");
        }
        assert!(
            c.users.by_id(u.id).await.unwrap().is_some(),
            "users are never purged"
        );
        for (email, kept) in [("live", true), ("cooling", true), ("old", false)] {
            let email = Email::parse(&format!("{email}@example.com")).unwrap();
            assert_eq!(codes.get(&email).await.unwrap().is_some(), kept, "{email:?}");
        }
        assert_eq!(audit.recent(None, 10).await.unwrap().len(), 1);
        // The locked counter still refuses; the idle one starts over.
        assert!(matches!(
            throttle
                .reserve(&[("acct:locked".to_owned(), window)], t)
                .await
                .unwrap(),
            Reservation::Refused(_)
        ));
        match throttle
            .reserve(&[("acct:idle".to_owned(), window)], t)
            .await
            .unwrap()
        {
            Reservation::Granted(s) => assert_eq!(s[0].failures, 1),
            Reservation::Refused(until) => panic!("refused until {until}"),
        }
        // A second purge finds nothing more.
        assert_eq!(purge.purge(&retention.cutoffs(t)).await.unwrap().total(), 0);
    }
}

mod admin {
    use super::*;

    pub async fn search_matches_login_email_name_literally_page_by_page(db: Database) {
        let c = UserAndSessionStores::new(db);
        let a = c
            .users
            .insert(new_user(Some("alpha1"), "al_pha@example.com"))
            .await
            .unwrap();
        let b = c.user("beta100").await;
        let d = c.user("gamma2").await;
        let ids = |users: Vec<User>| users.into_iter().map(|u| u.id).collect::<Vec<_>>();
        let all = c.users.search(None, None, 10).await.unwrap();
        assert_eq!(ids(all), vec![a.id, b.id, d.id]);
        // Keyset: after an id, lowest first, bounded.
        let page = c.users.search(None, Some(a.id), 1).await.unwrap();
        assert_eq!(ids(page), vec![b.id]);
        // Login id, any ASCII case; email; name.
        assert_eq!(
            ids(c.users.search(Some("BETA"), None, 10).await.unwrap()),
            vec![b.id]
        );
        assert_eq!(
            ids(c.users.search(Some("gamma2@example"), None, 10).await.unwrap()),
            vec![d.id]
        );
        assert_eq!(c.users.search(Some("홍길"), None, 10).await.unwrap().len(), 3);
        // `_` and `%` are literal: only al_pha@ has an underscore.
        assert_eq!(
            ids(c.users.search(Some("_"), None, 10).await.unwrap()),
            vec![a.id]
        );
        assert!(c.users.search(Some("%"), None, 10).await.unwrap().is_empty());
        assert!(c.users.search(Some("a\\"), None, 10).await.unwrap().is_empty());
    }

    /// Queries of three characters or more go through the trigram index
    /// (SQLite's `users_search`, PostgreSQL's GIN indexes): what it finds
    /// follows inserts, updates and deletes of accounts, pages like the
    /// table, and an FTS5 operator or quote in a query is only text.
    pub async fn search_through_the_index_follows_every_write(db: Database) {
        let c = UserAndSessionStores::new(db.clone());
        let a = c.user("trigram1").await;
        let b = c.user("trigram22").await;
        let ids = |users: Vec<User>| users.into_iter().map(|u| u.id).collect::<Vec<_>>();
        let search = |q: &'static str, after: Option<UserId>, limit: u32| {
            let users = c.users.clone();
            async move { ids(users.search(Some(q), after, limit).await.unwrap()) }
        };
        assert_eq!(search("RAM22@EXAMPLE", None, 10).await, vec![b.id]);
        assert_eq!(search("igram", None, 10).await, vec![a.id, b.id]);
        assert_eq!(search("igram", None, 1).await, vec![a.id]);
        assert_eq!(search("igram", Some(a.id), 1).await, vec![b.id]);
        assert_eq!(search("igram", Some(b.id), 10).await, Vec::<UserId>::new());
        // A name of three non-ASCII characters.
        assert_eq!(search("홍길동", None, 10).await, vec![a.id, b.id]);
        for literal in [
            "tri\"gram",
            "trigram OR x",
            "NEAR(tri gram)",
            "tri*",
            "email:tri",
            "\"\"\"",
            "-igram",
        ] {
            assert_eq!(search(literal, None, 10).await, Vec::<UserId>::new(), "{literal}");
        }
        // An update of a searched column: the old text is gone, the new found.
        db.execute_raw(&format!(
            "UPDATE users SET email = 'renamed@example.org', name = 'Kim' WHERE id = {}",
            b.id.get()
        ))
        .await
        .unwrap();
        assert_eq!(search("ram22@", None, 10).await, Vec::<UserId>::new());
        assert_eq!(search("RENAMED@", None, 10).await, vec![b.id]);
        assert_eq!(search("홍길동", None, 10).await, vec![a.id]);
        // A delete leaves the index.
        assert!(c.users.delete_enabled(a.id).await.unwrap());
        assert_eq!(search("igram", None, 10).await, vec![b.id]);
        assert_eq!(search("홍길동", None, 10).await, Vec::<UserId>::new());
    }

    /// Pages stay in id order and complete whether a query matches a few
    /// accounts or more than PostgreSQL's candidate cap (1,000), where the
    /// adapter switches from the trigram indexes to the id-ordered read.
    pub async fn search_pages_in_id_order_however_many_match(db: Database) {
        let rows: Vec<String> = (1..=1200)
            .map(|x| {
                format!(
                    "('{}', 'many{x}', 'many{x}@example.com', 'Many', '2026-01-01 00:00:00')",
                    Uuid::new_v4()
                )
            })
            .collect();
        db.execute_raw(&format!(
            "INSERT INTO users (uuid, login_id, email, name, created_at) VALUES {}",
            rows.join(", ")
        ))
        .await
        .unwrap();
        let c = UserAndSessionStores::new(db.clone());
        let rare = c.user("rareone").await;
        // The id of `many{x}`.
        let id_of: Vec<i64> = db
            .raw_strings(
                "SELECT CAST(id AS TEXT) AS value FROM users WHERE login_id LIKE 'many%' ORDER BY id",
            )
            .await
            .unwrap()
            .iter()
            .map(|v| v.parse().unwrap())
            .collect();
        let id = |x: usize| UserId::new(id_of[x - 1]);
        let search = |q: &'static str, after: Option<UserId>, limit: u32| {
            let users = c.users.clone();
            async move {
                users
                    .search(Some(q), after, limit)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|u| u.id)
                    .collect::<Vec<_>>()
            }
        };
        // 1,200 matches: the lowest ids, then the next ones, then the end.
        assert_eq!(search("MANY", None, 3).await, vec![id(1), id(2), id(3)]);
        assert_eq!(search("many", Some(id(3)), 2).await, vec![id(4), id(5)]);
        assert_eq!(
            search("@example", Some(id(1199)), 5).await,
            vec![id(1200), rare.id]
        );
        assert_eq!(search("many", Some(id(1200)), 5).await, Vec::<UserId>::new());
        // 111 matches (many11, many110–119, many1100–1199), cut in id order.
        assert_eq!(
            search("many11", None, 5).await,
            vec![id(11), id(110), id(111), id(112), id(113)]
        );
        assert_eq!(
            search("many11", Some(id(113)), 3).await,
            vec![id(114), id(115), id(116)]
        );
        assert_eq!(search("any1199", None, 5).await, vec![id(1199)]);
        assert_eq!(search("areon", None, 5).await, vec![rare.id]);
    }

    /// The migration that adds the index indexes the accounts already
    /// stored (an upgrade of a deployment with users).
    pub async fn search_index_covers_accounts_stored_before_it(db: Database) {
        db.revert_migrations_through("20261129150000").await.unwrap();
        let c = UserAndSessionStores::new(db.clone());
        // Stored with the schema of the time (today's code writes columns
        // added later).
        db.execute_raw(
            "INSERT INTO users (uuid, login_id, email, name, created_at) VALUES \
             ('0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e', 'veteran7', 'veteran7@example.com', '홍길동', '2026-01-01 00:00:00')",
        )
        .await
        .unwrap();
        db.migrate().await.unwrap();
        let old = c
            .users
            .by_login_id(&LoginId::parse("veteran7").unwrap())
            .await
            .unwrap()
            .unwrap();
        let found = c.users.search(Some("TERAN7@exa"), None, 10).await.unwrap();
        assert_eq!(found.into_iter().map(|u| u.id).collect::<Vec<_>>(), vec![old.id]);
        let new = c.user("rookie7").await;
        let found = c.users.search(Some("7@example"), None, 10).await.unwrap();
        assert_eq!(
            found.into_iter().map(|u| u.id).collect::<Vec<_>>(),
            vec![old.id, new.id]
        );
    }

    pub async fn disable_is_conditional_and_enable_clears(db: Database) {
        let c = UserAndSessionStores::new(db);
        let u = c.user("parkh").await;
        assert_eq!(c.users.by_id(u.id).await.unwrap().unwrap().disabled_at, None);
        let t0 = now();
        let first = c.users.set_disabled(u.id, Some(t0)).await.unwrap().unwrap();
        assert_eq!(first.disabled_at, Some(t0));
        // Again later: the first time is kept.
        let again = c
            .users
            .set_disabled(u.id, Some(t0 + TimeDelta::seconds(5)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.disabled_at, Some(t0));
        assert_eq!(
            c.users
                .by_login_id(&LoginId::parse("parkh").unwrap())
                .await
                .unwrap()
                .unwrap()
                .disabled_at,
            Some(t0)
        );
        let enabled = c.users.set_disabled(u.id, None).await.unwrap().unwrap();
        assert_eq!(enabled.disabled_at, None);
        let ghost = auth_domain::identity::user::UserId::new(u.id.get() + 1000);
        assert!(c.users.set_disabled(ghost, Some(t0)).await.unwrap().is_none());
    }

    pub async fn active_sessions_and_touch(db: Database) {
        let c = UserAndSessionStores::new(db);
        let u = c.user("parkh").await;
        let t = now();
        let (live, _) = c.session(&u).await;
        // Its client is stored.
        let with_client = Session {
            id: SessionId::from_uuid(Uuid::new_v4()),
            ip: Some("2001:db8::7".parse().unwrap()),
            user_agent: Some("curl/8".into()),
            created_at: t + TimeDelta::seconds(1),
            ..live.clone()
        };
        c.sessions
            .create(&with_client, &refresh_for(&with_client, t))
            .await
            .unwrap();
        // Revoked, and expired (its only refresh token expired): not active.
        let (revoked, _) = c.session(&u).await;
        c.sessions
            .revoke(revoked.id, RevokeReason::Admin, t)
            .await
            .unwrap();
        let expired = Session {
            id: SessionId::from_uuid(Uuid::new_v4()),
            ..live.clone()
        };
        let old = RefreshRecord {
            expires_at: t - TimeDelta::seconds(1),
            ..refresh_for(&expired, t - TimeDelta::days(20))
        };
        c.sessions.create(&expired, &old).await.unwrap();
        let active = c.sessions.active_sessions(u.id, t).await.unwrap();
        assert_eq!(
            active.iter().map(|s| s.id).collect::<Vec<_>>(),
            vec![live.id, with_client.id]
        );
        assert_eq!(active[1].ip, with_client.ip);
        assert_eq!(active[1].user_agent.as_deref(), Some("curl/8"));
        assert_eq!(active[0].last_refreshed_at, None);
        c.sessions
            .touch(live.id, t + TimeDelta::seconds(9))
            .await
            .unwrap();
        let got = c.sessions.get(live.id).await.unwrap().unwrap();
        assert_eq!(got.last_refreshed_at, Some(t + TimeDelta::seconds(9)));
        assert_eq!(
            c.sessions.get(revoked.id).await.unwrap().unwrap().revoke_reason,
            Some(RevokeReason::Admin)
        );
    }
}
