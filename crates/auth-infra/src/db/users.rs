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

use crate::db::schema::{social_identities, users};
use crate::db::{AnyConnection, Backend, Database, DbError, from_db_time, to_db_time};
use auth_domain::import::{ImportAccount, ImportConflict, ImportOutcome};
use auth_domain::social::Provider;
use std::collections::HashMap;

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

/// How a search query is matched (issue 18: through an index wherever
/// one can serve it).
#[derive(Debug)]
enum SearchFilter {
    /// SQLite, three characters or more: an FTS5 phrase for the
    /// `users_search` trigram index (a phrase of trigrams is a substring,
    /// case-insensitive), the query's `"` doubled.
    Phrase(String),
    /// PostgreSQL, three characters or more: `lower(column) LIKE pattern`,
    /// which the `pg_trgm` GIN indexes serve.
    IndexedLike(String),
    /// One or two characters (no whole trigram): `lower(column) LIKE
    /// pattern` read in id order, which stops at the page's end (a short
    /// query matches often).
    Like(String),
}

impl SearchFilter {
    fn new(backend: Backend, query: &str) -> Self {
        let short = query.chars().count() < 3;
        match backend {
            _ if short => Self::Like(like_pattern(query)),
            Backend::Sqlite => Self::Phrase(format!("\"{}\"", query.replace('"', "\"\""))),
            Backend::Postgres => Self::IndexedLike(like_pattern(query)),
        }
    }
}

/// At most this many matches are collected through PostgreSQL's trigram
/// indexes (a bitmap scan, unordered) before choosing the id-ordered read
/// instead: a query matching more is dense enough that reading accounts in
/// id order fills a page quickly.
const SEARCH_CANDIDATES: i64 = 1_000;

type Db = <AnyConnection as Connection>::Backend;

/// `q` restricted to rows whose login id, email or name matches `pattern`
/// (`lower(…) LIKE`, `\` escaping). The expressions are those of the
/// PostgreSQL trigram indexes (migration `user_search`): keep them equal.
fn matching<'a, ST: 'a>(
    q: users::BoxedQuery<'a, Db, ST>,
    pattern: String,
    backend: Backend,
) -> users::BoxedQuery<'a, Db, ST> {
    use diesel::sql_types::{Bool, Text};
    // SQLite has no default `LIKE` escape character; PostgreSQL's is `\`
    // already, and a plain `LIKE` is what its indexes match.
    let escape = match backend {
        Backend::Sqlite => " ESCAPE '\\'",
        Backend::Postgres => "",
    };
    q.filter(
        diesel::dsl::sql::<Bool>("(lower(COALESCE(users.login_id, '')) LIKE ")
            .bind::<Text, _>(pattern.clone())
            .sql(escape)
            .sql(" OR lower(users.email) LIKE ")
            .bind::<Text, _>(pattern.clone())
            .sql(escape)
            .sql(" OR lower(users.name) LIKE ")
            .bind::<Text, _>(pattern)
            .sql(escape)
            .sql(")"),
    )
}

/// One page of [`UserRepository::search`]: up to `limit` matching users
/// with ids above `after`, lowest first.
fn search_blocking(
    conn: &mut AnyConnection,
    backend: Backend,
    filter: Option<SearchFilter>,
    after: Option<UserId>,
    limit: u32,
) -> QueryResult<Vec<UserRow>> {
    use diesel::sql_types::{BigInt, Bool, Text};
    let after_id = after.map_or(0, UserId::get);
    // No `id > 0` on a first page: PostgreSQL would take that condition on
    // the primary key for a reason to read it instead of the trigram
    // indexes.
    let page = || {
        let q = users::table
            .order(users::id.asc())
            .limit(i64::from(limit))
            .into_boxed();
        match after {
            Some(after) => q.filter(users::id.gt(after.get())),
            None => q,
        }
    };
    match filter {
        None => page().load(conn),
        Some(SearchFilter::Like(pattern)) => matching(page(), pattern, backend).load(conn),
        // The FTS5 index yields matching ids in id order from `after` on
        // and stops at the page's end.
        Some(SearchFilter::Phrase(phrase)) => page()
            .filter(
                diesel::dsl::sql::<Bool>(
                    "users.id IN (SELECT rowid FROM users_search WHERE users_search MATCH ",
                )
                .bind::<Text, _>(phrase)
                .sql(" AND rowid > ")
                .bind::<BigInt, _>(after_id)
                .sql(" ORDER BY rowid LIMIT ")
                .bind::<BigInt, _>(i64::from(limit))
                .sql(")"),
            )
            .load(conn),
        // Unordered and capped, so that the planner takes the trigram
        // indexes (asked for a few rows in id order, it would read the
        // primary key and filter, which for a rare match reads every
        // account); the page is then cut from the candidates.
        Some(SearchFilter::IndexedLike(pattern)) => {
            let mut candidates = users::table
                .select(users::id)
                .limit(SEARCH_CANDIDATES + 1)
                .into_boxed();
            if let Some(after) = after {
                candidates = candidates.filter(users::id.gt(after.get()));
            }
            let mut ids: Vec<i64> = matching(candidates, pattern.clone(), backend).load(conn)?;
            if ids.len() as i64 > SEARCH_CANDIDATES {
                return matching(page(), pattern, backend).load(conn);
            }
            ids.sort_unstable();
            ids.truncate(limit as usize);
            users::table
                .filter(users::id.eq_any(ids))
                .order(users::id.asc())
                .load(conn)
        }
    }
}

