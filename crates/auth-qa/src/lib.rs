//! The contract suite as a library: scenarios written once against a
//! [`Target`], the harnesses that drive them, and the QA runner behind the
//! `auth-qa` binary.
//!
//! - [`scenarios`]: every scenario, grouped by the file it is written in.
//! - [`Target`] / [`Deployment`]: what a scenario runs against. The
//!   in-process harness (`cargo test -p auth-contract-tests`) implements it
//!   with fresh servers on SQLite and PostgreSQL; [`qa`] implements it with
//!   one deployment reached over HTTP.
//! - [`mail`]: reading the mail the server sends (SMTP sink, Mailpit API,
//!   `.eml` folder); [`oauth`]: a fake Google/Kakao/Naver; [`ws`]: a
//!   WebSocket client; [`schema`]: every reply checked against the
//!   service's OpenAPI document; [`soft_passkey`]: a software passkey
//!   (WebAuthn client and authenticator) independent of the server's.
//!
//! Building this crate compiles no database driver, no OpenSSL and not the
//! server.
// A test harness: a failed assertion (or an unusable reply) is a panic that
// the runner catches and reports as the scenario's failure, with the
// requests that led to it. Nothing here serves users.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod app;
pub mod mail;
pub mod oauth;
pub mod qa;
pub mod receiver;
pub mod runner;
pub mod scenarios;
pub mod schema;
pub mod seeds;
pub mod soft_passkey;
pub mod target;
pub mod ws;

pub use app::{NewUser, Reply, TestApp, unique_email, unique_login};
pub use runner::{Outcome, Scenario};
pub use target::{
    Address, ChatProfile, ChatUser, Config, Deployment, Exchange, Inside, Server, Skip, Target, skip,
};

/// Every scenario of the suite.
pub fn all() -> Vec<Scenario> {
    scenarios::all()
}

/// Declares the scenarios of a file: `scenarios!(a, b, c);` defines
/// `pub fn all() -> Vec<Scenario>` listing `async fn a(target: &Target)`, ….
#[macro_export]
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            #[doc(hidden)]
            pub mod $name {
                pub fn run<'a>(
                    target: &'a $crate::Target,
                ) -> ::std::pin::Pin<::std::boxed::Box<dyn ::std::future::Future<Output = ()> + 'a>> {
                    ::std::boxed::Box::pin(super::$name(target))
                }
            }
        )*
        /// The scenarios of this file.
        pub fn all() -> ::std::vec::Vec<$crate::Scenario> {
            ::std::vec![$($crate::Scenario::new(module_path!(), stringify!($name), $name::run)),*]
        }
    };
}
