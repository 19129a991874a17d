//! The `chat` contract's storage adapters against real databases, on SQLite
//! and on PostgreSQL (`<scenario>::sqlite`, `<scenario>::postgres`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use std::sync::Arc;

use auth_domain::chat::{App, AppId, AppRepository, AppTokens, ChatProfile, ChatProfiles, UpsertOutcome};
use auth_infra::{
    APPS_KEY_NAME, Database, DieselAppRepository, DieselChatProfiles, HmacAppTokens, load_or_create_key,
    load_or_create_signing_secret,
};
use chrono::{SubsecRound, Utc};

on_both!(
    apps_are_stored,
    profiles_register_then_update,
    concurrent_first_logins_make_one_row,
    apps_key_is_its_own_and_stable,
);

async fn app(db: &Database, id: &str) -> AppId {
    let repo = DieselAppRepository::new(db.clone());
    let id = AppId::parse(id).unwrap();
    repo.create(&App {
        id: id.clone(),
        name: "Chat".into(),
        created_at: Utc::now().trunc_subsecs(6),
    })
    .await
    .unwrap();
    id
}

fn profile(app: &AppId, user: &str, nickname: &str, friends: &[&str]) -> ChatProfile {
    ChatProfile {
        app_id: app.clone(),
        user_id: user.into(),
        nickname: Some(nickname.into()),
        profile_image_url: None,
        friends: friends.iter().map(|f| (*f).to_owned()).collect(),
    }
}

mod scenarios {
    use super::*;

    pub async fn apps_are_stored(db: Database) {
        let repo = DieselAppRepository::new(db.clone());
        let at = Utc::now().trunc_subsecs(6);
        let id = AppId::parse("app_0123456789abcdef01234567").unwrap();
        let stored = App {
            id: id.clone(),
            name: "내 채팅".into(),
            created_at: at,
        };
        repo.create(&stored).await.unwrap();
        assert_eq!(repo.get(&id).await.unwrap(), Some(stored.clone()));
        assert_eq!(repo.get(&AppId::parse("app_x").unwrap()).await.unwrap(), None);
        // A duplicate id is an infrastructure failure, not a silent overwrite.
        assert!(repo.create(&stored).await.is_err());
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
        assert_eq!(store.get(&a, "user-1").await.unwrap(), Some(first));
        // Same user id in another app is another profile.
        assert_eq!(store.get(&b, "user-1").await.unwrap(), None);
        let mut second = profile(&a, "user-1", "uno", &[]);
        second.profile_image_url = Some("https://s3.example.com/p.png".into());
        assert_eq!(
            store.upsert(&second, Utc::now()).await.unwrap(),
            UpsertOutcome::Updated
        );
        assert_eq!(store.get(&a, "user-1").await.unwrap(), Some(second));
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
        assert!(store.get(&a, "racer").await.unwrap().is_some());
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
        let id = AppId::parse("app_a").unwrap();
        assert_eq!(
            HmacAppTokens::new(&master).issue_secret(&id).unwrap(),
            HmacAppTokens::new(&again).issue_secret(&id).unwrap()
        );
    }
}
