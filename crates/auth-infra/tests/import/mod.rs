//! Account import and password upgrades, on both backends.

use auth_domain::identity::password::PasswordHash;
use auth_domain::identity::user::{LoginId, UserId};
use auth_domain::import::{ImportAccount, ImportConflict, ImportOutcome};
use auth_domain::ports::{SocialIdentityStore, UserRepository};
use auth_domain::social::Provider;
use auth_infra::{Database, DieselSocialIdentityStore, DieselUserRepository};

use super::new_user;

fn account(id: Option<i64>, login: &str, links: &[(Provider, &str)]) -> ImportAccount {
    ImportAccount {
        id: id.map(UserId::new),
        user: new_user(Some(login), &format!("{login}@example.com")),
        links: links.iter().map(|(p, s)| (*p, (*s).to_owned())).collect(),
        email_verified: true,
    }
}

async fn login_of(users: &DieselUserRepository, login: &str) -> Option<auth_domain::identity::user::User> {
    users.by_login_id(&LoginId::parse(login).unwrap()).await.unwrap()
}

pub async fn import_keeps_ids_and_links_and_new_users_continue_above(db: Database) {
    let users = DieselUserRepository::new(db.clone());
    let social = DieselSocialIdentityStore::new(db);
    let out = users
        .import(
            vec![
                account(Some(7), "parkh", &[(Provider::Kakao, "4021337")]),
                account(Some(1000), "kimc", &[]),
                account(
                    None,
                    "leed",
                    &[(Provider::Google, "g-1"), (Provider::Naver, "n-1")],
                ),
            ],
            false,
        )
        .await
        .unwrap();
    assert_eq!(out[0], ImportOutcome::Imported(UserId::new(7)));
    assert_eq!(out[1], ImportOutcome::Imported(UserId::new(1000)));
    let ImportOutcome::Imported(leed) = out[2] else {
        panic!("{out:?}")
    };
    assert!(
        leed.get() > 1000,
        "a generated id continues above the kept ones: {leed}"
    );

    let parkh = users.by_id(UserId::new(7)).await.unwrap().unwrap();
    assert_eq!(parkh.login_id.unwrap().as_str(), "parkh");
    assert_eq!(
        social.user_for(Provider::Kakao, "4021337").await.unwrap(),
        Some(UserId::new(7))
    );
    assert_eq!(social.user_for(Provider::Naver, "n-1").await.unwrap(), Some(leed));

    // A sign-up after the import gets an id above every imported one.
    let later = users
        .insert(new_user(Some("after"), "after@example.com"))
        .await
        .unwrap();
    assert!(later.id.get() > leed.get(), "{} after {leed}", later.id);
}

pub async fn import_rerun_is_idempotent_and_conflicts_change_nothing(db: Database) {
    let users = DieselUserRepository::new(db.clone());
    let social = DieselSocialIdentityStore::new(db);
    let first = vec![
        account(Some(7), "parkh", &[(Provider::Kakao, "1")]),
        account(None, "kimc", &[]),
    ];
    users.import(first.clone(), false).await.unwrap();
    let kimc = login_of(&users, "kimc").await.unwrap();

    // The same file again, with fresh UUIDs as a rerun has: skipped.
    let rerun: Vec<ImportAccount> = first
        .iter()
        .map(|a| {
            let mut a = a.clone();
            a.user.uuid = uuid::Uuid::new_v4();
            a
        })
        .collect();
    let out = users.import(rerun, false).await.unwrap();
    assert_eq!(
        out,
        vec![
            ImportOutcome::AlreadyImported(UserId::new(7)),
            ImportOutcome::AlreadyImported(kimc.id)
        ]
    );

    // Conflicts: a kept id, a login id, an email, a social identity of others.
    let mut other_email = account(None, "parkh", &[]);
    other_email.user.email = auth_domain::identity::user::Email::parse("new@example.com").unwrap();
    let mut same_email = account(None, "newone", &[]);
    same_email.user.email = kimc.email.clone();
    let out = users
        .import(
            vec![
                account(Some(7), "someone", &[]),
                other_email,
                same_email,
                account(None, "social", &[(Provider::Kakao, "1")]),
            ],
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        vec![
            ImportOutcome::Conflict(ImportConflict::Id),
            ImportOutcome::Conflict(ImportConflict::LoginId),
            ImportOutcome::Conflict(ImportConflict::Email),
            ImportOutcome::Conflict(ImportConflict::Social(Provider::Kakao)),
        ]
    );
    // Nothing changed, nothing added.
    let parkh = users.by_id(UserId::new(7)).await.unwrap().unwrap();
    assert_eq!(parkh.email.as_str(), "parkh@example.com");
    assert!(login_of(&users, "someone").await.is_none());
    assert!(login_of(&users, "newone").await.is_none());
    assert!(login_of(&users, "social").await.is_none());
    assert_eq!(
        social.user_for(Provider::Kakao, "1").await.unwrap(),
        Some(UserId::new(7))
    );
}

