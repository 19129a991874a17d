//! Generated server keys, kept in `server_keys`: the JWT signing secret
//! (`jwt_hs256`) and the master key from which applications' secrets are
//! derived (`apps_hmac`).

use chrono::Utc;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use rand::Rng;

use crate::db::schema::server_keys;
use crate::db::{AnyConnection, Database, DbError, to_db_time};

/// The `server_keys.name` of the HS256 signing secret.
const JWT_KEY_NAME: &str = "jwt_hs256";
/// The `server_keys.name` of the master key of application secrets.
pub const APPS_KEY_NAME: &str = "apps_hmac";
/// Length of a generated secret, in bytes.
const SECRET_LEN: usize = 64;

/// Loads the HS256 signing secret stored in the database, generating and
/// storing one (64 random bytes) when there is none. Returns the secret and
/// whether it was created by this call.
///
/// Used when no secret is configured. When two instances race, the one whose
/// insert loses to the unique key reads the winner's secret, so all
/// instances sign with the same key.
///
/// # Errors
/// [`DbError`] when the database fails or the stored value is not hex.
pub async fn load_or_create_signing_secret(db: &Database) -> Result<(Vec<u8>, bool), DbError> {
    load_or_create_key(db, JWT_KEY_NAME).await
}

/// Loads the key stored under `name` in `server_keys`, generating and storing
/// one (64 random bytes) when there is none. Returns the key and whether it
/// was created by this call. Racing instances end up with the same key (the
/// loser of the insert reads the winner's).
///
/// # Errors
/// [`DbError`] when the database fails or the stored value is not hex.
pub async fn load_or_create_key(db: &Database, name: &'static str) -> Result<(Vec<u8>, bool), DbError> {
    db.with_conn(move |conn| {
        if let Some(existing) = read_secret(conn, name)? {
            return Ok((existing, false));
        }
        let mut secret = vec![0u8; SECRET_LEN];
        rand::rng().fill_bytes(&mut secret);
        let inserted = diesel::insert_into(server_keys::table)
            .values((
                server_keys::name.eq(name),
                server_keys::value.eq(hex::encode(&secret)),
                server_keys::created_at.eq(to_db_time(Utc::now())),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => Ok((secret, true)),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                read_secret(conn, name)?
                    .map(|s| (s, false))
                    .ok_or(DbError::Corrupt("server key vanished after a unique violation"))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await?
}

fn read_secret(conn: &mut AnyConnection, name: &str) -> Result<Option<Vec<u8>>, DbError> {
    let stored = server_keys::table
        .find(name)
        .select(server_keys::value)
        .get_result::<String>(conn)
        .optional()?;
    stored
        .map(|hex_value| {
            hex::decode(hex_value).map_err(|_| DbError::Corrupt("a server_keys value is not hex"))
        })
        .transpose()
}
