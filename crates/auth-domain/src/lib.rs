//! The identity core of the auth service.
//!
//! This crate holds everything the service *decides*: users and their
//! validated fields, sessions and refresh-token rotation, token claims,
//! password policy, the use cases that combine them ([`service::AuthService`]),
//! and the ports ([`ports`]) through which the outside world is reached.
//!
//! Architecture invariant: this crate depends on no I/O crate (no actix,
//! diesel, lettre, oauth2, jsonwebtoken, argon2, reqwest, tokio). Time and
//! randomness come through the [`ports::Clock`] and [`ports::Random`] ports,
//! so every expiry rule is testable without sleeping. The invariant is checked
//! by `tests/dependency_rule.rs` in this crate.
//!
//! Other Rust services can depend on this crate to reuse the validated types
//! ([`user::Email`], [`user::LoginId`]) and the token claims.

pub mod audit;
pub mod chat;
pub mod error;
pub mod events;
pub mod housekeeping;
pub mod import;
pub mod password;
pub mod policy;
pub mod ports;
pub mod service;
pub mod session;
pub mod social;
pub mod throttle;
pub mod token;
pub mod user;
pub mod verification;

pub use error::PortError;
pub use policy::AuthPolicy;
pub use service::{AuthService, Ports};
