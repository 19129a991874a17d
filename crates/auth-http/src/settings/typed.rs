//! Settings that are not free text: enums, addresses, CIDR lists, contract
//! names, origins. Each is checked while the configuration is parsed, so a
//! mistake stops the start (and fails `auth-server config check`) with the
//! key and what would be valid, never later at first use.
//!
//! Enums are serde enums. Addresses, CIDR lists, origins, contract names
//! and durations are parsed here once, when the configuration is read,
//! into their types ([`SocketAddr`], [`IpNet`] lists, `Vec<String>`,
//! [`std::time::Duration`], [`chrono::TimeDelta`]), and written back as
//! the text they are read from (for `auth-server config check`).

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

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

/// A string parsed by `parse` while it is deserialized; anything but a
/// string is refused with `form` as what was expected.
struct Parsed<T> {
    form: &'static str,
    parse: fn(&str) -> Result<T, String>,
}

impl<T> Visitor<'_> for Parsed<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.form)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).map_err(E::custom)
    }
}

fn parsed<'de, D: Deserializer<'de>, T>(
    d: D,
    form: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, D::Error> {
    d.deserialize_str(Parsed { form, parse })
}

/// `bind`: a listen address.
///
/// # Errors
/// The deserializer's, or what would be valid.
pub fn de_socket_addr<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    parsed(d, SOCKET_ADDR_FORM, socket_addr)
}

/// `trusted_proxies`, `rate_limit_exempt`: a CIDR list.
///
/// # Errors
/// The deserializer's, or what would be valid.
pub fn de_cidr_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    parsed(d, CIDR_LIST_FORM, cidr_list)
}

/// `cors_allowed_origins`: an origin list.
///
/// # Errors
/// The deserializer's, or what would be valid.
pub fn de_origins<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    parsed(d, ORIGINS_FORM, origins)
}

/// `single_session_contracts`: contract names.
///
/// # Errors
/// The deserializer's, or what would be valid.
pub fn de_contract_names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    parsed(d, "a comma-separated list of contract names", contract_names)
}

/// Serializes a list as the comma-separated text it is read from
/// (`a, b`; `""` for none).
///
/// # Errors
/// The serializer's.
pub fn ser_list<S: Serializer, T: fmt::Display>(items: &[T], s: S) -> Result<S::Ok, S::Error> {
    let text: Vec<String> = items.iter().map(ToString::to_string).collect();
    s.serialize_str(&text.join(", "))
}

/// Serializes a CIDR list as the text it is read from: a network of one
/// host as the bare address (`192.168.1.1`, `::1`), others as CIDR.
///
/// # Errors
/// The serializer's.
pub fn ser_cidr_list<S: Serializer>(nets: &[IpNet], s: S) -> Result<S::Ok, S::Error> {
    let text: Vec<String> = nets
        .iter()
        .map(|net| {
            if net.prefix_len() == net.max_prefix_len() {
                net.addr().to_string()
            } else {
                net.to_string()
            }
        })
        .collect();
    s.serialize_str(&text.join(", "))
}

/// Serializes an address as text.
///
/// # Errors
/// The serializer's.
pub fn ser_socket_addr<S: Serializer>(addr: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(addr)
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
pub fn ser_optional_socket_addr<S: Serializer>(addr: &Option<SocketAddr>, s: S) -> Result<S::Ok, S::Error> {
    match addr {
        Some(addr) => s.collect_str(addr),
        None => s.serialize_str(""),
    }
}

/// A `*_seconds` setting read as a [`Duration`] (a non-negative integer
/// of seconds, written back as one).
pub mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Reads a count of seconds.
    ///
    /// # Errors
    /// The deserializer's (`expected u64`).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }

    /// Writes the whole seconds.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(value.as_secs())
    }
}

/// A signed `*_seconds` setting read as a [`chrono::TimeDelta`] (an integer
/// of seconds, written back as one); its range is checked by the
/// section's `validate`, so a negative value is read, then refused by
/// name.
pub mod delta_seconds {
    use chrono::TimeDelta;
    use serde::{Deserialize, Deserializer, Serializer, de};

    /// Reads a count of seconds.
    ///
    /// # Errors
    /// The deserializer's (`expected i64`), or a count beyond what a
    /// duration holds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TimeDelta, D::Error> {
        let value = i64::deserialize(d)?;
        TimeDelta::try_seconds(value).ok_or_else(|| {
            de::Error::custom(format!(
                "must be a number of seconds of at most {} (ten years), got {value}",
                super::super::MAX_SECONDS
            ))
        })
    }

    /// Writes the whole seconds.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(value: &TimeDelta, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(value.num_seconds())
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
