//! Strict configuration: what is not a setting is an error, not silence.
//!
//! The known keys are those of [`Settings`] itself (its serialized
//! defaults), so a new setting is known as soon as it is declared. A TOML
//! key or an `AUTH_*` variable that names none of them is reported with the
//! nearest valid key. Secrets may come from files (`AUTH_<KEY>_FILE`, the
//! container convention).

use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::Serializer;
use serde_json::{Map, Value};

use super::{Settings, SettingsError};

/// Environment variables of the `AUTH_` prefix that are not server
/// settings: the configuration file's path, and the test suite's and
/// benchmarks' own variables.
const NOT_SETTINGS: [&str; 2] = ["AUTH_CONFIG", "AUTH_BASE_URL"];
const NOT_SETTINGS_PREFIXES: [&str; 4] = ["AUTH_TEST_", "AUTH_FUZZ_", "AUTH_BENCH_", "AUTH_QA_"];

/// Serializes a secret as `"<redacted>"` (or `null` when unset).
///
/// # Errors
/// The serializer's.
pub fn redacted<S: Serializer>(secret: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(_) => s.serialize_str("<redacted>"),
        None => s.serialize_none(),
    }
}

/// Serializes a database URL with its password removed.
///
/// # Errors
/// The serializer's.
pub fn database_url<S: Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&auth_infra::redact_database_url(url))
}

/// The dotted paths of every known key (`bind`, `contracts.picsel.prefix`).
fn known_keys() -> Vec<String> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<String>) {
        if let Value::Object(map) = value {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if v.is_object() {
                    walk(&path, v, out);
                }
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        "",
        &serde_json::to_value(Settings::default()).unwrap_or(Value::Null),
        &mut out,
    );
    out
}

/// The known key nearest to `key`, when it is plausibly a typo.
fn nearest<'a>(key: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(key, k), k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

fn unknown(what: &str, key: &str, known: &[String]) -> String {
    match nearest(key, known) {
        Some(near) => format!("unknown {what} `{key}` (did you mean `{near}`?)"),
        None => format!("unknown {what} `{key}`"),
    }
}

/// The dotted keys of a parsed TOML document.
fn toml_keys(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if let toml::Value::Table(t) = v {
            toml_keys(&path, t, out);
        }
        out.push(path);
    }
}

/// The setting an `AUTH_*` variable names, as figment reads it.
fn env_key(var: &str) -> Option<String> {
    let rest = var.strip_prefix("AUTH_")?;
    Some(rest.to_lowercase().replace("__", "."))
}

/// The configuration file `env` names (`AUTH_CONFIG`), or `./auth.toml`
/// when it exists: the file [`load`] reads.
pub fn config_file(env: &[(String, String)]) -> Option<PathBuf> {
    match env.iter().find(|(k, _)| k == "AUTH_CONFIG") {
        Some((_, path)) => Some(PathBuf::from(path)),
        None => Some(PathBuf::from("auth.toml")).filter(|p| p.is_file()),
    }
}