/// `%query%` in lower case, with `\`, `%` and `_` escaped by `\`.
fn like_pattern(query: &str) -> String {
    let mut p = String::with_capacity(query.len() + 2);
    p.push('%');
    for c in query.to_lowercase().chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

// ------------------------------------------------------------------ import

/// Rows at most per multi-row `INSERT` (10 bound values each: far below
/// SQLite's and PostgreSQL's limits on bound parameters).
const INSERT_CHUNK: usize = 500;

#[derive(Insertable)]
#[diesel(table_name = users)]
#[diesel(treat_none_as_default_value = false)]
struct ImportedUserRow {
    id: i64,
    uuid: String,
    login_id: Option<String>,
    email: String,
    name: String,
    profile_image: Option<String>,
    password_hash: Option<String>,
    created_at: NaiveDateTime,
    email_verified: bool,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
#[diesel(treat_none_as_default_value = false)]
struct ImportedUserRowNoId {
    uuid: String,
    login_id: Option<String>,
    email: String,
    name: String,
    profile_image: Option<String>,
    password_hash: Option<String>,
    created_at: NaiveDateTime,
    email_verified: bool,
}

#[derive(Insertable)]
#[diesel(table_name = social_identities)]
struct ImportedLinkRow {
    provider: String,
    subject: String,
    user_id: i64,
    created_at: NaiveDateTime,
}

/// An existing user, as far as an import compares it.
struct Existing {
    id: i64,
    login_id: Option<String>,
    email: String,
}

/// What the database holds of a batch's keys.
#[derive(Default)]
struct Holders {
    by_id: HashMap<i64, Existing>,
    by_login: HashMap<String, i64>,
    by_email: HashMap<String, i64>,
    links: HashMap<(String, String), i64>,
}

impl Holders {
    fn load(conn: &mut AnyConnection, accounts: &[ImportAccount]) -> QueryResult<Self> {
        let ids: Vec<i64> = accounts.iter().filter_map(|a| a.id.map(UserId::get)).collect();
        let logins: Vec<String> = accounts
            .iter()
            .filter_map(|a| a.user.login_id.as_ref().map(|l| l.as_str().to_owned()))
            .collect();
        let emails: Vec<String> = accounts
            .iter()
            .map(|a| a.user.email.as_str().to_owned())
            .collect();
        let subjects: Vec<String> = accounts
            .iter()
            .flat_map(|a| a.links.iter().map(|(_, s)| s.clone()))
            .collect();
        let mut holders = Self::default();
        let mut rows: Vec<(i64, Option<String>, String)> = Vec::new();
        for chunk in ids.chunks(INSERT_CHUNK) {
            rows.extend(
                users::table
                    .filter(users::id.eq_any(chunk))
                    .select((users::id, users::login_id, users::email))
                    .load::<(i64, Option<String>, String)>(conn)?,
            );
        }
        for chunk in logins.chunks(INSERT_CHUNK) {
            rows.extend(
                users::table
                    .filter(users::login_id.eq_any(chunk))
                    .select((users::id, users::login_id, users::email))
                    .load::<(i64, Option<String>, String)>(conn)?,
            );
        }
        for chunk in emails.chunks(INSERT_CHUNK) {
            rows.extend(
                users::table
                    .filter(users::email.eq_any(chunk))
                    .select((users::id, users::login_id, users::email))
                    .load::<(i64, Option<String>, String)>(conn)?,
            );
        }
        for (id, login_id, email) in rows {
            if let Some(l) = &login_id {
                holders.by_login.insert(l.clone(), id);
            }
            holders.by_email.insert(email.clone(), id);
            holders.by_id.insert(id, Existing { id, login_id, email });
        }
        for chunk in subjects.chunks(INSERT_CHUNK) {
            let found = social_identities::table
                .filter(social_identities::subject.eq_any(chunk))
                .select((
                    social_identities::provider,
                    social_identities::subject,
                    social_identities::user_id,
                ))
                .load::<(String, String, i64)>(conn)?;
            for (p, s, id) in found {
                holders.links.insert((p, s), id);
            }
        }
        Ok(holders)
    }

    /// What becomes of `a`: `None` when it is to be stored.
    fn decide(&self, a: &ImportAccount) -> Option<ImportOutcome> {
        let login = a.user.login_id.as_ref().map(|l| l.as_str().to_owned());
        let email = a.user.email.as_str();
        // The user this record names: by its id, else its login id, else its email.
        let named = match a.id {
            Some(id) => self.by_id.get(&id.get()),
            None => login
                .as_ref()
                .and_then(|l| self.by_login.get(l))
                .or_else(|| self.by_email.get(email))
                .and_then(|id| self.by_id.get(id)),
        };
        if let Some(u) = named
            && u.login_id == login
            && u.email == email
        {
            return Some(ImportOutcome::AlreadyImported(UserId::new(u.id)));
        }
        let conflict = if a.id.is_some_and(|id| self.by_id.contains_key(&id.get())) {
            Some(ImportConflict::Id)
        } else if login.as_ref().is_some_and(|l| self.by_login.contains_key(l)) {
            Some(ImportConflict::LoginId)
        } else if self.by_email.contains_key(email) {
            Some(ImportConflict::Email)
        } else {
            a.links
                .iter()
                .find(|(p, s)| self.links.contains_key(&(p.as_str().to_owned(), s.clone())))
                .map(|(p, _)| ImportConflict::Social(*p))
        };
        conflict.map(ImportOutcome::Conflict)
    }
}

fn user_rows(a: &ImportAccount) -> (Option<i64>, ImportedUserRowNoId) {
    let u = &a.user;
    (
        a.id.map(UserId::get),
        ImportedUserRowNoId {
            uuid: u.uuid.to_string(),
            login_id: u.login_id.as_ref().map(|l| l.as_str().to_owned()),
            email: u.email.as_str().to_owned(),
            name: u.name.as_str().to_owned(),
            profile_image: u.profile_image.clone(),
            password_hash: u.password_hash.as_ref().map(|h| h.as_phc().to_owned()),
            created_at: to_db_time(u.created_at),
            email_verified: a.email_verified,
        },
    )
}

fn with_id(id: i64, r: ImportedUserRowNoId) -> ImportedUserRow {
    ImportedUserRow {
        id,
        uuid: r.uuid,
        login_id: r.login_id,
        email: r.email,
        name: r.name,
        profile_image: r.profile_image,
        password_hash: r.password_hash,
        created_at: r.created_at,
        email_verified: r.email_verified,
    }
}

fn link_rows(a: &ImportAccount, user_id: i64) -> Vec<ImportedLinkRow> {
    a.links
        .iter()
        .map(|(p, s)| ImportedLinkRow {
            provider: p.as_str().to_owned(),
            subject: s.clone(),
            user_id,
            created_at: to_db_time(a.user.created_at),
        })
        .collect()
}

/// Moves PostgreSQL's id sequence above the largest id, never down (a
/// concurrent sign-up may hold a higher value already). SQLite needs
/// nothing: `AUTOINCREMENT` records the largest id ever inserted, explicit
/// ones included.
fn raise_id_sequence(conn: &mut AnyConnection, backend: crate::db::Backend) -> QueryResult<()> {
    if backend == crate::db::Backend::Postgres {
        diesel::sql_query(
            "SELECT setval(s, GREATEST(m, COALESCE(pg_sequence_last_value(s), 0))) \
             FROM (SELECT pg_get_serial_sequence('users', 'id')::regclass AS s, \
                          (SELECT MAX(id) FROM users) AS m) AS x WHERE m IS NOT NULL",
        )
        .execute(conn)?;
    }
    Ok(())
}

/// One multi-row `INSERT` on the concrete connection: diesel's
/// `MultiConnection` cannot write batch inserts, each backend can.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            AnyConnection::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c)?,
            AnyConnection::Postgres(c) => diesel::insert_into($table).values($rows).execute(c)?,
        }
    };
}

