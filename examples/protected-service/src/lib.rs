//! A service whose routes are protected by `auth-client`: the example of
//! `crates/auth-client/README.md`, runnable (`src/main.rs`) and tested
//! against the real server by the contract suite.
//!
//! - `GET /hello`: any valid access token (verified offline) whose session
//!   has not ended: the [`AuthClient`] consults its
//!   [`auth_client::RevocationList`] (when built with one), so a token of a
//!   logged-out session is refused with 401 as soon as the service heard of
//!   the logout, without a request to the server.
//! - `GET /live`: a valid token whose session the server confirms live
//!   (introspection; needs the application's credentials).
//! - `GET /public`: no token needed.
//! - `POST /backchannel-logout`: OpenID Connect Back-Channel Logout 1.0
//!   (the server pushes `logout_token=<JWT>`; register
//!   `http://<this service>/backchannel-logout` as the client's
//!   `backchannelLogoutUri`). Mounted by [`serve`], and by [`serve_with`]
//!   when [`Feed::push`]. It needs the client built with
//!   `Builder::client_id` and `Builder::revocations`; otherwise it answers
//!   500.
//!
//! The other way to hear of logouts, pulling (RFC 8936 polling of CAEP
//! `session-revoked` events, [`auth_client::Poller`]), runs beside the
//! server: `src/main.rs` starts it when [`Feed::poll`].

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, get, web};
use auth_client::AuthClient;
use auth_client::actix::{Authenticated, LiveAuthenticated};

#[get("/hello")]
async fn hello(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"hello": user.claims.sub, "session": user.claims.sid}))
}

#[get("/live")]
async fn live(user: LiveAuthenticated) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"hello": user.claims.sub, "live": true}))
}

#[get("/public")]
async fn public() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"public": true}))
}

/// How the service hears that sessions ended (`AUTH_FEED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feed {
    /// Mount `POST /backchannel-logout` (the server pushes logout tokens).
    pub push: bool,
    /// Poll the server's `/ssf/poll` for `session-revoked` events (needs
    /// the client id and secret).
    pub poll: bool,
}

impl Feed {
    /// `AUTH_FEED`: `push`, `poll` or `both`; unset, the push route is
    /// mounted and the poller runs when `credentials` (the client id and
    /// secret) are given.
    ///
    /// # Errors
    /// An unknown value, or `poll`/`both` without credentials.
    pub fn parse(value: Option<&str>, credentials: bool) -> Result<Self, String> {
        let feed = match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") => Self {
                push: true,
                poll: credentials,
            },
            Some("push") => Self {
                push: true,
                poll: false,
            },
            Some("poll") => Self {
                push: false,
                poll: true,
            },
            Some("both") => Self {
                push: true,
                poll: true,
            },
            Some(other) => return Err(format!("AUTH_FEED={other}: expected push, poll or both")),
        };
        if feed.poll && !credentials {
            return Err("AUTH_FEED polls: set AUTH_CLIENT_ID and AUTH_CLIENT_SECRET".into());
        }
        Ok(feed)
    }
}

/// The service on `listener`, trusting `auth`'s issuer, with the
/// back-channel logout route mounted: [`serve_with`] and `push = true`.
///
/// # Errors
/// When the listener cannot be used.
pub fn serve(listener: TcpListener, auth: AuthClient) -> std::io::Result<Server> {
    serve_with(listener, auth, true)
}

/// The service on `listener`, trusting `auth`'s issuer; `POST
/// /backchannel-logout` is mounted when `push`.
///
/// # Errors
/// When the listener cannot be used.
pub fn serve_with(listener: TcpListener, auth: AuthClient, push: bool) -> std::io::Result<Server> {
    let auth = web::Data::new(auth);
    Ok(HttpServer::new(move || {
        let app = App::new()
            .app_data(auth.clone())
            .service(hello)
            .service(live)
            .service(public);
        if push {
            app.route(
                "/backchannel-logout",
                web::post().to(auth_client::actix::backchannel_logout),
            )
        } else {
            app
        }
    })
    .workers(1)
    .listen(listener)?
    .run())
}

#[cfg(test)]
mod tests {
    use super::Feed;

    #[test]
    fn auth_feed() {
        let (push, poll, both) = (
            Feed {
                push: true,
                poll: false,
            },
            Feed {
                push: false,
                poll: true,
            },
            Feed {
                push: true,
                poll: true,
            },
        );
        assert_eq!(Feed::parse(None, false), Ok(push));
        assert_eq!(Feed::parse(None, true), Ok(both));
        assert_eq!(Feed::parse(Some("push"), true), Ok(push));
        assert_eq!(Feed::parse(Some("Poll"), true), Ok(poll));
        assert_eq!(Feed::parse(Some("both"), true), Ok(both));
        assert!(Feed::parse(Some("poll"), false).is_err());
        assert!(Feed::parse(Some("both"), false).is_err());
        assert!(Feed::parse(Some("pull"), true).is_err());
    }
}
