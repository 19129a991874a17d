//! The back-channel logout endpoint (OpenID Connect Back-Channel Logout
//! 1.0 §2.5): the server POSTs `logout_token=<JWT>` to the URI registered
//! as the client's `backchannelLogoutUri`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, Route, web};

use crate::{AuthClient, Error};

/// The largest request body [`backchannel_logout`] reads (16 KiB); a
/// larger one is refused with 400.
pub const BACKCHANNEL_BODY_LIMIT: usize = 16 * 1024;

fn answer(status: StatusCode, error: Option<(&str, String)>) -> HttpResponse {
    let mut reply = HttpResponse::build(status);
    reply.insert_header((header::CACHE_CONTROL, "no-store"));
    match error {
        None => reply.finish(),
        Some((code, description)) => {
            reply.json(serde_json::json!({"error": code, "error_description": description}))
        }
    }
}

fn invalid(description: impl Into<String>) -> HttpResponse {
    answer(
        StatusCode::BAD_REQUEST,
        Some(("invalid_request", description.into())),
    )
}

/// The back-channel logout handler: mount it on the path of the URI
/// registered as your client's `backchannelLogoutUri`, with the
/// [`AuthClient`] in `web::Data` (the one the extractors use), built with
/// [`crate::Builder::client_id`] and [`crate::Builder::revocations`]:
///
/// ```no_run
/// use actix_web::{App, web};
/// use auth_client::{AuthClient, RevocationList};
///
/// # async fn demo() -> Result<(), auth_client::Error> {
/// let auth = AuthClient::builder("https://auth.example.com")
///     .client_id("orders")
///     .revocations(RevocationList::new())
///     .build()
///     .await?;
/// let app = App::new()
///     .app_data(web::Data::new(auth))
///     .route("/backchannel-logout", web::post().to(auth_client::actix::backchannel_logout));
/// # Ok(()) }
/// ```
///
/// The body must be `application/x-www-form-urlencoded` with exactly one
/// `logout_token`, at most [`BACKCHANNEL_BODY_LIMIT`] bytes. The token is
/// verified and recorded by [`AuthClient::receive_logout_token`].
///
/// Answers (all with `Cache-Control: no-store`):
/// - `200`, empty: the session's (or user's) end is recorded; from now on
///   the extractors refuse its access tokens with 401.
/// - `400` `{"error": "invalid_request", "error_description": "…"}`: a
///   malformed body, or a token that is invalid, forged, replayed,
///   expired or addressed to another client or issuer. Nothing recorded.
/// - `503` `{"error": "temporarily_unavailable"}`: the token names a key
///   that is not cached and the key set cannot be fetched (the server may
///   retry). Nothing recorded.
/// - `500` `{"error": "server_error"}`: no `web::Data<AuthClient>`, or it
///   has no client id or no revocation list.
pub async fn backchannel_logout(req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let Some(auth) = req
        .app_data::<web::Data<AuthClient>>()
        .map(|d| d.get_ref().clone())
    else {
        tracing::error!("back-channel logout: no web::Data<AuthClient> in the app");
        return answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            Some(("server_error", "not configured".into())),
        );
    };
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !is_form {
        return invalid("the body must be application/x-www-form-urlencoded");
    }
    let body = match payload.to_bytes_limited(BACKCHANNEL_BODY_LIMIT).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return invalid("unreadable body"),
        Err(_) => return invalid("body too large"),
    };
    let mut tokens = url::form_urlencoded::parse(&body)
        .filter(|(name, _)| name == "logout_token")
        .map(|(_, value)| value.into_owned());
    let token = match (tokens.next(), tokens.next()) {
        (Some(token), None) if !token.is_empty() => token,
        (None | Some(_), None) => return invalid("no logout_token"),
        (_, Some(_)) => return invalid("more than one logout_token"),
    };
    match auth.receive_logout_token(&token).await {
        Ok(_) => answer(StatusCode::OK, None),
        Err(Error::Unavailable(e)) => {
            tracing::warn!(error = %e, "back-channel logout: cannot fetch the key set");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(("temporarily_unavailable", "the key set cannot be fetched".into())),
            )
        }
        Err(Error::Config(e)) => {
            tracing::error!(error = %e, "back-channel logout: misconfigured");
            answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(("server_error", "not configured".into())),
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "back-channel logout: refused a logout token");
            invalid(e.to_string())
        }
    }
}

/// `web::post().to(`[`backchannel_logout`]`)`: for
/// `.route("/backchannel-logout", backchannel_logout_route())`.
pub fn backchannel_logout_route() -> Route {
    web::post().to(backchannel_logout)
}
