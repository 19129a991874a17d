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
//!   (sealed under a KEK when one is configured), one ring per purpose;
//! - [`IdTokenKeys`]: the OpenID Connect ID-token keys (one database ring
//!   per algorithm: RS256, ES256, EdDSA), whatever the access-token mode;
//!   [`load_or_create_signing_secret`] keeps a generated HMAC secret there.
//! - [`DieselAppRepository`], [`DieselChatProfiles`], [`HmacAppTokens`]:
//!   the `chat` contract's applications, profiles and app-signed tokens
//!   (secrets derived from the `apps_hmac` server key, never stored).
//! - [`DieselCodeStore`]: emailed verification codes (hashes only).
//! - [`DieselFactorStore`]: second factors (TOTP, recovery codes, passkeys;
//!   secrets sealed under a [`Kek`] when one is configured) and pending
//!   second steps.
//! - [`LettreMailer`]: mail over SMTP, or as `.eml` files,
//!   worded by [`MailTemplates`] (Korean by default, overridable by files).
//! - [`LocalEventBus`], [`PgEventBus`]: events to sockets, in-process or
//!   across instances with PostgreSQL `LISTEN/NOTIFY`.
//! - [`OAuth2Providers`]: social login (Google, Kakao, Naver) over the
//!   `oauth2` crate; [`DieselSocialIdentityStore`] and
//!   [`DieselLoginStateStore`]: identity links and pending flows.
//! - [`DieselAuditLog`]: the audit trail (best effort).
//! - [`DieselAdminRoleStore`]: which accounts hold the admin role.
//! - [`DieselLoginThrottle`]: login attempt counters, shared by instances.
//! - [`DieselRequestRates`]: the per-IP request budgets, shared by
//!   instances (one upsert per request on PostgreSQL).
//! - [`DieselHousekeeping`]: the purge of expired rows.
//! - [`accounts_by_password_scheme`]: accounts per stored password scheme
//!   (for metrics).
//! - [`WebauthnCeremony`]: the passkey (WebAuthn) relying party, over
//!   webauthn-rs.
//! - [`SystemClock`], [`OsRandom`]: time and a CSPRNG.
//!
//! The storage adapters (every `Diesel…` type, the signing-key and server-key
//! stores) live under [`db`] and are re-exported here.
//!
//! Row structs stay private to this crate; only domain types cross it.

#![warn(missing_docs)]

mod backchannel;
pub mod db;
mod events;
mod foreign_hash;
mod hasher;
mod id_keys;
mod jwt;
mod jwt_crypto;
mod mail;
mod mail_templates;
mod oauth;
mod oidc_signer;
mod redact;
pub mod signing;
mod system;
#[cfg(feature = "test-support")]
pub mod testdb;
mod webauthn;

pub use backchannel::HttpLogoutSender;
pub use db::{
    ACCESS_PURPOSE, APPS_KEY_NAME, Backend, Database, DbError, DieselAdminRoleStore, DieselAppRepository,
    DieselAuditLog, DieselChatProfiles, DieselCodeStore, DieselFactorStore, DieselHousekeeping,
    DieselLoginStateStore, DieselLoginThrottle, DieselOidcStore, DieselRequestRates, DieselSessionStore,
    DieselSignalOutbox, DieselSocialIdentityStore, DieselUserRepository, HmacAppTokens, Kek, KeyStoreError,
    Rotated, SigningKeyStore, accounts_by_password_scheme, load_or_create_key, load_or_create_signing_secret,
    reset_signing_keys,
};
pub use events::{LocalEventBus, PgEventBus};
pub use hasher::{Argon2Hasher, HasherError};
pub use id_keys::{ID_TOKEN_ALGORITHMS, IdTokenKeys, id_token_purpose};
pub use jwt::JwtCodec;
pub use mail::{LettreMailer, MailConfigError, error_chain};
pub use mail_templates::MailTemplates;
pub use oauth::{OAuth2Providers, OAuthConfigError, OAuthProviderConfig};
pub use oidc_signer::{AT_JWT, JwtOidcSigner, LOGOUT_JWT, SECEVENT_JWT};
pub use redact::redact_database_url;
pub use signing::{KeyInfo, KeyRing, KeyState, SigningAlgorithm, SigningKey};
pub use system::{OsRandom, SystemClock, TokioBackground};
pub use webauthn::{WebauthnCeremony, WebauthnConfigError};
