//! Shared by the adapter test binaries: a migrated database per test, for
//! `auth_infra::on_both_backends!(with common::on_migrated: …)`.

use auth_infra::Database;
use auth_infra::testdb::{TestBackend, TestDatabase};

/// Connects to a test database and applies the migrations.
pub async fn open(t: &TestDatabase) -> Database {
    let db = Database::connect(t.url(), 8).await.unwrap();
    db.migrate().await.unwrap();
    db
}

/// Runs `scenario` on a fresh, migrated database of `backend`, dropped
/// after the test (for `auth_infra::on_both_backends!(with …)`).
#[allow(dead_code)]
pub async fn on_migrated<F, Fut>(backend: TestBackend, scenario: F)
where
    F: FnOnce(Database) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let t = TestDatabase::new(backend);
    let db = open(&t).await;
    let expected = match backend {
        TestBackend::Sqlite => auth_infra::Backend::Sqlite,
        TestBackend::Postgres => auth_infra::Backend::Postgres,
    };
    assert_eq!(db.backend(), expected);
    scenario(db).await;
}

/// A stored user named `login`: its id and UUID. (Not every binary that
/// includes this module uses every helper.)
#[allow(dead_code)]
pub async fn user(db: &Database, login: &str) -> (auth_domain::identity::user::UserId, uuid::Uuid) {
    use auth_domain::identity::password::PasswordHash;
    use auth_domain::identity::user::{DisplayName, Email, LoginId, NewUser};
    use auth_domain::ports::UserRepository as _;
    let uuid = uuid::Uuid::new_v4();
    let new = NewUser {
        uuid,
        login_id: Some(LoginId::parse(login).unwrap()),
        email: Email::parse(&format!("{login}@example.com")).unwrap(),
        name: DisplayName::parse("Kim").unwrap(),
        profile_image: None,
        password_hash: Some(PasswordHash::from_phc(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        )),
        created_at: chrono::Utc::now(),
    };
    let id = auth_infra::DieselUserRepository::new(db.clone())
        .insert(new)
        .await
        .unwrap()
        .id;
    (id, uuid)
}

/// A live session of `user` for `contract`, with a refresh token valid a
/// day.
#[allow(dead_code)]
pub async fn session(
    db: &Database,
    user: auth_domain::identity::user::UserId,
    contract: &str,
) -> auth_domain::sessions::session::SessionId {
    use auth_domain::ports::SessionStore as _;
    use auth_domain::sessions::session::{RefreshRecord, RefreshTokenHash, Session, SessionId};
    use chrono::{SubsecRound, TimeDelta, Utc};
    let now = Utc::now().trunc_subsecs(0);
    let id = SessionId::from_uuid(uuid::Uuid::new_v4());
    let session = Session {
        id,
        user_id: user,
        client: contract.into(),
        created_at: now,
        revoked_at: None,
        revoke_reason: None,
        ip: None,
        user_agent: None,
        last_refreshed_at: None,
        amr: Vec::new(),
    };
    let first = RefreshRecord {
        hash: RefreshTokenHash::of_jti(&id.to_string()),
        session_id: id,
        issued_at: now,
        expires_at: now + TimeDelta::days(1),
        spent_at: None,
    };
    auth_infra::DieselSessionStore::new(db.clone())
        .create(&session, &first)
        .await
        .unwrap();
    id
}
