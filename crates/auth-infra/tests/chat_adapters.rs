//! The `chat` contract's storage adapters against real databases, on SQLite
//! and on PostgreSQL (`<scenario>::sqlite`, `<scenario>::postgres`).

// Helpers outside #[test] functions are not "in tests" for clippy.toml's
// allow-*-in-tests, so an integration-test file still allows them itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[macro_use]
mod common;

use std::sync::Arc;

use auth_domain::chat::{
    App, AppId, AppRepository, AppTokens, ChatProfile, ChatProfiles, ChatUser, UpsertOutcome,
};
use auth_infra::{
    APPS_KEY_NAME, Database, DieselAppRepository, DieselChatProfiles, HmacAppTokens, load_or_create_key,
    load_or_create_signing_secret,
};
use chrono::{SubsecRound, Utc};
use uuid::Uuid;

async fn app(db: &Database, id: &str) -> AppId {
    let repo = DieselAppRepository::new(db.clone());
    let id = AppId::parse(id).unwrap();
    repo.create(&App {
        id: id.clone(),
        name: "Chat".into(),
        created_at: Utc::now().trunc_subsecs(6),
        secret_version: 0,
    })
    .await
    .unwrap();
    id
}

fn app_user(id: &str) -> ChatUser {
    ChatUser::App(id.into())
}

fn profile(app: &AppId, user: &str, nickname: &str, friends: &[&str]) -> ChatProfile {
    of(app, app_user(user), nickname, friends)
}

fn of(app: &AppId, user: ChatUser, nickname: &str, friends: &[&str]) -> ChatProfile {
    ChatProfile {
        app_id: app.clone(),
        user,
        nickname: Some(nickname.into()),
        profile_image_url: None,
        friends: friends.iter().map(|f| (*f).to_owned()).collect(),
    }
}

mod scenarios {
    auth_infra::on_both_backends!(with crate::common::on_migrated:
        apps_are_stored,
        profiles_register_then_update,
        concurrent_first_logins_make_one_row,
        apps_key_is_its_own_and_stable,
        app_users_and_our_users_are_separate_profiles,
        existing_profiles_migrate_to_their_kind,
    );

    use super::*;

