//! Which handler serves which method and path.
//!
//! Each contract declares its routes. [`RoutePlan::build`] joins the enabled
//! contracts (each under its prefix) and checks that no two claim the same
//! method and path, except the one collision the contracts document defines:
//! `picsel` and `standard` both own `POST /api/auth/login` and
//! `POST /api/auth/logout`, which are then served by a dispatcher that looks
//! at the body (`email` → `picsel` login; `refresh_token` → `picsel` logout;
//! anything else → `standard`). Any other overlap stops start-up.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::body::{BodyError, read_json};
use crate::contracts::{account, picsel, picsel_social, standard};
use crate::settings::{ContractSettings, ContractsSettings};
use crate::state::AppState;

/// HTTP methods used by the contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
}

/// Every handler the service has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// `standard` login.
    StandardLogin,
    /// `standard` reissue.
    StandardReissue,
    /// `standard` logout.
    StandardLogout,
    /// `session` login.
    SessionLogin,
    /// `session` refresh.
    SessionRefresh,
    /// `picsel` login.
    PicselLogin,
    /// `picsel` refresh.
    PicselRefresh,
    /// `picsel` logout.
    PicselLogout,
    /// `picsel` social login start (302).
    PicselSocialStart,
    /// `picsel` social login start, POST alias (201).
    PicselSocialStartPost,
    /// `picsel` social login callback.
    PicselSocialCallback,
    /// `account` sign-up.
    AccountSignUp,
    /// `account` sign-in.
    AccountSignIn,
    /// `account` withdrawal.
    AccountWithdrawal,
    /// `account` login-id availability.
    AccountCheckAuthId,
    /// `account` email availability.
    AccountCheckEmail,
    /// `account` code send.
    AccountSendCode,
    /// `account` code check.
    AccountCheckCode,
    /// `account` password reset.
    AccountResetPassword,
    /// `chat` login (`App-Id`).
    ChatLogin,
    /// `picsel`/`standard` shared login path.
    DispatchLogin,
    /// `picsel`/`standard` shared logout path.
    DispatchLogout,
}

/// One contract's routes: method, path (before any prefix), handler.
type RouteTable = &'static [(Method, &'static str, Handler)];

const STANDARD: RouteTable = &[
    (Method::Post, "/api/auth/login", Handler::StandardLogin),
    (Method::Post, "/api/auth/reissue-token", Handler::StandardReissue),
    (Method::Post, "/api/auth/logout", Handler::StandardLogout),
];
const SESSION: RouteTable = &[
    (Method::Post, "/api/login", Handler::SessionLogin),
    (Method::Post, "/api/token/refresh", Handler::SessionRefresh),
];
const PICSEL: RouteTable = &[
    (Method::Post, "/api/auth/login", Handler::PicselLogin),
    (Method::Post, "/api/auth/refresh", Handler::PicselRefresh),
    (Method::Post, "/api/auth/logout", Handler::PicselLogout),
    (Method::Get, "/api/auth/{provider}", Handler::PicselSocialStart),
    (
        Method::Post,
        "/api/auth/{provider}/login",
        Handler::PicselSocialStartPost,
    ),
    (
        Method::Get,
        "/api/auth/{provider}/callback",
        Handler::PicselSocialCallback,
    ),
];
const ACCOUNT: RouteTable = &[
    (Method::Post, "/api/auth/sign-up", Handler::AccountSignUp),
    (Method::Post, "/api/auth/sign-in", Handler::AccountSignIn),
    (Method::Post, "/api/auth/withdrawal", Handler::AccountWithdrawal),
    (
        Method::Get,
        "/api/auth/check/auth-id/{authId}",
        Handler::AccountCheckAuthId,
    ),
    (
        Method::Get,
        "/api/auth/check/email/{email}",
        Handler::AccountCheckEmail,
    ),
    (Method::Post, "/api/auth/send/auth-key", Handler::AccountSendCode),
    (
        Method::Get,
        "/api/auth/check/auth-code",
        Handler::AccountCheckCode,
    ),
    (
        Method::Post,
        "/api/auth/reset/password",
        Handler::AccountResetPassword,
    ),
];

const CHAT: RouteTable = &[(Method::Post, "/auth/login", Handler::ChatLogin)];

