//! Second factors: TOTP authenticators, passkeys (WebAuthn) and recovery
//! codes, and the second step of a login that needs one.

pub mod ports;
pub mod totp;