    pub async fn apps_are_stored(db: Database) {
        let repo = DieselAppRepository::new(db.clone());
        let at = Utc::now().trunc_subsecs(6);
        let id = AppId::parse("app_0123456789abcdef01234567").unwrap();
        let stored = App {
            id: id.clone(),
            name: "내 채팅".into(),
            created_at: at,
            secret_version: 0,
        };
        repo.create(&stored).await.unwrap();
        assert_eq!(repo.get(&id).await.unwrap(), Some(stored.clone()));
        assert_eq!(repo.get(&AppId::parse("app_x").unwrap()).await.unwrap(), None);
        // A duplicate id is an infrastructure failure, not a silent overwrite.
        assert!(repo.create(&stored).await.is_err());
        // Listed; rotations count up, one per call, even concurrently.
        assert_eq!(repo.list().await.unwrap(), vec![stored.clone()]);
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (repo, id) = (repo.clone(), id.clone());
                tokio::spawn(async move { repo.rotate_secret(&id).await })
            })
            .collect();
        let mut versions = Vec::new();
        for t in tasks {
            versions.push(t.await.unwrap().unwrap().unwrap().secret_version);
        }
        versions.sort_unstable();
        assert_eq!(versions, vec![1, 2, 3, 4]);
        assert_eq!(repo.get(&id).await.unwrap().unwrap().secret_version, 4);
        assert_eq!(
            repo.rotate_secret(&AppId::parse("app_x").unwrap()).await.unwrap(),
            None
        );
        // Deleted with its profiles; a second delete finds nothing.
        let profiles = DieselChatProfiles::new(db.clone());
        profiles
            .upsert(&profile(&id, "user-1", "one", &[]), Utc::now())
            .await
            .unwrap();
        assert!(repo.delete(&id).await.unwrap());
        assert!(!repo.delete(&id).await.unwrap());
        assert_eq!(repo.get(&id).await.unwrap(), None);
        assert!(repo.list().await.unwrap().is_empty());
        assert_eq!(profiles.get(&id, &app_user("user-1")).await.unwrap(), None);
    }

    pub async fn profiles_register_then_update(db: Database) {
        let a = app(&db, "app_a").await;
        let b = app(&db, "app_b").await;
        let store = DieselChatProfiles::new(db.clone());
        let first = profile(&a, "user-1", "one", &["user-2", "user-3"]);
        assert_eq!(
            store.upsert(&first, Utc::now()).await.unwrap(),
            UpsertOutcome::Registered
        );
        assert_eq!(store.get(&a, &app_user("user-1")).await.unwrap(), Some(first));
        // Same user id in another app is another profile.
        assert_eq!(store.get(&b, &app_user("user-1")).await.unwrap(), None);
        let mut second = profile(&a, "user-1", "uno", &[]);
        second.profile_image_url = Some("https://s3.example.com/p.png".into());
        assert_eq!(
            store.upsert(&second, Utc::now()).await.unwrap(),
            UpsertOutcome::Updated
        );
        assert_eq!(store.get(&a, &app_user("user-1")).await.unwrap(), Some(second));
        // A profile for an app that does not exist is refused by the foreign key.
        let ghost = AppId::parse("app_ghost").unwrap();
        assert!(
            store
                .upsert(&profile(&ghost, "u", "n", &[]), Utc::now())
                .await
                .is_err()
        );
    }

    pub async fn concurrent_first_logins_make_one_row(db: Database) {
        let a = app(&db, "app_race").await;
        let store = Arc::new(DieselChatProfiles::new(db.clone()));
        let mut tasks = vec![];
        for i in 0..8 {
            let (store, a) = (store.clone(), a.clone());
            tasks.push(tokio::spawn(async move {
                store
                    .upsert(&profile(&a, "racer", &format!("n{i}"), &[]), Utc::now())
                    .await
                    .unwrap()
            }));
        }
        let mut registered = 0;
        for t in tasks {
            if t.await.unwrap() == UpsertOutcome::Registered {
                registered += 1;
            }
        }
        assert_eq!(registered, 1);
        assert!(store.get(&a, &app_user("racer")).await.unwrap().is_some());
    }

    pub async fn apps_key_is_its_own_and_stable(db: Database) {
        let (jwt, _) = load_or_create_signing_secret(&db).await.unwrap();
        let (master, created) = load_or_create_key(&db, APPS_KEY_NAME).await.unwrap();
        assert!(created);
        assert_eq!(master.len(), 64);
        assert_ne!(master, jwt);
        let (again, created) = load_or_create_key(&db, APPS_KEY_NAME).await.unwrap();
        assert!(!created);
        assert_eq!(master, again);
        // The derived secret is stable across restarts (same stored key).
        let id = App {
            id: AppId::parse("app_a").unwrap(),
            name: "a".into(),
            created_at: Utc::now(),
            secret_version: 0,
        };
        assert_eq!(
            HmacAppTokens::new(&master).issue_secret(&id).unwrap(),
            HmacAppTokens::new(&again).issue_secret(&id).unwrap()
        );
    }

    pub async fn app_users_and_our_users_are_separate_profiles(db: Database) {
        let a = app(&db, "app_ns").await;
        let store = DieselChatProfiles::new(db.clone());
        let uuid = Uuid::new_v4();
        // An application's user whose id is our user's UUID, then our user.
        let minted = of(&a, app_user(&uuid.to_string()), "minted", &["x"]);
        let ours = of(&a, ChatUser::Own(uuid), "ours", &[]);
        assert_eq!(
            store.upsert(&minted, Utc::now()).await.unwrap(),
            UpsertOutcome::Registered
        );
        assert_eq!(
            store.upsert(&ours, Utc::now()).await.unwrap(),
            UpsertOutcome::Registered
        );
        // A later login of the application's user updates only its row.
        let minted_again = of(&a, app_user(&uuid.to_string()), "minted again", &[]);
        assert_eq!(
            store.upsert(&minted_again, Utc::now()).await.unwrap(),
            UpsertOutcome::Updated
        );
        assert_eq!(store.get(&a, &ChatUser::Own(uuid)).await.unwrap(), Some(ours));
        assert_eq!(
            store.get(&a, &app_user(&uuid.to_string())).await.unwrap(),
            Some(minted_again)
        );
    }

    pub async fn existing_profiles_migrate_to_their_kind(db: Database) {
        // Rows stored before the kind column: one of our users' profile
        // (under the UUID), an application's user, and an application's
        // user whose id merely looks like a UUID.
        let a = app(&db, "app_old").await;
        let uuid = Uuid::new_v4();
        let stranger = Uuid::new_v4();
        db.revert_migrations_through("20251127090000").await.unwrap();
        db.execute_raw(&format!(
            "INSERT INTO users (uuid, login_id, email, name, created_at) \
             VALUES ('{uuid}', 'bob', 'bob@example.com', 'Bob', '2025-11-01 00:00:00'); \
             INSERT INTO app_users (app_id, user_id, nickname, friends, created_at, updated_at) VALUES \
             ('app_old', '{uuid}', 'ours', '[]', '2025-11-01 00:00:00', '2025-11-01 00:00:00'), \
             ('app_old', 'bob', 'theirs', '[\"a\"]', '2025-11-01 00:00:00', '2025-11-01 00:00:00'), \
             ('app_old', '{stranger}', 'uuid-like', '[]', '2025-11-01 00:00:00', '2025-11-01 00:00:00');"
        ))
        .await
        .unwrap();
        db.migrate().await.unwrap();
        let store = DieselChatProfiles::new(db.clone());
        let nickname = |p: Option<ChatProfile>| p.and_then(|p| p.nickname);
        assert_eq!(
            nickname(store.get(&a, &ChatUser::Own(uuid)).await.unwrap()).as_deref(),
            Some("ours")
        );
        assert_eq!(store.get(&a, &app_user(&uuid.to_string())).await.unwrap(), None);
        let theirs = store.get(&a, &app_user("bob")).await.unwrap().unwrap();
        assert_eq!(theirs.friends, vec!["a".to_owned()]);
        assert_eq!(
            nickname(store.get(&a, &app_user(&stranger.to_string())).await.unwrap()).as_deref(),
            Some("uuid-like")
        );
        assert_eq!(store.get(&a, &ChatUser::Own(stranger)).await.unwrap(), None);
    }
}