/// Two enabled contracts claim one route and no rule says how to share it.
#[derive(Debug, thiserror::Error)]
#[error("route conflict: {method:?} {path} is claimed by {first:?} and {second:?}")]
pub struct RouteConflict {
    /// The method.
    pub method: Method,
    /// The full path.
    pub path: String,
    /// The handler registered first.
    pub first: Handler,
    /// The handler that collided with it.
    pub second: Handler,
}

/// The resolved route table.
#[derive(Debug, Clone, Default)]
pub struct RoutePlan {
    routes: BTreeMap<(Method, String), Handler>,
}

impl RoutePlan {
    /// Joins the enabled contracts' routes.
    ///
    /// # Errors
    /// [`RouteConflict`] for an overlap other than the documented one.
    pub fn build(settings: &ContractsSettings) -> Result<Self, RouteConflict> {
        let contracts: [(&ContractSettings, RouteTable); 5] = [
            (&settings.standard, STANDARD),
            (&settings.session, SESSION),
            (&settings.picsel, PICSEL),
            (&settings.account, ACCOUNT),
            (&settings.chat, CHAT),
        ];
        let mut plan = Self::default();
        for (contract, routes) in contracts {
            if !contract.enabled {
                continue;
            }
            let prefix = contract.prefix.trim_end_matches('/');
            for &(method, path, handler) in routes {
                plan.add(method, format!("{prefix}{path}"), handler)?;
            }
        }
        Ok(plan)
    }

    fn add(&mut self, method: Method, path: String, handler: Handler) -> Result<(), RouteConflict> {
        let key = (method, path);
        let Some(&first) = self.routes.get(&key) else {
            self.routes.insert(key, handler);
            return Ok(());
        };
        let merged = match (first, handler) {
            (Handler::StandardLogin, Handler::PicselLogin)
            | (Handler::PicselLogin, Handler::StandardLogin) => Handler::DispatchLogin,
            (Handler::StandardLogout, Handler::PicselLogout)
            | (Handler::PicselLogout, Handler::StandardLogout) => Handler::DispatchLogout,
            _ => {
                return Err(RouteConflict {
                    method: key.0,
                    path: key.1,
                    first,
                    second: handler,
                });
            }
        };
        self.routes.insert(key, merged);
        Ok(())
    }

    /// The handler for a method and full path, if any.
    pub fn handler(&self, method: Method, path: &str) -> Option<Handler> {
        self.routes.get(&(method, path.to_owned())).copied()
    }

    /// Registers every route on an actix app.
    pub fn mount(&self, cfg: &mut web::ServiceConfig) {
        for ((method, path), handler) in &self.routes {
            let route = match method {
                Method::Get => web::get(),
                Method::Post => web::post(),
            };
            let route = match handler {
                Handler::StandardLogin => route.to(standard::login),
                Handler::StandardReissue => route.to(standard::reissue),
                Handler::StandardLogout => route.to(standard::logout),
                Handler::SessionLogin => route.to(crate::contracts::session::login),
                Handler::SessionRefresh => route.to(crate::contracts::session::refresh),
                Handler::PicselLogin => route.to(picsel::login),
                Handler::PicselRefresh => route.to(picsel::refresh),
                Handler::PicselLogout => route.to(picsel::logout),
                Handler::PicselSocialStart => route.to(picsel_social::start),
                Handler::PicselSocialStartPost => route.to(picsel_social::start_by_post),
                Handler::PicselSocialCallback => route.to(picsel_social::callback),
                Handler::AccountSignUp => route.to(account::sign_up),
                Handler::AccountSignIn => route.to(account::sign_in),
                Handler::AccountWithdrawal => route.to(account::withdrawal),
                Handler::AccountCheckAuthId => route.to(account::check_auth_id),
                Handler::AccountCheckEmail => route.to(account::check_email),
                Handler::AccountSendCode => route.to(account::send_code),
                Handler::AccountCheckCode => route.to(account::check_code),
                Handler::AccountResetPassword => route.to(account::reset_password),
                Handler::ChatLogin => route.to(crate::contracts::chat::login),
                Handler::DispatchLogin => route.to(dispatch_login),
                Handler::DispatchLogout => route.to(dispatch_logout),
            };
            cfg.route(path, route);
        }
    }
}

