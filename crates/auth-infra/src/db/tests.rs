//! Unit tests of `db`.

use super::*;

#[test]
fn urls_pick_the_backend() {
    assert!(
        matches!(Target::parse("sqlite://data/auth.db"), Ok(Target::Sqlite { path }) if path == "data/auth.db")
    );
    assert!(
        matches!(Target::parse("sqlite:///abs/auth.db"), Ok(Target::Sqlite { path }) if path == "/abs/auth.db")
    );
    assert!(matches!(
        Target::parse("postgres://u:p@h/db"),
        Ok(Target::Postgres { .. })
    ));
    assert!(matches!(
        Target::parse("postgresql://h/db"),
        Ok(Target::Postgres { .. })
    ));
    assert!(matches!(
        Target::parse("sqlite::memory:"),
        Err(DbError::InMemorySqlite)
    ));
    assert!(matches!(
        Target::parse("sqlite://"),
        Err(DbError::UnsupportedUrl(_))
    ));
    match Target::parse("mysql://u:hunter2@h/db") {
        Err(e @ DbError::UnsupportedUrl(_)) => assert!(!e.to_string().contains("hunter2")),
        _ => panic!("mysql accepted"),
    }
}

#[test]
fn postgres_urls_get_a_connect_timeout() {
    let url = |raw| match Target::parse(raw) {
        Ok(Target::Postgres { url }) => url,
        _ => panic!("not postgres"),
    };
    assert_eq!(url("postgres://h/db"), "postgres://h/db?connect_timeout=5");
    assert_eq!(
        url("postgres://h/db?sslmode=require"),
        "postgres://h/db?sslmode=require&connect_timeout=5"
    );
    assert_eq!(
        url("postgres://h/db?connect_timeout=2"),
        "postgres://h/db?connect_timeout=2"
    );
}

#[test]
fn times_are_truncated_to_microseconds() {
    let t = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
    assert_eq!(to_db_time(t).and_utc().timestamp_subsec_nanos(), 123_456_000);
    assert_eq!(from_db_time(to_db_time(t)), t.trunc_subsecs(6));
}