/// Stores the accounts to insert in one transaction; `Err` rolls it all back.
fn insert_all(
    conn: &mut AnyConnection,
    backend: crate::db::Backend,
    accounts: &[&ImportAccount],
) -> QueryResult<Vec<i64>> {
    conn.transaction(|conn| {
        let mut explicit = Vec::new();
        let mut generated = Vec::new();
        for a in accounts {
            match user_rows(a) {
                (Some(id), row) => explicit.push(with_id(id, row)),
                (None, row) => generated.push(row),
            }
        }
        for chunk in explicit.chunks(INSERT_CHUNK) {
            insert_rows!(conn, users::table, chunk);
        }
        if !explicit.is_empty() {
            raise_id_sequence(conn, backend)?;
        }
        for chunk in generated.chunks(INSERT_CHUNK) {
            insert_rows!(conn, users::table, chunk);
        }
        // The generated ids, by UUID.
        let mut ids_by_uuid: HashMap<String, i64> = HashMap::new();
        let uuids: Vec<String> = generated.iter().map(|r| r.uuid.clone()).collect();
        for chunk in uuids.chunks(INSERT_CHUNK) {
            ids_by_uuid.extend(
                users::table
                    .filter(users::uuid.eq_any(chunk))
                    .select((users::uuid, users::id))
                    .load::<(String, i64)>(conn)?,
            );
        }
        let mut ids = Vec::with_capacity(accounts.len());
        let mut links = Vec::new();
        for a in accounts {
            let id = match a.id {
                Some(id) => id.get(),
                None => ids_by_uuid
                    .get(&a.user.uuid.to_string())
                    .copied()
                    .ok_or(DieselError::NotFound)?,
            };
            links.extend(link_rows(a, id));
            ids.push(id);
        }
        for chunk in links.chunks(INSERT_CHUNK) {
            insert_rows!(conn, social_identities::table, chunk);
        }
        Ok(ids)
    })
}

