//! The actix-web application that serves the five auth contracts.
//!
//! Each contract lives in its own module under [`contracts`]: it parses
//! requests, calls one use case of [`auth_domain::AuthService`], and renders
//! its own envelope. [`routes`] mounts the enabled contracts, resolves the
//! one known path collision (`picsel`/`standard` login and logout) and
//! refuses any other. The internal admin API lives in [`admin`], one
//! module per resource; the OpenID provider's endpoints and hosted pages
//! in [`provider`]. [`startup::Application`] wires the adapters from
//! [`settings::Settings`] and binds the listener.

pub mod admin;
pub mod body;
pub mod cli;
pub mod client_ip;
pub mod contracts;
pub mod health;
pub mod me;
pub mod metrics;
pub mod mfa;
pub mod oidc;
pub mod openapi;
pub mod provider;
pub mod rate_limit;
pub mod routes;
pub mod settings;
pub mod ssf;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod web;

pub use settings::Settings;
pub use startup::{Application, StartupError};
