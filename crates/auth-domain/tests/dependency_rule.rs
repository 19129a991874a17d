//! Architecture invariant: `auth-domain` depends on no I/O or framework
//! crate. Other Rust services embed it; the adapters live in `auth-infra`.

const FORBIDDEN: &[&str] = &[
    "actix",
    "diesel",
    "lettre",
    "oauth2",
    "jsonwebtoken",
    "argon2",
    "reqwest",
    "tokio",
    "hyper",
    "sqlx",
    "rand",
    "tracing",
    "serde_json",
    "mailin",
    // Metrics are recorded by handlers and adapters, never by the domain.
    "metrics",
];

#[test]
fn domain_depends_on_no_io_crate() {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap_or_default();
    assert!(manifest.contains("[dependencies]"), "manifest not read");
    // Only the [dependencies] table counts; dev-dependencies may use a runtime.
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .unwrap_or_default();
    let names: Vec<&str> = deps
        .lines()
        .filter_map(|l| l.split(['=', '.']).next())
        .map(str::trim)
        .filter(|n| !n.is_empty() && !n.starts_with('#'))
        .collect();
    assert!(
        names.contains(&"async-trait"),
        "parsed no dependency names: {names:?}"
    );
    for name in names {
        for bad in FORBIDDEN {
            assert!(!name.contains(bad), "auth-domain must not depend on `{name}`");
        }
    }
}