pub async fn import_dry_run_stores_nothing(db: Database) {
    let users = DieselUserRepository::new(db);
    let out = users
        .import(vec![account(Some(3), "parkh", &[(Provider::Google, "g")])], true)
        .await
        .unwrap();
    assert_eq!(out, vec![ImportOutcome::Imported(UserId::new(3))]);
    assert!(users.by_id(UserId::new(3)).await.unwrap().is_none());
    assert!(login_of(&users, "parkh").await.is_none());
}

pub async fn import_racing_keys_fall_back_to_one_transaction_per_account(db: Database) {
    let users = DieselUserRepository::new(db.clone());
    let social = DieselSocialIdentityStore::new(db);
    // Both accounts claim one social identity that nobody held when the
    // batch looked (as when a concurrent writer takes it): the first is
    // stored, the second is refused whole: no user row without its link.
    let out = users
        .import(
            vec![
                account(None, "first", &[(Provider::Kakao, "same")]),
                account(None, "second", &[(Provider::Kakao, "same")]),
                account(None, "third", &[]),
            ],
            false,
        )
        .await
        .unwrap();
    assert!(matches!(out[0], ImportOutcome::Imported(_)), "{out:?}");
    assert_eq!(
        out[1],
        ImportOutcome::Conflict(ImportConflict::Social(Provider::Kakao))
    );
    assert!(matches!(out[2], ImportOutcome::Imported(_)), "{out:?}");
    let first = login_of(&users, "first").await.unwrap();
    assert_eq!(
        social.user_for(Provider::Kakao, "same").await.unwrap(),
        Some(first.id)
    );
    assert!(login_of(&users, "second").await.is_none());
    assert!(login_of(&users, "third").await.is_some());
}

pub async fn upgrade_replaces_only_the_hash_it_verified(db: Database) {
    let users = DieselUserRepository::new(db);
    let user = users
        .insert(new_user(Some("parkh"), "parkh@example.com"))
        .await
        .unwrap();
    let old = user.password_hash.clone().unwrap();
    let new = PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA".into());
    let stale = PasswordHash::from_phc("$2b$10$stalestalestalestalestalestalestalestalestalestalest".into());
    assert!(!users.replace_password_hash(user.id, &stale, &new).await.unwrap());
    assert_eq!(
        users.by_id(user.id).await.unwrap().unwrap().password_hash,
        Some(old.clone())
    );
    assert!(users.replace_password_hash(user.id, &old, &new).await.unwrap());
    assert_eq!(
        users.by_id(user.id).await.unwrap().unwrap().password_hash,
        Some(new.clone())
    );
    // Once replaced, the old hash no longer matches: a second upgrade is a no-op.
    assert!(!users.replace_password_hash(user.id, &old, &stale).await.unwrap());
    assert_eq!(
        users.by_id(user.id).await.unwrap().unwrap().password_hash,
        Some(new)
    );
}

/// Issue 26.6: an import's `emailVerified: false` is kept (a social login
/// will not join the account), and a password reset, which proves the
/// address with a mailed code, makes it verified.
pub async fn import_keeps_an_unverified_address_until_a_reset(db: Database) {
    let users = DieselUserRepository::new(db);
    let mut unverified = account(None, "planted", &[]);
    unverified.email_verified = false;
    let out = users
        .import(vec![unverified, account(None, "vouched", &[])], false)
        .await
        .unwrap();
    assert!(
        matches!(out[..], [ImportOutcome::Imported(_), ImportOutcome::Imported(_)]),
        "{out:?}"
    );
    let planted = login_of(&users, "planted").await.unwrap();
    assert!(!planted.email_verified);
    assert!(login_of(&users, "vouched").await.unwrap().email_verified);
    let sign_up = users
        .insert(new_user(Some("signedup"), "signedup@example.com"))
        .await
        .unwrap();
    assert!(sign_up.email_verified, "sign-ups prove their address");
    let reset = PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA".into());
    assert!(users.set_password(planted.id, &reset).await.unwrap());
    assert!(login_of(&users, "planted").await.unwrap().email_verified);
}

/// Issue 26.5: kept ids stop well below the top of the range, so the
/// sequence keeps room: an import at the documented maximum, then a
/// sign-up, works on both backends.
pub async fn sign_ups_continue_after_the_largest_importable_id(db: Database) {
    let users = DieselUserRepository::new(db);
    let top = auth_domain::import::MAX_ACCOUNT_ID;
    let out = users
        .import(vec![account(Some(top), "topid", &[])], false)
        .await
        .unwrap();
    assert_eq!(out, vec![ImportOutcome::Imported(UserId::new(top))]);
    let next = users
        .insert(new_user(Some("afterit"), "afterit@example.com"))
        .await
        .unwrap();
    assert_eq!(next.id.get(), top + 1);
}