/// Loads settings from the defaults, the TOML file, `env` and secret files,
/// strictly (see [`Settings::load_strict`]). Returns the settings and the
/// warnings about environment variables that name no setting.
///
/// # Errors
/// [`SettingsError`] naming the key.
pub fn load(env: &[(String, String)]) -> Result<(Settings, Vec<String>), SettingsError> {
    let known = known_keys();
    let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let file = match var("AUTH_CONFIG") {
        Some(path) => {
            let path = PathBuf::from(path);
            if !path.is_file() {
                return Err(SettingsError(format!(
                    "AUTH_CONFIG names {}, which does not exist or is not a file",
                    path.display()
                )));
            }
            Some(path)
        }
        None => Some(PathBuf::from("auth.toml")).filter(|p| p.is_file()),
    };
    if let Some(path) = &file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SettingsError(format!("cannot read {}: {e}", path.display())))?;
        let table: toml::Table = text
            .parse()
            .map_err(|e| SettingsError(format!("{} is not valid TOML: {e}", path.display())))?;
        let mut keys = Vec::new();
        toml_keys("", &table, &mut keys);
        let bad: Vec<String> = keys
            .iter()
            .filter(|k| !known.contains(k))
            .map(|k| unknown("key", k, &known))
            .collect();
        if !bad.is_empty() {
            return Err(SettingsError(format!("{}: {}", path.display(), bad.join("; "))));
        }
    }
    // Secrets from files: `AUTH_<KEY>_FILE` holds the path of a file whose
    // content (without a final newline) is the value of `<key>`.
    let mut from_files = Vec::new();
    let mut from_env = Vec::new();
    let mut warnings = Vec::new();
    for (name, value) in env {
        if NOT_SETTINGS.contains(&name.as_str()) || NOT_SETTINGS_PREFIXES.iter().any(|p| name.starts_with(p))
        {
            continue;
        }
        let Some(key) = env_key(name) else { continue };
        if let Some(base) = key.strip_suffix("_file").filter(|b| known.iter().any(|k| k == b)) {
            let direct = format!("AUTH_{}", base.to_uppercase().replace('.', "__"));
            if var(&direct).is_some() {
                return Err(SettingsError(format!(
                    "{direct} and {name} are both set: set one"
                )));
            }
            let content = std::fs::read_to_string(value)
                .map_err(|e| SettingsError(format!("{name}: cannot read {value}: {e}")))?;
            from_files.push((base.to_owned(), content.trim_end_matches(['\n', '\r']).to_owned()));
        } else if known.contains(&key) {
            // Parsed the way figment's `Env` provider parses values.
            let parsed = value
                .parse::<figment::value::Value>()
                .unwrap_or_else(|_| figment::value::Value::from(value.clone()));
            from_env.push((key, parsed));
        } else {
            warnings.push(format!("{name}: {}", unknown("setting", &key, &known)));
        }
    }
    let mut figment = Figment::new();
    if let Some(path) = file {
        figment = figment.merge(Toml::file(path));
    }
    for (key, value) in from_env {
        figment = figment.merge(Serialized::default(&key, value));
    }
    for (key, value) in from_files {
        figment = figment.merge(Serialized::default(&key, value));
    }
    // Every wrong value at once: the values that do not parse, and those
    // that parse but are out of range (a section that did not parse is
    // checked as its defaults, which pass).
    let (settings, errors) = Settings::read_figment(&figment);
    let mut problems: Vec<SettingsError> = errors
        .into_iter()
        .map(|e| SettingsError(describe_error(&e)))
        .collect();
    problems.extend(settings.problems());
    SettingsError::all(problems)?;
    Ok((settings, warnings))
}

/// Keys whose values are never echoed in an error.
fn is_secret(key: &str) -> bool {
    key == "jwt_secret"
        || key == "admin_token"
        || key == "smtp_url"
        || key == "database_url"
        || key.ends_with("_secret")
}

/// One of figment's errors as "`key` (AUTH_KEY): what is wrong" (the value
/// of a secret left out).
fn describe_error(e: &figment::Error) -> String {
    let key = e.path.join(".");
    if key.is_empty() {
        return e.kind.to_string();
    }
    let what = if is_secret(&key) {
        "must be a string".to_owned()
    } else {
        plain_types(&e.kind.to_string())
    };
    format!("`{key}` ({}): {what}", super::env_name(&key))
}

/// serde's type names as an operator reads them (`expected i64` →
/// `expected an integer`).
fn plain_types(message: &str) -> String {
    let mut out = message.to_owned();
    for (rust, plain) in [
        ("expected i64", "expected an integer"),
        ("expected i32", "expected an integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected u32", "expected a non-negative integer"),
        ("expected u8", "expected a non-negative integer"),
        ("expected usize", "expected a non-negative integer"),
        ("expected a boolean", "expected `true` or `false`"),
    ] {
        if out.ends_with(rust) {
            out = format!("{}{plain}", &out[..out.len() - rust.len()]);
        }
    }
    out
}

