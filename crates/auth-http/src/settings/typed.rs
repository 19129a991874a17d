//! Settings that are not free text: enums, addresses, CIDR lists, contract
//! names, origins. Each is checked while the configuration is parsed, so a
//! mistake stops the start (and fails `auth-server config check`) with the
//! key and what would be valid, never later at first use.
//!
//! Enums are serde enums. Fields that the code and the test suite build as
//! text (`bind`, `trusted_proxies`, `cors_allowed_origins`,
//! `single_session_contracts`) stay `String`s in [`super::Settings`] but
//! are parsed by a checking deserializer here and read through typed
//! accessors ([`super::Settings::bind_addr`],
//! [`super::Settings::trusted_proxy_networks`]); [`super::Settings::validate`]
//! applies the same checks to settings built in code.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// `log_format` (`AUTH_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for collectors.
    Json,
}

impl LogFormat {
    /// The setting's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `event_bus` (`AUTH_EVENT_BUS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventBusKind {
    /// PostgreSQL `LISTEN/NOTIFY` on PostgreSQL, in-process on SQLite.
    #[default]
    Auto,
    /// In-process only (one instance).
    Local,
    /// PostgreSQL `LISTEN/NOTIFY` (needs a PostgreSQL database).
    Postgres,
}

impl EventBusKind {
    /// The setting's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Local => "local",
            Self::Postgres => "postgres",
        }
    }
}

impl fmt::Display for EventBusKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a listen address looks like, for messages.
pub const SOCKET_ADDR_FORM: &str =
    "an IP address and port, e.g. `0.0.0.0:8080`, `127.0.0.1:9100` or `[::]:8080`";

/// What a trusted-proxy list looks like, for messages.
pub const CIDR_LIST_FORM: &str =
    "comma-separated IP addresses or CIDR networks, e.g. `10.0.0.0/8, 192.168.1.1, ::1`";

/// What an origin list looks like, for messages.
pub const ORIGINS_FORM: &str =
    "comma-separated origins `scheme://host[:port]` (http or https, no path), e.g. `https://app.example.com`";

/// The contracts a session policy can name.
pub const CONTRACT_NAMES: [&str; 5] = ["standard", "session", "picsel", "account", "chat"];

/// A listen address.
///
/// # Errors
/// What would be valid.
pub fn socket_addr(raw: &str) -> Result<SocketAddr, String> {
    raw.trim()
        .parse()
        .map_err(|_| format!("`{raw}` is not {SOCKET_ADDR_FORM}"))
}

/// A comma-separated list of IP addresses (one host each) and CIDR
/// networks; blank entries are skipped.
///
/// # Errors
/// The first bad entry and what would be valid.
pub fn cidr_list(raw: &str) -> Result<Vec<IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!("`{entry}` is not an IP address or CIDR network; expected {CIDR_LIST_FORM}")
                })
        })
        .collect()
}

/// A comma-separated list of exact origins; blank entries are skipped.
///
/// # Errors
/// The first bad entry and what would be valid.
pub fn origins(raw: &str) -> Result<Vec<String>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let valid = host.is_some_and(|h| !h.is_empty() && !h.contains(['/', '?', '#', ' ']));
            if valid {
                Ok(origin.to_owned())
            } else {
                Err(format!("`{origin}` is not an origin; expected {ORIGINS_FORM}"))
            }
        })
        .collect()
}

/// A comma-separated list of contract names; blank entries are skipped.
///
/// # Errors
/// The first unknown name and the valid ones.
pub fn contract_names(raw: &str) -> Result<Vec<String>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|name| {
            if CONTRACT_NAMES.contains(&name) {
                Ok(name.to_owned())
            } else {
                Err(format!(
                    "`{name}` is not a contract; expected a comma-separated list of {} (or empty)",
                    quoted(&CONTRACT_NAMES)
                ))
            }
        })
        .collect()
}

/// `a`, `b` or `c`.
pub fn quoted(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// A string checked by `check` while it is deserialized; anything but a
/// string is refused with `form` as what was expected.
struct Checked {
    form: &'static str,
    check: fn(&str) -> Result<(), String>,
}

impl Visitor<'_> for Checked {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.form)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        (self.check)(v).map_err(E::custom)?;
        Ok(v.to_owned())
    }
}

fn checked<'de, D: Deserializer<'de>>(
    d: D,
    form: &'static str,
    check: fn(&str) -> Result<(), String>,
) -> Result<String, D::Error> {
    d.deserialize_str(Checked { form, check })
}

/// `bind`: a listen address, kept as text.
///
/// # Errors
/// The deserializer's, or what would be valid.
pub fn de_socket_addr<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, SOCKET_ADDR_FORM, |raw| socket_addr(raw).map(drop))
}

/// `trusted_proxies`: a CIDR list, kept as text.
///
/// # Errors
/// The deserializer's, or what would be valid.
pub fn de_cidr_list<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, CIDR_LIST_FORM, |raw| cidr_list(raw).map(drop))
}

/// `cors_allowed_origins`: an origin list, kept as text.
///
/// # Errors
/// The deserializer's, or what would be valid.
pub fn de_origins<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, ORIGINS_FORM, |raw| origins(raw).map(drop))
}

/// `single_session_contracts`: contract names, kept as text.
///
/// # Errors
/// The deserializer's, or what would be valid.
pub fn de_contract_names<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, "a comma-separated list of contract names", |raw| {
        contract_names(raw).map(drop)
    })
}

/// `metrics_bind`: blank (or unset) for none, else a listen address.
///
/// # Errors
/// The deserializer's, or what would be valid.
pub fn de_optional_socket_addr<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let raw = Option::<String>::deserialize(d)?;
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => socket_addr(text)
            .map(Some)
            .map_err(|e| de::Error::custom(format!("{e}, or empty for none"))),
    }
}

/// Serializes an optional address as text (`""` for none, so the key stays
/// known to the strict loader).
///
/// # Errors
/// The serializer's.
pub fn ser_optional_socket_addr<S: serde::Serializer>(
    addr: &Option<SocketAddr>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match addr {
        Some(addr) => s.collect_str(addr),
        None => s.serialize_str(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_addresses_parse_or_say_what_is_valid() {
        assert_eq!(socket_addr("0.0.0.0:8080").unwrap().port(), 8080);
        assert_eq!(socket_addr("[::1]:0").unwrap().port(), 0);
        for bad in ["localhost", "8080", "0.0.0.0", "1.2.3.4:99999", "x:1"] {
            let err = socket_addr(bad).unwrap_err();
            assert!(err.contains(bad) && err.contains("0.0.0.0:8080"), "{err}");
        }
        let nets = cidr_list("10.0.0.0/8, 192.168.1.1 ,::1,").unwrap();
        assert_eq!(nets.len(), 3);
        assert_eq!(nets[1].prefix_len(), 32);
        assert!(cidr_list("").unwrap().is_empty());
        for bad in ["10.0.0.0/33", "nope", "10.0.0.1, 300.1.1.1"] {
            assert!(cidr_list(bad).unwrap_err().contains("CIDR"), "{bad}");
        }
        assert_eq!(contract_names("session, picsel").unwrap().len(), 2);
        let err = contract_names("sesion").unwrap_err();
        assert!(err.contains("`sesion`") && err.contains("`session`"), "{err}");
        assert!(origins("https://a.example, http://b.example:3000").is_ok());
        assert!(origins("https://a.example/path").is_err());
        assert_eq!(quoted(&["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
