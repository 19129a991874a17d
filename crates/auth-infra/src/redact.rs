//! Keeping database passwords out of logs and error messages.

/// Returns `url` with any password replaced by `***`, for logging.
///
/// Handles the userinfo of URLs (`postgres://user:secret@host/db`), a
/// `password=` query parameter (`?password=secret`), and libpq key/value
/// strings (`host=h password=secret`). Other parts are kept.
///
/// ```
/// use auth_infra::redact_database_url;
/// assert_eq!(
///     redact_database_url("postgres://app:s3cr3t@db:5432/auth?sslmode=require"),
///     "postgres://app:***@db:5432/auth?sslmode=require"
/// );
/// ```
pub fn redact_database_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return redact_key_values(url, ' ');
    };
    let (scheme, rest) = url.split_at(scheme_end + 3);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = authority.split_at(at);
            match userinfo.split_once(':') {
                Some((user, _password)) => format!("{user}:***{host}"),
                None => authority.to_owned(),
            }
        }
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => format!("{path}?{}", redact_key_values(query, '&')),
        None => tail.to_owned(),
    };
    format!("{scheme}{authority}{tail}")
}

/// Replaces the values of `password=` pairs in a `sep`-separated list.
fn redact_key_values(s: &str, sep: char) -> String {
    s.split(sep)
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.trim().eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(&sep.to_string())
}

/// The password in `url`, if it has one (raw, as written in the URL).
fn password_of(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        if let Some(at) = authority.rfind('@')
            && let Some((_, pw)) = authority[..at].split_once(':')
        {
            found.push(pw.to_owned());
        }
    }
    for pair in url.split(['&', '?', ' ']) {
        if let Some((key, value)) = pair.split_once('=')
            && key.trim().eq_ignore_ascii_case("password")
        {
            found.push(value.to_owned());
        }
    }
    found.retain(|p| !p.is_empty());
    found
}

/// Removes the password of `url` from a driver's error message (libpq may
/// echo parts of a malformed URL).
pub(crate) fn scrub_secret(message: &str, url: &str) -> String {
    let mut out = message.to_owned();
    for pw in password_of(url) {
        out = out.replace(&pw, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_passwords() {
        assert_eq!(
            redact_database_url("postgres://app:s3cr3t@db:5432/auth"),
            "postgres://app:***@db:5432/auth"
        );
        assert_eq!(
            redact_database_url("postgresql://app:p%40ss@db/auth?password=x&sslmode=require"),
            "postgresql://app:***@db/auth?password=***&sslmode=require"
        );
        assert_eq!(
            redact_database_url("postgres://app@db/auth"),
            "postgres://app@db/auth"
        );
        assert_eq!(redact_database_url("postgres://db"), "postgres://db");
        assert_eq!(
            redact_database_url("sqlite://data/auth.db"),
            "sqlite://data/auth.db"
        );
        assert_eq!(
            redact_database_url("host=db password=secret user=app"),
            "host=db password=*** user=app"
        );
        // An '@' inside the password is split at the last '@'.
        assert_eq!(
            redact_database_url("postgres://u:a@b@h/d"),
            "postgres://u:***@h/d"
        );
    }

    #[test]
    fn scrubs_messages() {
        let msg = "invalid percent-encoded token: \"s3cr%zz\"";
        assert_eq!(
            scrub_secret(msg, "postgres://u:s3cr%zz@h/d"),
            "invalid percent-encoded token: \"***\""
        );
        assert_eq!(scrub_secret("no secret", "postgres://h/d"), "no secret");
    }
}
