//! Logging set-up. Request bodies are never logged; see `docs/security.md`
//! for what is.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (call once, from `main`). `format` is
/// `text` or `json`; the filter comes from `RUST_LOG` (default `info`).
pub fn init(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    // `try_init` fails only when a subscriber is already installed (tests);
    // keeping the existing one is right then.
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
