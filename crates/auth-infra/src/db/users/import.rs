//! The bulk import of accounts (`auth-server users import`, `POST
//! /internal/users/import`): one batch's keys looked up at once, decided,
//! then stored in one transaction (or one per account after a race).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::duplicate_field;
use crate::db::schema::{social_identities, users};
use crate::db::{AnyConnection, to_db_time};
use auth_domain::identity::user::{UniqueField, UserId};
use auth_domain::import::{ImportAccount, ImportConflict, ImportOutcome};
use auth_domain::social::Provider;

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
pub(super) fn import_blocking(
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