/// Stores one account in its own transaction; a unique violation is the
/// conflict it names (a racing writer took the key after the batch looked).
fn insert_one(
    conn: &mut AnyConnection,
    backend: crate::db::Backend,
    a: &ImportAccount,
) -> QueryResult<ImportOutcome> {
    match insert_all(conn, backend, &[a]) {
        Ok(ids) => Ok(ImportOutcome::Imported(UserId::new(
            ids.first().copied().unwrap_or_default(),
        ))),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)) => {
            let constraint = info.constraint_name().unwrap_or_default().to_owned();
            let message = info.message().to_owned();
            let conflict = match duplicate_field(info.as_ref()) {
                Some(UniqueField::LoginId) => ImportConflict::LoginId,
                Some(UniqueField::Email) => ImportConflict::Email,
                None if constraint.starts_with("social_identities")
                    || message.contains("social_identities") =>
                {
                    a.links
                        .first()
                        .map_or(ImportConflict::Social(Provider::Google), |(p, _)| {
                            ImportConflict::Social(*p)
                        })
                }
                None => ImportConflict::Id,
            };
            Ok(ImportOutcome::Conflict(conflict))
        }
        Err(e) => Err(e),
    }
}

/// One batch of an import: look up what the database holds of the batch's
/// keys, decide each account, then store the new ones in one transaction
/// (or, when a concurrent writer took a key meanwhile, one transaction per
/// account).
fn import_blocking(
    conn: &mut AnyConnection,
    backend: crate::db::Backend,
    accounts: Vec<ImportAccount>,
    dry_run: bool,
) -> QueryResult<Vec<ImportOutcome>> {
    let holders = Holders::load(conn, &accounts)?;
    let mut outcomes: Vec<Option<ImportOutcome>> = accounts.iter().map(|a| holders.decide(a)).collect();
    let new: Vec<(usize, &ImportAccount)> = accounts
        .iter()
        .enumerate()
        .filter(|(i, _)| outcomes.get(*i).is_some_and(Option::is_none))
        .collect();
    if dry_run {
        for (i, a) in &new {
            if let Some(slot) = outcomes.get_mut(*i) {
                *slot = Some(ImportOutcome::Imported(a.id.unwrap_or(UserId::new(0))));
            }
        }
    } else if !new.is_empty() {
        let refs: Vec<&ImportAccount> = new.iter().map(|(_, a)| *a).collect();
        match insert_all(conn, backend, &refs) {
            Ok(ids) => {
                for ((i, _), id) in new.iter().zip(ids) {
                    if let Some(slot) = outcomes.get_mut(*i) {
                        *slot = Some(ImportOutcome::Imported(UserId::new(id)));
                    }
                }
            }
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                for (i, a) in &new {
                    let outcome = insert_one(conn, backend, a)?;
                    if let Some(slot) = outcomes.get_mut(*i) {
                        *slot = Some(outcome);
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.ok_or(DieselError::NotFound))
        .collect()
}
