//! The identity core of the auth service.
//!
//! This crate holds everything the service *decides*: users and their
//! validated fields, sessions and refresh-token rotation, token claims,
//! password policy, the use cases that combine them (one service per area,
//! bundled in [`service::AuthService`]), and the ports ([`ports`]) through
//! which the outside world is reached.
//!
//! Architecture invariant: this crate depends on no I/O crate (no actix,
//! diesel, lettre, oauth2, jsonwebtoken, argon2, reqwest, tokio). Time and
//! randomness come through the [`ports::Clock`] and [`ports::Random`] ports,
//! so every expiry rule is testable without sleeping. The invariant is checked
//! by `tests/dependency_rule.rs` in this crate.
//!
//! Other Rust services can depend on this crate to reuse the validated types
//! ([`identity::user::Email`], [`identity::user::LoginId`]) and the token claims.

#![warn(missing_docs)]
#![warn(clippy::disallowed_methods)]

pub mod admin;
pub mod audit;
pub mod caller;
pub mod chat;
mod conversions;
pub mod error;
pub mod factors;
pub mod housekeeping;
pub mod identity;
pub mod import;
pub mod oidc;
pub mod platform;
pub mod policy;
pub mod ports;
pub mod service;
pub mod service_core;
pub mod sessions;
pub mod social;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod verification;

// The paths from before the areas, kept so dependants compile unchanged.
pub use caller::Caller;
pub use error::PortError;
pub use policy::AuthPolicy;
pub use service::{AuthService, Ports};

/// The crate's README, whose example is compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
