//! The admin role's storage on both databases: granted and revoked
//! idempotently, per account; parallel grants (and revocations) have one
//! winner and no error; a grant to an id that names no account stores
//! nothing; the role goes with its account, disabled or not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::sync::Arc;

use auth_domain::admin::roles::AdminRoleStore;
use auth_domain::identity::password::PasswordHash;
use auth_domain::identity::user::{DisplayName, Email, LoginId, NewUser, UserId};
use auth_domain::ports::UserRepository;
use auth_infra::{Database, DieselAdminRoleStore, DieselUserRepository};
use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;

auth_infra::on_both_backends!(with crate::common::on_migrated:
    the_role_is_granted_and_revoked_idempotently_per_account,
    parallel_grants_and_revocations_have_one_winner,
    a_grant_to_no_account_stores_nothing,
    the_role_goes_with_its_account,
);

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

async fn user(db: &Database, login: &str) -> UserId {
    let users = DieselUserRepository::new(db.clone());
    let new = NewUser {
        uuid: Uuid::new_v4(),
        login_id: Some(LoginId::parse(login).unwrap()),
        email: Email::parse(&format!("{login}@example.com")).unwrap(),
        name: DisplayName::parse("Kim").unwrap(),
        profile_image: None,
        password_hash: Some(PasswordHash::from_phc(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        )),
        created_at: Utc::now(),
    };
    users.insert(new).await.unwrap().id
}

async fn the_role_is_granted_and_revoked_idempotently_per_account(db: Database) {
    let store = DieselAdminRoleStore::new(db.clone());
    let (u, other) = (user(&db, "roleone").await, user(&db, "roletwo").await);
    assert!(!store.is_admin(u).await.unwrap());
    assert!(
        !store.set_admin(u, false, now()).await.unwrap(),
        "nothing to revoke"
    );
    assert!(store.set_admin(u, true, now()).await.unwrap());
    assert!(store.is_admin(u).await.unwrap());
    assert!(!store.is_admin(other).await.unwrap(), "another account");
    assert!(!store.set_admin(u, true, now()).await.unwrap(), "held already");
    assert_eq!(db.count_rows("user_roles").await.unwrap(), 1);
    assert_eq!(
        db.raw_strings("SELECT role AS value FROM user_roles")
            .await
            .unwrap(),
        vec!["admin".to_owned()]
    );
    assert!(store.set_admin(other, true, now()).await.unwrap());
    assert!(store.set_admin(u, false, now()).await.unwrap());
    assert!(!store.is_admin(u).await.unwrap());
    assert!(store.is_admin(other).await.unwrap(), "only that account's");
    assert!(!store.set_admin(u, false, now()).await.unwrap());
}

async fn parallel_grants_and_revocations_have_one_winner(db: Database) {
    let store = Arc::new(DieselAdminRoleStore::new(db.clone()));
    let u = user(&db, "rolerace").await;
    for admin in [true, false] {
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { store.set_admin(u, admin, now()).await })
            })
            .collect();
        let mut wins = 0;
        for t in tasks {
            // No unique violation, no error: every caller gets an answer.
            if t.await.unwrap().unwrap() {
                wins += 1;
            }
        }
        assert_eq!(wins, 1, "admin={admin}");
        assert_eq!(store.is_admin(u).await.unwrap(), admin);
    }
}

async fn a_grant_to_no_account_stores_nothing(db: Database) {
    let store = DieselAdminRoleStore::new(db.clone());
    let ghost = UserId::new(987_654_321);
    assert!(!store.set_admin(ghost, true, now()).await.unwrap());
    assert!(!store.is_admin(ghost).await.unwrap());
    assert_eq!(db.count_rows("user_roles").await.unwrap(), 0);
}

async fn the_role_goes_with_its_account(db: Database) {
    let store = DieselAdminRoleStore::new(db.clone());
    let users = DieselUserRepository::new(db.clone());
    let (u, kept) = (user(&db, "rolegone").await, user(&db, "rolekept").await);
    assert!(store.set_admin(u, true, now()).await.unwrap());
    assert!(store.set_admin(kept, true, now()).await.unwrap());
    // A disabled account keeps the role (the console checks disabled itself).
    users.set_disabled(kept, Some(now())).await.unwrap();
    assert!(store.is_admin(kept).await.unwrap());
    assert!(users.delete_enabled(u).await.unwrap());
    assert!(!store.is_admin(u).await.unwrap());
    assert_eq!(db.count_rows("user_roles").await.unwrap(), 1);
}
