//! [`UserRepository`] over diesel: account storage here, the admin search
//! in `search.rs`, the bulk import in `import.rs`.

mod import;
mod search;

use import::import_blocking;
use search::{SearchFilter, search_blocking};

use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::identity::password::PasswordHash;
use auth_domain::identity::user::{Email, LoginId, NewUser, UniqueField, User, UserId};
use auth_domain::ports::{InsertUserError, UserRepository};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use uuid::Uuid;

use crate::db::schema::users;
use crate::db::{Database, DbError, from_db_time, to_db_time};
use auth_domain::import::{ImportAccount, ImportOutcome};

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
    disabled_at: Option<NaiveDateTime>,
    email_verified: bool,
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
            disabled_at: self.disabled_at.map(from_db_time),
            email_verified: self.email_verified,
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
            users::table.find(id.get()).get_result::<UserRow>(conn).optional()
        })
        .await
    }

    async fn by_uuid(&self, uuid: Uuid) -> Result<Option<User>, PortError> {
        find_user(&self.db, "find user by uuid", move |conn| {
            users::table
                .filter(users::uuid.eq(uuid.to_string()))
                .get_result::<UserRow>(conn)
                .optional()
        })
        .await
    }

    async fn by_login_id(&self, login_id: &LoginId) -> Result<Option<User>, PortError> {
        let login_id = login_id.as_str().to_owned();
        find_user(&self.db, "find user by login id", move |conn| {
            users::table
                .filter(users::login_id.eq(login_id))
                .get_result::<UserRow>(conn)
                .optional()
        })
        .await
    }

    async fn by_email(&self, email: &Email) -> Result<Option<User>, PortError> {
        let email = email.as_str().to_owned();
        find_user(&self.db, "find user by email", move |conn| {
            users::table
                .filter(users::email.eq(email))
                .get_result::<UserRow>(conn)
                .optional()
        })
        .await
    }

    async fn set_password(&self, id: UserId, hash: &PasswordHash) -> Result<bool, PortError> {
        let hash = hash.as_phc().to_owned();
        self.db
            .query("set user password", move |conn| {
                diesel::update(users::table.find(id.get()))
                    .set((
                        users::password_hash.eq(Some(hash)),
                        users::email_verified.eq(true),
                    ))
                    .execute(conn)
            })
            .await
            .map(|n| n == 1)
    }

    async fn delete_enabled(&self, id: UserId) -> Result<bool, PortError> {
        self.db
            .query("delete user", move |conn| {
                diesel::delete(users::table.find(id.get()).filter(users::disabled_at.is_null())).execute(conn)
            })
            .await
            .map(|n| n == 1)
    }

    async fn replace_password_hash(
        &self,
        id: UserId,
        old: &PasswordHash,
        new: &PasswordHash,
    ) -> Result<bool, PortError> {
        let old = old.as_phc().to_owned();
        let new = new.as_phc().to_owned();
        self.db
            .query("upgrade password hash", move |conn| {
                diesel::update(
                    users::table
                        .find(id.get())
                        .filter(users::password_hash.eq(Some(old))),
                )
                .set(users::password_hash.eq(Some(new)))
                .execute(conn)
            })
            .await
            .map(|n| n == 1)
    }

    async fn import(
        &self,
        accounts: Vec<ImportAccount>,
        dry_run: bool,
    ) -> Result<Vec<ImportOutcome>, PortError> {
        const CONTEXT: &str = "import users";
        let backend = self.db.backend();
        self.db
            .query(CONTEXT, move |conn| {
                import_blocking(conn, backend, accounts, dry_run)
            })
            .await
    }

    async fn search(
        &self,
        query: Option<&str>,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<User>, PortError> {
        const CONTEXT: &str = "search users";
        let backend = self.db.backend();
        let filter = query.map(|q| SearchFilter::new(backend, q));
        let rows: Vec<UserRow> = self
            .db
            .query(CONTEXT, move |conn| {
                search_blocking(conn, backend, filter, after, limit)
            })
            .await?;
        rows.into_iter()
            .map(UserRow::into_domain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PortError::new(CONTEXT, e))
    }

    async fn set_disabled(
        &self,
        id: UserId,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Option<User>, PortError> {
        const CONTEXT: &str = "disable or enable user";
        let at = at.map(to_db_time);
        let row = self
            .db
            .query(CONTEXT, move |conn| {
                conn.transaction(|conn| {
                    // The write first (SQLite's lock; PostgreSQL's row lock).
                    match at {
                        Some(at) => {
                            diesel::update(users::table.find(id.get()).filter(users::disabled_at.is_null()))
                                .set(users::disabled_at.eq(Some(at)))
                                .execute(conn)?
                        }
                        None => diesel::update(users::table.find(id.get()))
                            .set(users::disabled_at.eq(None::<NaiveDateTime>))
                            .execute(conn)?,
                    };
                    users::table.find(id.get()).get_result::<UserRow>(conn).optional()
                })
            })
            .await?;
        row.map(UserRow::into_domain)
            .transpose()
            .map_err(|e| PortError::new(CONTEXT, e))
    }
}
