//! Adapters for the `auth-domain` ports.
//!
//! - [`Database`]: an r2d2 pool of diesel connections to SQLite or
//!   PostgreSQL (picked by URL scheme), with embedded migrations.
//! - [`DieselUserRepository`], [`DieselSessionStore`]: the storage ports.
//! - [`Argon2Hasher`]: argon2id on a pool of dedicated, lower-priority
//!   threads that hand their work areas back to the OS when idle.
//! - [`JwtCodec`]: JWTs; access tokens signed by a [`KeyRing`] (ES256 by
//!   default, EdDSA, RS256, or legacy HS256), refresh tokens HS256;
//!   [`SigningKeyStore`] keeps generated key pairs in the database
//!   (sealed under a KEK when one is configured);
//!   [`load_or_create_signing_secret`] keeps a generated HMAC secret there.
//! - [`DieselAppRepository`], [`DieselChatProfiles`], [`HmacAppTokens`]:
//!   the `chat` contract's applications, profiles and app-signed tokens
//!   (secrets derived from the `apps_hmac` server key, never stored).
//! - [`DieselCodeStore`]: emailed verification codes (hashes only).
//! - [`SmtpMailer`], [`FileMailer`]: mail over SMTP, or `.eml` files.
//! - [`LocalEventBus`], [`PgEventBus`]: events to sockets, in-process or
//!   across instances with PostgreSQL `LISTEN/NOTIFY`.
//! - [`OAuth2Providers`]: social login (Google, Kakao, Naver) over the
//!   `oauth2` crate; [`DieselSocialIdentityStore`] and
//!   [`DieselLoginStateStore`]: identity links and pending flows.
//! - [`DieselAuditLog`]: the audit trail (best effort).
//! - [`DieselLoginThrottle`]: login attempt counters, shared by instances.
//! - [`DieselHousekeeping`]: the purge of expired rows.
//! - [`accounts_by_password_scheme`]: accounts per stored password scheme
//!   (for metrics).
//! - [`SystemClock`], [`OsRandom`]: time and a CSPRNG.
//!
//! Row structs stay private to this crate; only domain types cross it.

#![warn(missing_docs)]

mod apps;
mod audit;
mod codes;
pub mod db;
mod events;
mod foreign_hash;
mod hasher;
mod housekeeping;
mod jwt;
mod keys;
mod mail;
mod oauth;
mod password_schemes;
mod redact;
mod sessions;
pub mod signing;
mod signing_store;
mod social_store;
mod system;
#[cfg(feature = "test-support")]
pub mod testdb;
mod throttle;
mod users;

pub use apps::{DieselAppRepository, DieselChatProfiles, HmacAppTokens};
pub use audit::DieselAuditLog;
pub use codes::DieselCodeStore;
pub use db::{Backend, Database, DbError};
pub use events::{LocalEventBus, PgEventBus};
pub use hasher::{Argon2Hasher, HasherError};
pub use housekeeping::DieselHousekeeping;
pub use jwt::JwtCodec;
pub use keys::{APPS_KEY_NAME, load_or_create_key, load_or_create_signing_secret};
pub use mail::{FileMailer, MailConfigError, SmtpMailer};
pub use oauth::{OAuth2Providers, OAuthConfigError, OAuthProviderConfig};
pub use password_schemes::accounts_by_password_scheme;
pub use redact::redact_database_url;
pub use sessions::DieselSessionStore;
pub use signing::{KeyInfo, KeyRing, KeyState, SigningAlgorithm, SigningKey};
pub use signing_store::{Kek, KeyStoreError, Rotated, SigningKeyStore};
pub use social_store::{DieselLoginStateStore, DieselSocialIdentityStore};
pub use system::{OsRandom, SystemClock, TokioBackground};
pub use throttle::DieselLoginThrottle;
pub use users::DieselUserRepository;
