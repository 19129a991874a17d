//! The OpenID provider (OAuth 2.1 authorization server, OpenID Connect
//! Core 1.0): clients an administrator registers ([`client`]), the
//! authorization-code flow with PKCE, the token grants, userinfo,
//! revocation and RP-initiated logout ([`provider`]), and the ports they
//! work through ([`ports`]).
//!
//! It shares the identity system with the five contracts: the hosted
//! sign-in goes through the same password gate ([`crate::identity::accounts::Accounts::login`]),
//! a browser's single-sign-on session is a session of the session store
//! (contract `browser`), and each authorization-code exchange opens a
//! session of its own for the client (contract `oidc`, its `sid`), whose
//! refresh tokens rotate with the same reuse detection as the contracts'.
//! Revoking any of them (logout, admin, disable, password reset) ends it
//! everywhere, and the clients that hear of it get a back-channel logout
//! token or a SET in their feed ([`signals`]).

pub mod client;
pub mod console;
pub mod flow;
pub mod grants;
pub mod logout;
pub mod ports;
pub mod provider;
pub mod signals;

#[cfg(test)]
mod tests;
