//! Identity: users and their validated fields ([`user`]), passwords
//! ([`password`]), the password gate and its login throttling
//! ([`throttle`]), and the use cases that create, authenticate and delete
//! accounts ([`login`], [`account`]), with their [`ports`].

pub mod account;
pub mod accounts;
pub mod login;
pub mod password;
pub mod password_change;
pub mod ports;
pub mod throttle;
pub mod user;

#[cfg(test)]
mod login_tests;
#[cfg(test)]
mod password_change_tests;
#[cfg(test)]
mod throttle_tests;
