//! [`UserRepository`] over diesel.

use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::password::PasswordHash;
use auth_domain::ports::{InsertUserError, UserRepository};
use auth_domain::user::{Email, LoginId, NewUser, UniqueField, User, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use uuid::Uuid;

use crate::db::schema::users;
use crate::db::{Database, DbError, from_db_time, to_db_time};

/// Stores users in the `users` table.
#[derive(Debug, Clone)]
pub struct DieselUserRepository {
    db: Database,
}

impl DieselUserRepository {
    /// A repository over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[derive(Queryable)]
struct UserRow {
    id: i64,
    uuid: String,
    login_id: Option<String>,
    email: String,
    name: String,
    profile_image: Option<String>,
    password_hash: Option<String>,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
struct NewUserRow {
    uuid: String,
    login_id: Option<String>,
    email: String,
    name: String,
    profile_image: Option<String>,
    password_hash: Option<String>,
    created_at: NaiveDateTime,
}

impl UserRow {
    fn into_domain(self) -> Result<User, DbError> {
        Ok(User {
            id: UserId::new(self.id),
            uuid: Uuid::parse_str(&self.uuid).map_err(|_| DbError::Corrupt("users.uuid is not a UUID"))?,
            login_id: self
                .login_id
                .map(|l| LoginId::parse(&l))
                .transpose()
                .map_err(|_| DbError::Corrupt("users.login_id is not a valid login id"))?,
            email: Email::parse(&self.email)
                .map_err(|_| DbError::Corrupt("users.email is not a valid email"))?,
            name: self.name,
            profile_image: self.profile_image,
            password_hash: self.password_hash.map(PasswordHash::from_phc),
            created_at: from_db_time(self.created_at),
        })
    }
}

/// Which unique constraint a violation came from: PostgreSQL names the
/// constraint, SQLite names the column in the message.
fn duplicate_field(info: &dyn diesel::result::DatabaseErrorInformation) -> Option<UniqueField> {
    let constraint = info.constraint_name().unwrap_or_default();
    let message = info.message();
    if constraint == "users_email_key" || message.contains("users.email") {
        Some(UniqueField::Email)
    } else if constraint == "users_login_id_key" || message.contains("users.login_id") {
        Some(UniqueField::LoginId)
    } else {
        None
    }
}

async fn find_user<F>(db: &Database, context: &'static str, f: F) -> Result<Option<User>, PortError>
where
    F: FnOnce(&mut crate::db::AnyConnection) -> QueryResult<Option<UserRow>> + Send + 'static,
{
    db.query(context, f)
        .await?
        .map(UserRow::into_domain)
        .transpose()
        .map_err(|e| PortError::new(context, e))
}

#[async_trait]
impl UserRepository for DieselUserRepository {
    async fn insert(&self, user: NewUser) -> Result<User, InsertUserError> {
        const CONTEXT: &str = "insert user";
        let row = NewUserRow {
            uuid: user.uuid.to_string(),
            login_id: user.login_id.map(|l| l.as_str().to_owned()),
            email: user.email.as_str().to_owned(),
            name: user.name.as_str().to_owned(),
            profile_image: user.profile_image,
            password_hash: user.password_hash.map(|h| h.as_phc().to_owned()),
            created_at: to_db_time(user.created_at),
        };
        let result = self
            .db
            .with_conn(move |conn| {
                diesel::insert_into(users::table)
                    .values(&row)
                    .returning(users::all_columns)
                    .get_result::<UserRow>(conn)
            })
            .await
            .map_err(|e| PortError::new(CONTEXT, e))?;
        match result {
            Ok(row) => Ok(row.into_domain().map_err(|e| PortError::new(CONTEXT, e))?),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)) => {
                match duplicate_field(info.as_ref()) {
                    Some(field) => Err(InsertUserError::Duplicate(field)),
                    None => Err(PortError::new(
                        CONTEXT,
                        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info),
                    )
                    .into()),
                }
            }
            Err(e) => Err(PortError::new(CONTEXT, e).into()),
        }
    }

    async fn by_id(&self, id: UserId) -> Result<Option<User>, PortError> {
        find_user(&self.db, "find user by id", move |conn| {
            users::table.find(id.get()).first::<UserRow>(conn).optional()
        })
        .await
    }

    async fn by_uuid(&self, uuid: Uuid) -> Result<Option<User>, PortError> {
        find_user(&self.db, "find user by uuid", move |conn| {
            users::table
                .filter(users::uuid.eq(uuid.to_string()))
                .first::<UserRow>(conn)
                .optional()
        })
        .await
    }

    async fn by_login_id(&self, login_id: &LoginId) -> Result<Option<User>, PortError> {
        let login_id = login_id.as_str().to_owned();
        find_user(&self.db, "find user by login id", move |conn| {
            users::table
                .filter(users::login_id.eq(login_id))
                .first::<UserRow>(conn)
                .optional()
        })
        .await
    }

    async fn by_email(&self, email: &Email) -> Result<Option<User>, PortError> {
        let email = email.as_str().to_owned();
        find_user(&self.db, "find user by email", move |conn| {
            users::table
                .filter(users::email.eq(email))
                .first::<UserRow>(conn)
                .optional()
        })
        .await
    }

    async fn set_password(&self, id: UserId, hash: &PasswordHash) -> Result<bool, PortError> {
        let hash = hash.as_phc().to_owned();
        self.db
            .query("set user password", move |conn| {
                diesel::update(users::table.find(id.get()))
                    .set(users::password_hash.eq(Some(hash)))
                    .execute(conn)
            })
            .await
            .map(|n| n == 1)
    }

    async fn delete(&self, id: UserId) -> Result<bool, PortError> {
        self.db
            .query("delete user", move |conn| {
                diesel::delete(users::table.find(id.get())).execute(conn)
            })
            .await
            .map(|n| n == 1)
    }
}