/// The effective configuration as pretty JSON, secrets redacted (for
/// `auth-server config check`).
pub fn describe(settings: &Settings) -> String {
    let value = serde_json::to_value(settings).unwrap_or(Value::Null);
    serde_json::to_string_pretty(&sorted(value)).unwrap_or_default()
}

fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted(v)))
                    .collect::<Map<_, _>>(),
            )
        }
        other => other,
    }
}

/// Whether a secret is set (for tests and `config check`).
pub fn is_set(secret: &Option<SecretString>) -> bool {
    secret.as_ref().is_some_and(|s| !s.expose_secret().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn temp(name: &str, content: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("auth-settings-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    fn error(env_pairs: &[(&str, &str)]) -> String {
        load(&env(env_pairs)).map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn known_keys_cover_nested_and_flattened_settings() {
        let known = known_keys();
        for key in [
            "bind",
            "contracts.picsel.prefix",
            "public_url",
            "oauth_google_client_secret",
            "admin_token",
        ] {
            assert!(known.iter().any(|k| k == key), "{key}");
        }
    }

    #[test]
    fn unknown_toml_keys_are_refused_with_the_nearest_one() {
        let path = temp(
            "auth.toml",
            "acess_ttl_seconds = 60\n[contracts.standrad]\nenabled = false\n",
        );
        let err = error(&[("AUTH_CONFIG", path.to_str().unwrap())]);
        assert!(
            err.contains("`acess_ttl_seconds` (did you mean `access_ttl_seconds`?)"),
            "{err}"
        );
        assert!(err.contains("`contracts.standrad`"), "{err}");
        assert!(err.contains("contracts.standard"), "{err}");
    }

    #[test]
    fn a_missing_config_file_is_refused() {
        let err = error(&[("AUTH_CONFIG", "/nonexistent/auth.toml")]);
        assert!(
            err.contains("AUTH_CONFIG") && err.contains("/nonexistent/auth.toml"),
            "{err}"
        );
    }

    #[test]
    fn a_valid_file_and_environment_load() {
        let path = temp(
            "auth.toml",
            "access_ttl_seconds = 60\n[contracts.picsel]\nprefix = \"/p\"\n",
        );
        let (s, warnings) = load(&env(&[
            ("AUTH_CONFIG", path.to_str().unwrap()),
            ("AUTH_REFRESH_TTL_SECONDS", "120"),
            ("AUTH_CONTRACTS__CHAT__ENABLED", "false"),
            ("AUTH_TEST_POSTGRES_URL", "postgres://x"),
        ]))
        .unwrap();
        assert_eq!(
            (
                s.tokens.access_ttl.num_seconds(),
                s.tokens.refresh_ttl.num_seconds()
            ),
            (60, 120)
        );
        assert_eq!(s.contracts.picsel.prefix, "/p");
        assert!(!s.contracts.chat.enabled);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn unknown_environment_variables_are_warned_about_by_name() {
        let (_, warnings) = load(&env(&[
            ("AUTH_ACESS_TTL_SECONDS", "60"),
            ("AUTH_BIND", "127.0.0.1:0"),
        ]))
        .unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("AUTH_ACESS_TTL_SECONDS"), "{warnings:?}");
        assert!(warnings[0].contains("access_ttl_seconds"), "{warnings:?}");
    }

    #[test]
    fn secrets_come_from_files_and_never_twice() {
        let token = "0123456789abcdef0123456789abcdef-admin";
        let path = temp("admin", &format!("{token}\n"));
        let (s, _) = load(&env(&[("AUTH_ADMIN_TOKEN_FILE", path.to_str().unwrap())])).unwrap();
        assert_eq!(s.http.admin_token.as_ref().unwrap().expose_secret(), token);
        let err = error(&[
            ("AUTH_ADMIN_TOKEN_FILE", path.to_str().unwrap()),
            ("AUTH_ADMIN_TOKEN", token),
        ]);
        assert!(err.contains("both set"), "{err}");
        let err = error(&[("AUTH_JWT_SECRET_FILE", "/nonexistent/secret")]);
        assert!(err.contains("AUTH_JWT_SECRET_FILE"), "{err}");
    }

    #[test]
    fn the_description_redacts_secrets() {
        let s = Settings {
            http: super::super::HttpSettings {
                admin_token: Some("0123456789abcdef0123456789abcdef".into()),
                ..super::super::HttpSettings::default()
            },
            database: super::super::DatabaseSettings {
                url: "postgres://auth:hunter2@db/auth".into(),
                ..super::super::DatabaseSettings::default()
            },
            ..Settings::default()
        };
        let text = describe(&s);
        assert!(text.contains("<redacted>"), "{text}");
        assert!(
            !text.contains("0123456789abcdef") && !text.contains("hunter2"),
            "{text}"
        );
        assert!(is_set(&s.http.admin_token));
    }

    /// Issue 33.8: every wrong value in one run, one per line in key order:
    /// values that do not parse and values out of range, in several
    /// sections.
    /// The back-channel and feed settings: a blank value (an unset
    /// template variable) or one out of range is refused, naming it.
    #[test]
    fn blank_or_out_of_range_signal_settings_are_refused() {
        for (var, value, problem) in [
            ("AUTH_BACKCHANNEL_TIMEOUT_SECONDS", "", "invalid type"),
            ("AUTH_BACKCHANNEL_TIMEOUT_SECONDS", "0", "between 1 and"),
            ("AUTH_BACKCHANNEL_CONCURRENCY", "", "invalid type"),
            ("AUTH_BACKCHANNEL_CONCURRENCY", "0", "between 1 and 4096"),
            ("AUTH_BACKCHANNEL_CONCURRENCY", "5000", "between 1 and 4096"),
            ("AUTH_BACKCHANNEL_MAX_BACKOFF_SECONDS", "0", "between 1 and"),
            ("AUTH_BACKCHANNEL_RETRY_SECONDS", "", "invalid type"),
            ("AUTH_SSF_RETENTION_SECONDS", "59", "between 60 and"),
            ("AUTH_SSF_POLL_WAIT_SECONDS", "301", "between 0 and 300"),
            ("AUTH_SSF_POLL_WAIT_SECONDS", " ", "invalid type"),
        ] {
            let err = error(&[(var, value)]);
            assert!(
                err.contains(var) && err.contains(problem),
                "{var}={value:?}: {err}"
            );
        }
    }

    #[test]
    fn every_wrong_value_is_reported_at_once() {
        let err = error(&[
            ("AUTH_DATABASE_POOL_SIZE", "0"),
            ("AUTH_ACCESS_TTL_SECONDS", "-5"),
            ("AUTH_LOG_FORMAT", "jsn"),
            ("AUTH_BIND", "localhost"),
        ]);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines[0], "invalid configuration: 4 problems:", "{err}");
        let keys: Vec<&str> = lines[1..]
            .iter()
            .map(|l| l.trim().split(' ').next().unwrap_or(""))
            .collect();
        assert_eq!(
            keys,
            [
                "`access_ttl_seconds`",
                "`bind`",
                "`database_pool_size`",
                "`log_format`"
            ],
            "{err}"
        );
        assert!(
            err.contains("`database_pool_size` (AUTH_DATABASE_POOL_SIZE): must be at least 1"),
            "{err}"
        );
        // One wrong value reads as before.
        let one = error(&[("AUTH_DATABASE_POOL_SIZE", "0")]);
        assert_eq!(
            one,
            "invalid configuration: `database_pool_size` (AUTH_DATABASE_POOL_SIZE): must be at least 1"
        );
    }
}
