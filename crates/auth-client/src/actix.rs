//! An actix-web extractor (feature `actix`).
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web, get};
//! use auth_client::{AuthClient, actix::Authenticated};
//!
//! #[get("/hello")]
//! async fn hello(user: Authenticated) -> String {
//!     format!("hello {}", user.claims.sub)
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let auth = AuthClient::discover("https://auth.example.com").await.expect("auth server");
//! HttpServer::new(move || App::new().app_data(web::Data::new(auth.clone())).service(hello))
//!     .bind("0.0.0.0:8000")?
//!     .run()
//!     .await
//! # }
//! ```
//!
//! A missing or refused token answers 401 with `WWW-Authenticate: Bearer`
//! and `{"error": "invalid_token"}`; an unreachable auth server 503.
//! [`LiveAuthenticated`] also introspects (instant revocation). A token
//! of a session the client's [`crate::RevocationList`] heard ended is
//! refused with 401 by both.
//!
//! [`backchannel_logout`] is the handler of OpenID Connect Back-Channel
//! Logout 1.0: it records the sessions the server says ended.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, dev::Payload, web};

use crate::{AuthClient, Claims, Error};

mod backchannel;
pub use backchannel::{BACKCHANNEL_BODY_LIMIT, backchannel_logout, backchannel_logout_route};

/// A request with a valid access token (verified offline).
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The token's claims.
    pub claims: Claims,
}

/// A request with a valid access token whose session the server confirmed
/// live (introspection; needs [`crate::Builder::credentials`]).
#[derive(Debug, Clone)]
pub struct LiveAuthenticated {
    /// The token's claims.
    pub claims: Claims,
}

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(Error);

impl ResponseError for Refused {
    fn status_code(&self) -> actix_web::http::StatusCode {
        match self.0 {
            Error::Unavailable(_) | Error::Config(_) => actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            _ => actix_web::http::StatusCode::UNAUTHORIZED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut reply = HttpResponse::build(self.status_code());
        if let Error::InsufficientAuthentication { max_age } = self.0 {
            // RFC 9470 §3: the client signs the user in again, with a
            // second factor or recently enough.
            let challenge = match max_age {
                Some(max_age) => format!(
                    "Bearer error=\"insufficient_user_authentication\", error_description=\"A more recent authentication is required\", max_age={max_age}"
                ),
                None => "Bearer error=\"insufficient_user_authentication\", error_description=\"A second factor is required\"".to_owned(),
            };
            reply.insert_header((header::WWW_AUTHENTICATE, challenge));
            return reply.json(serde_json::json!({"error": "insufficient_user_authentication"}));
        }
        if self.status_code() == actix_web::http::StatusCode::UNAUTHORIZED {
            reply.insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""));
            reply.json(serde_json::json!({"error": "invalid_token"}))
        } else {
            reply.json(serde_json::json!({"error": "temporarily_unavailable"}))
        }
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

fn client(req: &HttpRequest) -> Result<AuthClient, Refused> {
    req.app_data::<web::Data<AuthClient>>()
        .map(|d| d.get_ref().clone())
        .ok_or_else(|| Refused(Error::Config("no web::Data<AuthClient> in the app".into())))
}

impl FromRequest for Authenticated {
    type Error = Refused;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Refused>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let client = client(req);
        Box::pin(async move {
            let client = client?;
            let token = token.ok_or(Refused(Error::Invalid("no bearer token")))?;
            let claims = client.verify(&token).await.map_err(Refused)?;
            Ok(Self { claims })
        })
    }
}

impl FromRequest for LiveAuthenticated {
    type Error = Refused;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Refused>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let client = client(req);
        Box::pin(async move {
            let client = client?;
            let token = token.ok_or(Refused(Error::Invalid("no bearer token")))?;
            let claims = client.verify_live(&token).await.map_err(Refused)?;
            Ok(Self { claims })
        })
    }
}
