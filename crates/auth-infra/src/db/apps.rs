//! The `chat` contract's adapters: applications (`apps`), users' profiles
//! per application (`app_users`, keyed by application, user kind and id),
//! and application-signed tokens.
//!
//! An application's HS256 secret is never stored. It is
//! `hex(HMAC-SHA256(master, app_id))` (64 hex characters, 256 bits) at
//! registration (`secret_version` 0) and `hex(HMAC-SHA256(master,
//! app_id + "#" + version))` after each rotation, where `master` is the
//! 64-byte `apps_hmac` row of `server_keys` (`#` cannot occur in an id). The application's
//! backend signs with the UTF-8 bytes of that hex string, as JWT libraries do
//! with a string secret. Replacing the master key changes every
//! application's secret at once.

use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::chat::{
    App, AppClaims, AppId, AppRepository, AppTokens, ChatProfile, ChatProfiles, ChatUser, UpsertOutcome,
};
use auth_domain::sessions::token::TokenError;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::Sha256;

use crate::db::schema::{app_users, apps};
use crate::db::{Database, from_db_time, to_db_time};

/// [`AppRepository`] over diesel.
#[derive(Debug, Clone)]
pub struct DieselAppRepository {
    db: Database,
}

impl DieselAppRepository {
    /// A repository over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl AppRepository for DieselAppRepository {
    async fn create(&self, app: &App) -> Result<(), PortError> {
        let (id, name, created_at, version) = (
            app.id.as_str().to_owned(),
            app.name.clone(),
            to_db_time(app.created_at),
            app.secret_version,
        );
        self.db
            .query("create application", move |conn| {
                diesel::insert_into(apps::table)
                    .values((
                        apps::app_id.eq(id),
                        apps::name.eq(name),
                        apps::created_at.eq(created_at),
                        apps::secret_version.eq(version),
                    ))
                    .execute(conn)
                    .map(|_| ())
            })
            .await
    }

    async fn get(&self, id: &AppId) -> Result<Option<App>, PortError> {
        let key = id.as_str().to_owned();
        let row: Option<AppRow> = self
            .db
            .query("find application", move |conn| {
                apps::table
                    .find(key)
                    .select(APP_COLUMNS)
                    .get_result(conn)
                    .optional()
            })
            .await?;
        Ok(row.and_then(app_of_row))
    }

    async fn list(&self) -> Result<Vec<App>, PortError> {
        let rows: Vec<AppRow> = self
            .db
            .query("list applications", move |conn| {
                apps::table
                    .select(APP_COLUMNS)
                    .order((apps::created_at.asc(), apps::app_id.asc()))
                    .load(conn)
            })
            .await?;
        Ok(rows.into_iter().filter_map(app_of_row).collect())
    }

    async fn delete(&self, id: &AppId) -> Result<bool, PortError> {
        let key = id.as_str().to_owned();
        self.db
            .query("delete application", move |conn| {
                conn.transaction(|conn| {
                    // The profiles go by ON DELETE CASCADE on PostgreSQL;
                    // SQLite enforces foreign keys only when asked, so they
                    // are deleted here for both.
                    let deleted = diesel::delete(apps::table.find(&key)).execute(conn)?;
                    diesel::delete(app_users::table.filter(app_users::app_id.eq(&key))).execute(conn)?;
                    Ok(deleted == 1)
                })
            })
            .await
    }

    async fn rotate_secret(&self, id: &AppId) -> Result<Option<App>, PortError> {
        let key = id.as_str().to_owned();
        let row: Option<AppRow> = self
            .db
            .query("rotate application secret", move |conn| {
                conn.transaction(|conn| {
                    // One conditional increment decided by the database:
                    // concurrent rotations get distinct versions.
                    let n = diesel::update(apps::table.find(&key))
                        .set(apps::secret_version.eq(apps::secret_version + 1))
                        .execute(conn)?;
                    if n == 0 {
                        return Ok(None);
                    }
                    apps::table
                        .find(&key)
                        .select(APP_COLUMNS)
                        .get_result(conn)
                        .optional()
                })
            })
            .await?;
        Ok(row.and_then(app_of_row))
    }
}

type AppRow = (String, String, chrono::NaiveDateTime, i64);

const APP_COLUMNS: (apps::app_id, apps::name, apps::created_at, apps::secret_version) =
    (apps::app_id, apps::name, apps::created_at, apps::secret_version);

fn app_of_row((app_id, name, created_at, secret_version): AppRow) -> Option<App> {
    AppId::parse(&app_id).ok().map(|id| App {
        id,
        name,
        created_at: from_db_time(created_at),
        secret_version,
    })
}

