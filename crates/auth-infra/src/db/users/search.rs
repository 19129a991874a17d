//! The admin user search: a substring of the login id, email or name,
//! served by trigram indexes on both backends (issue 18).

use diesel::prelude::*;

use super::UserRow;
use crate::db::schema::users;
use crate::db::{AnyConnection, Backend};
use auth_domain::identity::user::UserId;

/// How a search query is matched (issue 18: through an index wherever
/// one can serve it).
#[derive(Debug)]
pub(super) enum SearchFilter {
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
    pub(super) fn new(backend: Backend, query: &str) -> Self {
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
pub(super) fn search_blocking(
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
