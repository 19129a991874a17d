//! Sessions: sessions and refresh-token rotation ([`session`]), token
//! claims ([`token`]), announcements to connected devices ([`events`]),
//! the use cases that refresh, reissue and end them ([`tokens`]) and tell
//! whether one is still live ([`status`]), with their [`ports`]; and the
//! pieces every area that opens or ends sessions shares ([`issuer`]).

pub mod events;
pub mod issuer;
pub mod ports;
pub mod session;
pub mod status;
pub mod token;
pub mod tokens;

#[cfg(test)]
mod status_tests;