/// [`ChatProfiles`] over diesel; `friends` is stored as a JSON array.
#[derive(Debug, Clone)]
pub struct DieselChatProfiles {
    db: Database,
}

impl DieselChatProfiles {
    /// A store over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

type ProfileRow = (String, String, String, Option<String>, Option<String>, String);

#[async_trait]
impl ChatProfiles for DieselChatProfiles {
    async fn upsert(&self, profile: &ChatProfile, now: DateTime<Utc>) -> Result<UpsertOutcome, PortError> {
        let friends =
            serde_json::to_string(&profile.friends).map_err(|e| PortError::new("encode friends", e))?;
        let app_id = profile.app_id.as_str().to_owned();
        let kind = profile.user.kind();
        let user_id = profile.user.id();
        let nickname = profile.nickname.clone();
        let image = profile.profile_image_url.clone();
        let at = to_db_time(now);
        self.db
            .query("store chat profile", move |conn| {
                // No portable ON CONFLICT over MultiConnection: update, else
                // insert; a racing first login makes the insert hit the
                // primary key, and then the update is retried.
                let update = |conn: &mut crate::db::AnyConnection| {
                    diesel::update(
                        app_users::table
                            .filter(app_users::app_id.eq(&app_id))
                            .filter(app_users::kind.eq(kind))
                            .filter(app_users::user_id.eq(&user_id)),
                    )
                    .set((
                        app_users::nickname.eq(&nickname),
                        app_users::profile_image_url.eq(&image),
                        app_users::friends.eq(&friends),
                        app_users::updated_at.eq(at),
                    ))
                    .execute(conn)
                };
                if update(conn)? == 1 {
                    return Ok(UpsertOutcome::Updated);
                }
                let inserted = diesel::insert_into(app_users::table)
                    .values((
                        app_users::app_id.eq(&app_id),
                        app_users::kind.eq(kind),
                        app_users::user_id.eq(&user_id),
                        app_users::nickname.eq(&nickname),
                        app_users::profile_image_url.eq(&image),
                        app_users::friends.eq(&friends),
                        app_users::created_at.eq(at),
                        app_users::updated_at.eq(at),
                    ))
                    .execute(conn);
                match inserted {
                    Ok(_) => Ok(UpsertOutcome::Registered),
                    Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                        update(conn).map(|_| UpsertOutcome::Updated)
                    }
                    Err(e) => Err(e),
                }
            })
            .await
    }

    async fn get(&self, app_id: &AppId, user: &ChatUser) -> Result<Option<ChatProfile>, PortError> {
        let (app, kind, id) = (app_id.as_str().to_owned(), user.kind(), user.id());
        let row: Option<ProfileRow> = self
            .db
            .query("find chat profile", move |conn| {
                app_users::table
                    .find((app, kind, id))
                    .select((
                        app_users::app_id,
                        app_users::kind,
                        app_users::user_id,
                        app_users::nickname,
                        app_users::profile_image_url,
                        app_users::friends,
                    ))
                    .get_result(conn)
                    .optional()
            })
            .await?;
        let Some((app_id, kind, user_id, nickname, profile_image_url, friends)) = row else {
            return Ok(None);
        };
        let friends: Vec<String> =
            serde_json::from_str(&friends).map_err(|e| PortError::new("decode friends", e))?;
        let app_id =
            AppId::parse(&app_id).map_err(|()| PortError::new("decode chat profile", "malformed app_id"))?;
        let user = ChatUser::from_stored(&kind, &user_id)
            .ok_or_else(|| PortError::new("decode chat profile", "malformed kind or user id"))?;
        Ok(Some(ChatProfile {
            app_id,
            user,
            nickname,
            profile_image_url,
            friends,
        }))
    }
}

/// [`AppTokens`]: secrets derived with HMAC-SHA256 from a master key,
/// tokens verified with jsonwebtoken (HS256 only).
#[derive(Clone)]
pub struct HmacAppTokens {
    master: Vec<u8>,
    validation: Validation,
}

impl std::fmt::Debug for HmacAppTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmacAppTokens").finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Wire {
    sub: String,
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    iat: Option<i64>,
    exp: i64,
}

impl HmacAppTokens {
    /// Derives application secrets from `master` (the `apps_hmac` key).
    pub fn new(master: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the injected clock.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            master: master.to_vec(),
            validation,
        }
    }

    fn secret(&self, app_id: &AppId, version: i64) -> Result<String, PortError> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.master)
            .map_err(|e| PortError::new("derive application secret", e.to_string()))?;
        mac.update(app_id.as_str().as_bytes());
        if version != 0 {
            mac.update(format!("#{version}").as_bytes());
        }
        Ok(hex::encode(mac.finalize().into_bytes()))
    }
}

