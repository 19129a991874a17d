//! How many accounts store their password with each scheme, for operators
//! watching an import's upgrade to argon2id finish
//! (`auth_accounts_by_password_scheme` on `GET /metrics`).
//!
//! One `GROUP BY` over a `CASE` on the hash's prefix, done by the database
//! (a scan of `users`, no row crosses into Rust): each group is named by a
//! representative prefix, which [`PasswordScheme::of`] classifies, so the
//! SQL cannot disagree with the rule the login's upgrade uses. `substr`
//! compares case-sensitively on both backends (SQLite's `LIKE` would not).

use auth_domain::PortError;
use auth_domain::identity::password::{PasswordHash, PasswordScheme};
use diesel::RunQueryDsl;
use diesel::sql_types::{BigInt, Nullable, Text};

use crate::db::Database;
use crate::hasher::CURRENT_ARGON2ID;

/// The prefixes the `CASE` recognises, first match wins; anything else is
/// `unknown`, a `NULL` hash `none`. Each is a prefix [`PasswordScheme::of`]
/// classifies the way it classifies every hash that starts with it.
const PREFIXES: [&str; 14] = [
    CURRENT_ARGON2ID,
    "$argon2id$",
    "$argon2i$",
    "$argon2d$",
    "$2a$",
    "$2b$",
    "$2y$",
    "$pbkdf2$",
    "$pbkdf2-sha1$",
    "$pbkdf2-sha256$",
    "$pbkdf2-sha512$",
    "$scrypt$",
    "{scrypt}$",
    // Never matched by a real prefix list entry above: the fallback's name.
    "unknown",
];

/// The query: `(prefix, count)` per group.
fn sql() -> String {
    let mut case = String::from("CASE WHEN password_hash IS NULL THEN NULL");
    for prefix in &PREFIXES[..PREFIXES.len() - 1] {
        // The prefixes are constants without quotes.
        case.push_str(&format!(
            " WHEN substr(password_hash, 1, {}) = '{prefix}' THEN '{prefix}'",
            prefix.len()
        ));
    }
    case.push_str(" ELSE 'unknown' END");
    format!("SELECT {case} AS prefix, COUNT(*) AS n FROM users GROUP BY {case}")
}

#[derive(diesel::QueryableByName)]
struct Group {
    #[diesel(sql_type = Nullable<Text>)]
    prefix: Option<String>,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The scheme a group's prefix stands for.
fn scheme_of(prefix: Option<&str>) -> PasswordScheme {
    match prefix {
        None => PasswordScheme::None,
        Some(p) => PasswordScheme::of(Some(&PasswordHash::from_phc(p.to_owned())), CURRENT_ARGON2ID),
    }
}

/// Accounts per password scheme, every scheme of [`PasswordScheme::ALL`]
/// present (0 when none), in that order.
///
/// # Errors
/// [`PortError`] when the database fails.
pub async fn accounts_by_password_scheme(db: &Database) -> Result<Vec<(PasswordScheme, i64)>, PortError> {
    let sql = sql();
    let groups = db
        .query("count accounts by password scheme", move |conn| {
            diesel::sql_query(sql).load::<Group>(conn)
        })
        .await?;
    let mut counts: Vec<(PasswordScheme, i64)> = PasswordScheme::ALL.iter().map(|s| (*s, 0)).collect();
    for group in groups {
        let scheme = scheme_of(group.prefix.as_deref());
        if let Some(entry) = counts.iter_mut().find(|(s, _)| *s == scheme) {
            entry.1 += group.n;
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_prefix_names_the_scheme_of_the_hashes_it_starts() {
        let expected = [
            PasswordScheme::Argon2id,
            PasswordScheme::Argon2idOld,
            PasswordScheme::Argon2i,
            PasswordScheme::Argon2d,
            PasswordScheme::Bcrypt,
            PasswordScheme::Bcrypt,
            PasswordScheme::Bcrypt,
            PasswordScheme::Pbkdf2Sha1,
            PasswordScheme::Pbkdf2Sha1,
            PasswordScheme::Pbkdf2Sha256,
            PasswordScheme::Pbkdf2Sha512,
            PasswordScheme::Scrypt,
            PasswordScheme::Scrypt,
            PasswordScheme::Unknown,
        ];
        for (prefix, scheme) in PREFIXES.iter().zip(expected) {
            assert_eq!(scheme_of(Some(prefix)), scheme, "{prefix}");
            // A full hash with that prefix is classified alike.
            let full = format!("{prefix}c2FsdA$aGFzaA");
            assert_eq!(scheme_of(Some(&full)), scheme, "{full}");
        }
        assert_eq!(scheme_of(None), PasswordScheme::None);
        // Every scheme an account can have is reachable.
        for scheme in PasswordScheme::ALL {
            assert!(
                scheme == PasswordScheme::None || expected.contains(&scheme),
                "{scheme} has no prefix"
            );
        }
        assert!(!sql().contains("''"), "no prefix holds a quote");
    }
}