/// `POST /api/auth/login` when both `picsel` and `standard` serve it: a body
/// with `email` is a `picsel` login, any other object is `standard`'s, and a
/// body that cannot be read as an object is answered in `standard`'s
/// envelope (nothing in it says it is `picsel`'s).
async fn dispatch_login(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    match read_json(payload, state.max_body_bytes).await {
        Ok(body) if body.has("email") => picsel::login_with(&state, &req, &body).await,
        Ok(body) => standard::login_with(&state, &req, &body).await,
        Err(e) => standard::body_error(e),
    }
}

/// `POST /api/auth/logout` when both serve it: a body with `refresh_token` is
/// a `picsel` logout; otherwise the bearer access token names the session
/// (`standard` sends no body, so an unreadable one is ignored), except that
/// an oversized body is refused in `standard`'s envelope.
async fn dispatch_logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    match read_json(payload, state.max_body_bytes).await {
        Ok(body) if body.has("refresh_token") => picsel::logout_with(&state, &req, &body).await,
        Err(BodyError::TooLarge) => standard::body_error(BodyError::TooLarge),
        _ => standard::logout_with(&state, &req).await,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn default_plan_dispatches_the_documented_collision() {
        let plan = RoutePlan::build(&ContractsSettings::default()).unwrap();
        assert_eq!(
            plan.handler(Method::Post, "/api/auth/login"),
            Some(Handler::DispatchLogin)
        );
        assert_eq!(
            plan.handler(Method::Post, "/api/auth/logout"),
            Some(Handler::DispatchLogout)
        );
        assert_eq!(
            plan.handler(Method::Post, "/api/auth/refresh"),
            Some(Handler::PicselRefresh)
        );
    }

    #[test]
    fn a_prefix_separates_the_pair() {
        let mut s = ContractsSettings::default();
        s.picsel.prefix = "/picsel/".into();
        let plan = RoutePlan::build(&s).unwrap();
        assert_eq!(
            plan.handler(Method::Post, "/api/auth/login"),
            Some(Handler::StandardLogin)
        );
        assert_eq!(
            plan.handler(Method::Post, "/picsel/api/auth/login"),
            Some(Handler::PicselLogin)
        );
    }

    #[test]
    fn a_disabled_contract_is_not_served() {
        let mut s = ContractsSettings::default();
        s.standard.enabled = false;
        let plan = RoutePlan::build(&s).unwrap();
        assert_eq!(
            plan.handler(Method::Post, "/api/auth/login"),
            Some(Handler::PicselLogin)
        );
        assert_eq!(plan.handler(Method::Post, "/api/auth/reissue-token"), None);
    }

    #[test]
    fn an_undocumented_overlap_refuses_to_start() {
        // The rule itself, checked directly (`chat` under `/api` is the
        // real-world case: see `chat_under_api_collides_…` below).
        let mut plan = RoutePlan::default();
        plan.add(Method::Post, "/p".into(), Handler::SessionLogin)
            .unwrap();
        let err = plan
            .add(Method::Post, "/p".into(), Handler::AccountSignIn)
            .unwrap_err();
        assert_eq!(
            (err.first, err.second),
            (Handler::SessionLogin, Handler::AccountSignIn)
        );
        assert!(err.to_string().contains("/p"));
    }

    #[test]
    fn chat_is_served_at_auth_login() {
        let plan = RoutePlan::build(&ContractsSettings::default()).unwrap();
        assert_eq!(
            plan.handler(Method::Post, "/auth/login"),
            Some(Handler::ChatLogin)
        );
        let mut s = ContractsSettings::default();
        s.chat.prefix = "/chat".into();
        let plan = RoutePlan::build(&s).unwrap();
        assert_eq!(
            plan.handler(Method::Post, "/chat/auth/login"),
            Some(Handler::ChatLogin)
        );
        assert_eq!(plan.handler(Method::Post, "/auth/login"), None);
    }

    #[test]
    fn chat_under_api_collides_with_standard_login_and_refuses_to_start() {
        let mut s = ContractsSettings::default();
        s.chat.prefix = "/api".into();
        let err = RoutePlan::build(&s).unwrap_err();
        assert_eq!(err.path, "/api/auth/login");
        assert_eq!(err.second, Handler::ChatLogin);
        // With `standard` and `picsel` moved away it is fine.
        s.standard.enabled = false;
        s.picsel.enabled = false;
        let plan = RoutePlan::build(&s).unwrap();
        assert_eq!(
            plan.handler(Method::Post, "/api/auth/login"),
            Some(Handler::ChatLogin)
        );
    }
}