impl AppTokens for HmacAppTokens {
    fn issue_secret(&self, app: &App) -> Result<String, PortError> {
        self.secret(&app.id, app.secret_version)
    }

    fn verify(&self, app: &App, token: &str, now: DateTime<Utc>) -> Result<AppClaims, TokenError> {
        let secret = self
            .secret(&app.id, app.secret_version)
            .map_err(|_| TokenError::Invalid)?;
        let data = jsonwebtoken::decode::<Wire>(
            token,
            &DecodingKey::from_secret(secret.as_bytes()),
            &self.validation,
        )
        .map_err(|_| TokenError::Invalid)?;
        if data.header.alg != Algorithm::HS256 || data.claims.sub.is_empty() {
            return Err(TokenError::Invalid);
        }
        if data.claims.exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(AppClaims {
            sub: data.claims.sub,
            app_id: data.claims.app_id,
            iat: data.claims.iat,
            exp: data.claims.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    const T0: i64 = 1_700_000_000;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn app(id: &str) -> App {
        app_v(id, 0)
    }

    fn app_v(id: &str, secret_version: i64) -> App {
        App {
            id: AppId::parse(id).unwrap(),
            name: "x".into(),
            created_at: at(T0),
            secret_version,
        }
    }

    fn sign(secret: &str, alg: Algorithm, claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(alg),
            claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn secrets_are_derived_per_app_and_per_master_key() {
        let t = HmacAppTokens::new(&[7u8; 64]);
        let a = t.issue_secret(&app("app_a")).unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(a, t.issue_secret(&app("app_a")).unwrap());
        assert_ne!(a, t.issue_secret(&app("app_b")).unwrap());
        assert_ne!(
            a,
            HmacAppTokens::new(&[8u8; 64])
                .issue_secret(&app("app_a"))
                .unwrap()
        );
        // A rotation gives another secret, and the old one stops verifying.
        let rotated = t.issue_secret(&app_v("app_a", 1)).unwrap();
        assert_ne!(a, rotated);
        assert_ne!(rotated, t.issue_secret(&app_v("app_a", 2)).unwrap());
        let claims = json!({"sub": "u", "exp": T0 + 60});
        let old = sign(&a, Algorithm::HS256, &claims);
        assert_eq!(
            t.verify(&app_v("app_a", 1), &old, at(T0)),
            Err(TokenError::Invalid)
        );
        let new = sign(&rotated, Algorithm::HS256, &claims);
        assert!(t.verify(&app_v("app_a", 1), &new, at(T0)).is_ok());
        assert!(!format!("{t:?}").contains("7"));
    }

    #[test]
    fn verifies_app_tokens() {
        let t = HmacAppTokens::new(&[7u8; 64]);
        let secret = t.issue_secret(&app("app_a")).unwrap();
        let claims = json!({"sub": "user-1", "app_id": "app_a", "iat": T0, "exp": T0 + 60});
        let token = sign(&secret, Algorithm::HS256, &claims);
        assert_eq!(
            t.verify(&app("app_a"), &token, at(T0)),
            Ok(AppClaims {
                sub: "user-1".into(),
                app_id: Some("app_a".into()),
                iat: Some(T0),
                exp: T0 + 60
            })
        );
        assert_eq!(
            t.verify(&app("app_a"), &token, at(T0 + 60)),
            Err(TokenError::Expired)
        );
        assert_eq!(t.verify(&app("app_b"), &token, at(T0)), Err(TokenError::Invalid));
        // Other algorithms, missing exp or sub, garbage.
        assert_eq!(
            t.verify(&app("app_a"), &sign(&secret, Algorithm::HS512, &claims), at(T0)),
            Err(TokenError::Invalid)
        );
        for bad in [
            json!({"sub": "u"}),
            json!({"exp": T0 + 60}),
            json!({"sub": "", "exp": T0 + 60}),
        ] {
            assert_eq!(
                t.verify(&app("app_a"), &sign(&secret, Algorithm::HS256, &bad), at(T0)),
                Err(TokenError::Invalid),
                "{bad}"
            );
        }
        assert_eq!(t.verify(&app("app_a"), "a.b.c", at(T0)), Err(TokenError::Invalid));
        // An audience claim is not ours to check.
        let with_aud = json!({"sub": "u", "aud": "x", "exp": T0 + 60});
        assert!(
            t.verify(&app("app_a"), &sign(&secret, Algorithm::HS256, &with_aud), at(T0))
                .is_ok()
        );
    }
}
