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

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::TimeDelta;

use crate::body::{BodyError, read_json};
use crate::contracts::{account, chat, picsel, picsel_social, session, standard};
use crate::openapi::Op;
use crate::settings::{ContractSettings, ContractsSettings};
use crate::state::AppState;

/// HTTP methods used by the contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// DELETE
    Delete,
    /// PATCH
    Patch,
}

impl Method {
    /// The key of this method in an OpenAPI path item.
    pub fn as_openapi(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "post",
            Self::Delete => "delete",
            Self::Patch => "patch",
        }
    }
}

/// Who may call a route: a column of every route table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; the handler authenticates the caller itself if it needs to
    /// (the contracts' tokens, introspection's client credentials).
    Public,
    /// The administrator only (`Authorization: Bearer <AUTH_ADMIN_TOKEN>`):
    /// [`RoutePlan::mount`] runs the admin check of [`crate::admin`]
    /// before the handler and answers 403 (no token configured) or 401
    /// without calling it, and the route's OpenAPI operation gets those
    /// answers.
    /// Every `/internal` route is one, and only those (a test checks the
    /// mounted plan).
    Admin,
}

/// One route a contract (or the service itself) serves: a row of its
/// route table. The contract module that owns the handler declares it, with
/// its documentation, who may call it and whether it is rate-limited, so
/// adding an endpoint touches that module only.
#[derive(Clone, Copy)]
pub struct Route {
    /// The method.
    pub method: Method,
    /// The path before any contract prefix (actix syntax).
    pub path: &'static str,
    /// A stable operation id, `contract.operation` (also the OpenAPI
    /// `operationId`).
    pub id: &'static str,
    /// Builds the actix route (method and handler).
    pub to: fn() -> actix_web::Route,
    /// When set, the route counts against the per-IP request limit and a
    /// client over it gets this answer (the contract's 429) instead.
    pub rate_limit: Option<fn(TimeDelta) -> HttpResponse>,
    /// Who may call it.
    pub access: Access,
    /// The route's OpenAPI operation.
    pub doc: fn() -> Op,
}

impl Route {
    /// The route's OpenAPI operation, with the answers its access adds.
    pub fn op(&self) -> Op {
        match self.access {
            Access::Public => (self.doc)(),
            Access::Admin => crate::admin::documented((self.doc)()),
        }
    }

    /// The actix route: the handler, behind the admin check and the rate
    /// limit when the row asks for them.
    fn service(&self) -> actix_web::Route {
        let mut route = (self.to)();
        if let Some(refuse) = self.rate_limit {
            route = route.wrap(from_fn(move |req, next| limited(refuse, req, next)));
        }
        if self.access == Access::Admin {
            route = route.wrap(from_fn(crate::admin::guard));
        }
        route
    }
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("id", &self.id)
            .field("rate_limited", &self.rate_limit.is_some())
            .field("access", &self.access)
            .finish()
    }
}

/// What a method and full path are mounted to.
#[derive(Debug, Clone, Copy)]
enum Mounted {
    /// One contract's route.
    One(Route),
    /// The documented `picsel`/`standard` collision, served by a dispatcher
    /// that looks at the body.
    Dispatch(Dispatch, Route, Route),
}

/// The two shared routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dispatch {
    Login,
    Logout,
}

impl Dispatch {
    /// The documented pair `(a, b)` share a route, if they are one.
    fn of(a: &str, b: &str) -> Option<Self> {
        match (a.min(b), a.max(b)) {
            ("picsel.login", "standard.login") => Some(Self::Login),
            ("picsel.logout", "standard.logout") => Some(Self::Logout),
            _ => None,
        }
    }

    fn id(self) -> &'static str {
        match self {
            Self::Login => "dispatch.login",
            Self::Logout => "dispatch.logout",
        }
    }
}

/// Two enabled contracts claim one route and no rule says how to share it.
#[derive(Debug, thiserror::Error)]
#[error("route conflict: {method:?} {path} is claimed by {first} and {second}")]
pub struct RouteConflict {
    /// The method.
    pub method: Method,
    /// The full path.
    pub path: String,
    /// The operation registered first.
    pub first: &'static str,
    /// The operation that collided with it.
    pub second: &'static str,
}

/// The resolved route table: every contract's routes under its prefix, and
/// the service's own routes.
#[derive(Debug, Clone, Default)]
pub struct RoutePlan {
    routes: BTreeMap<(Method, String), Mounted>,
}

/// The service's own routes (not of a contract): token lookup, probes, the
/// socket, the API description, and the internal admin API.
fn service_routes() -> Vec<Route> {
    let mut routes = vec![auth_ws_route(), crate::me::route(), crate::metrics::route()];
    routes.extend(crate::health::routes());
    routes.extend(crate::openapi::routes());
    routes.extend(crate::oidc::routes());
    routes.push(crate::ssf::route());
    routes.extend(crate::provider::routes());
    routes.extend(crate::mfa::routes());
    routes.extend(crate::admin::routes());
    routes.extend(crate::web::routes());
    routes
}

/// `GET /ws`, served by `auth-ws`.
fn auth_ws_route() -> Route {
    Route {
        method: Method::Get,
        path: "/ws",
        id: "service.ws",
        to: || web::get().to(auth_ws::ws),
        rate_limit: None,
        access: Access::Public,
        doc: || {
            Op::new(
                "service",
                "service.ws",
                "WebSocket: LOGOUT/NOTIFICATION pushes and chat events",
            )
            .describe(
                "Upgrades to a WebSocket. `session` clients authenticate with an access token \
                     (`Authorization: Bearer`, or `?token=`); the server pushes \
                     `{\"type\":\"LOGOUT\"|\"NOTIFICATION\",\"message\",\"timestamp\"}`. A connection \
                     with `App-Id` (header or query) speaks the `chat` contract's `connect`/`disconnect` \
                     events. See `docs/contracts/session.md` and `chat.md`.",
            )
            .empty(101, "Switching to the WebSocket protocol.")
            .raw(
                400,
                "Not a WebSocket handshake, or invalid credentials.",
                "application/json",
                serde_json::json!({}),
            )
            .raw(
                401,
                "No valid access token.",
                "application/json",
                serde_json::json!({}),
            )
        },
    }
}

impl RoutePlan {
    /// Joins the enabled contracts' route tables and the service's routes.
    ///
    /// # Errors
    /// [`RouteConflict`] for an overlap other than the documented one.
    pub fn build(settings: &ContractsSettings) -> Result<Self, RouteConflict> {
        let contracts: [(&ContractSettings, Vec<Route>); 5] = [
            (&settings.standard, standard::routes()),
            (&settings.session, session::routes()),
            (
                &settings.picsel,
                [picsel::routes(), picsel_social::routes()].concat(),
            ),
            (&settings.account, account::routes()),
            (&settings.chat, chat::routes()),
        ];
        let mut plan = Self::default();
        for route in service_routes() {
            plan.add(route.path.to_owned(), route)?;
        }
        for (contract, routes) in contracts {
            if !contract.enabled {
                continue;
            }
            let prefix = contract.prefix.trim_end_matches('/');
            for route in routes {
                plan.add(format!("{prefix}{}", route.path), route)?;
            }
        }
        Ok(plan)
    }

    fn add(&mut self, path: String, route: Route) -> Result<(), RouteConflict> {
        let key = (route.method, path);
        let Some(first) = self.routes.get(&key).copied() else {
            self.routes.insert(key, Mounted::One(route));
            return Ok(());
        };
        let conflict = |first: &'static str| RouteConflict {
            method: key.0,
            path: key.1.clone(),
            first,
            second: route.id,
        };
        let merged = match first {
            Mounted::One(a) => match Dispatch::of(a.id, route.id) {
                Some(kind) => Mounted::Dispatch(kind, a, route),
                None => return Err(conflict(a.id)),
            },
            Mounted::Dispatch(kind, ..) => return Err(conflict(kind.id())),
        };
        self.routes.insert(key, merged);
        Ok(())
    }

    /// The operation id served at a method and full path, if any.
    pub fn operation_id(&self, method: Method, path: &str) -> Option<&'static str> {
        self.routes.get(&(method, path.to_owned())).map(|m| match m {
            Mounted::One(r) => r.id,
            Mounted::Dispatch(kind, ..) => kind.id(),
        })
    }

    /// Every mounted method and full path with its operation.
    pub fn operations(&self) -> Vec<(Method, String, Op)> {
        self.routes
            .iter()
            .map(|((method, path), mounted)| {
                let op = match mounted {
                    Mounted::One(r) => r.op(),
                    Mounted::Dispatch(kind, a, b) => {
                        let summary = match kind {
                            Dispatch::Login => "Login: `picsel` (body with `email`) or `standard` (`username`)",
                            Dispatch::Logout => {
                                "Logout: `picsel` (body with `refresh_token`) or `standard` (bearer access token)"
                            }
                        };
                        (a.doc)().merge(&(b.doc)(), kind.id(), summary)
                    }
                };
                (*method, path.clone(), op)
            })
            .collect()
    }

    /// Registers every route on an actix app: every literal path first, then
    /// the paths with parameters, each in path order. actix tries routes in
    /// registration order, so a literal path (`/api/auth/me`) always wins
    /// over a parameter that would also match it (`/api/auth/{provider}`),
    /// and a request for a literal path is matched by string comparisons
    /// alone: a parameterized route costs a regex match to rule out (two of
    /// them, `GET /api/auth/check/…/{…}`, were about a sixth of the work of a
    /// `GET /api/auth/me` before; docs/performance.md).
    pub fn mount(&self, cfg: &mut web::ServiceConfig) {
        let literal = |path: &str| !path.contains('{');
        let in_order = self
            .routes
            .iter()
            .filter(|((_, path), _)| literal(path))
            .chain(self.routes.iter().filter(|((_, path), _)| !literal(path)));
        for ((_, path), mounted) in in_order {
            let route = match mounted {
                Mounted::One(route) => route.service(),
                Mounted::Dispatch(Dispatch::Login, ..) => web::post().to(dispatch_login),
                Mounted::Dispatch(Dispatch::Logout, ..) => web::post().to(dispatch_logout),
            };
            cfg.route(path, route);
        }
    }
}

/// The per-IP request limit of a rate-limited route: a client over it gets
/// the route's contract's 429 and the handler does not run.
async fn limited(
    refuse: fn(TimeDelta) -> HttpResponse,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse, actix_web::Error> {
    let over = match req.app_data::<web::Data<AppState>>().cloned() {
        Some(state) => state.rate_limit(req.request()).await.err(),
        None => None,
    };
    match over {
        Some(wait) => Ok(req.into_response(refuse(wait))),
        None => Ok(next.call(req).await?.map_into_boxed_body()),
    }
}

/// `POST /api/auth/login` when both `picsel` and `standard` serve it: a body
/// with `email` is a `picsel` login, any other object is `standard`'s, and a
/// body that cannot be read as an object is answered in `standard`'s
/// envelope (nothing in it says it is `picsel`'s).
async fn dispatch_login(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    use actix_web::ResponseError;
    let answer = match read_json(payload, state.max_body_bytes).await {
        Ok(body) if body.has("email") => match body.into_typed() {
            Ok(body) => picsel::login_with(&state, &req, body)
                .await
                .map_err(|e| e.error_response()),
            Err(e) => Err(picsel::body_error(e)),
        },
        Ok(body) => match body.into_typed() {
            Ok(body) => standard::login_with(&state, &req, body)
                .await
                .map_err(|e| e.error_response()),
            Err(e) => Err(standard::body_error(e)),
        },
        Err(e) => Err(standard::body_error(e)),
    };
    answer.unwrap_or_else(|refused| refused)
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
    use actix_web::ResponseError;
    let answer = match read_json(payload, state.max_body_bytes).await {
        Ok(body) if body.has("refresh_token") => match body.into_typed() {
            Ok(body) => picsel::logout_with(&state, &req, body)
                .await
                .map_err(|e| e.error_response()),
            Err(e) => Err(picsel::body_error(e)),
        },
        Err(BodyError::TooLarge) => Err(standard::body_error(BodyError::TooLarge)),
        _ => standard::logout_with(&state, &req)
            .await
            .map_err(|e| e.error_response()),
    };
    answer.unwrap_or_else(|refused| refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_plan_dispatches_the_documented_collision() {
        let plan = RoutePlan::build(&ContractsSettings::default()).unwrap();
        assert_eq!(
            plan.operation_id(Method::Post, "/api/auth/login"),
            Some("dispatch.login")
        );
        assert_eq!(
            plan.operation_id(Method::Post, "/api/auth/logout"),
            Some("dispatch.logout")
        );
        assert_eq!(
            plan.operation_id(Method::Post, "/api/auth/refresh"),
            Some("picsel.refresh")
        );
    }

    #[test]
    fn a_prefix_separates_the_pair() {
        let mut s = ContractsSettings::default();
        s.picsel.prefix = "/picsel/".into();
        let plan = RoutePlan::build(&s).unwrap();
        assert_eq!(
            plan.operation_id(Method::Post, "/api/auth/login"),
            Some("standard.login")
        );
        assert_eq!(
            plan.operation_id(Method::Post, "/picsel/api/auth/login"),
            Some("picsel.login")
        );
    }

    #[test]
    fn a_disabled_contract_is_not_served() {
        let mut s = ContractsSettings::default();
        s.standard.enabled = false;
        let plan = RoutePlan::build(&s).unwrap();
        assert_eq!(
            plan.operation_id(Method::Post, "/api/auth/login"),
            Some("picsel.login")
        );
        assert_eq!(plan.operation_id(Method::Post, "/api/auth/reissue-token"), None);
    }

    #[test]
    fn an_undocumented_overlap_refuses_to_start() {
        let plan = RoutePlan::build(&ContractsSettings::default()).unwrap();
        let mut again = plan.clone();
        let mut s = ContractsSettings::default();
        s.chat.prefix = "/api".into();
        let err = RoutePlan::build(&s).unwrap_err();
        assert_eq!(err.path, "/api/auth/login");
        assert_eq!((err.first, err.second), ("dispatch.login", "chat.login"));
        assert!(err.to_string().contains("/api/auth/login"));
        // A third claim on a shared route is refused too.
        let standard = standard::routes()[0];
        assert!(again.add("/api/auth/login".into(), standard).is_err());
    }

    #[test]
    fn chat_is_served_at_auth_login() {
        let plan = RoutePlan::build(&ContractsSettings::default()).unwrap();
        assert_eq!(plan.operation_id(Method::Post, "/auth/login"), Some("chat.login"));
        let mut s = ContractsSettings::default();
        s.chat.prefix = "/chat".into();
        let plan = RoutePlan::build(&s).unwrap();
        assert_eq!(
            plan.operation_id(Method::Post, "/chat/auth/login"),
            Some("chat.login")
        );
        assert_eq!(plan.operation_id(Method::Post, "/auth/login"), None);
    }

    #[test]
    fn chat_under_api_with_standard_and_picsel_moved_away_is_fine() {
        let mut s = ContractsSettings::default();
        s.chat.prefix = "/api".into();
        s.standard.enabled = false;
        s.picsel.enabled = false;
        let plan = RoutePlan::build(&s).unwrap();
        assert_eq!(
            plan.operation_id(Method::Post, "/api/auth/login"),
            Some("chat.login")
        );
    }

    /// The admin check cannot be forgotten: every mounted `/internal`
    /// route is [`Access::Admin`] (and documented with the admin answers),
    /// and no other route is.
    #[test]
    fn every_internal_route_and_only_those_are_admin_only() {
        let mut moved = ContractsSettings::default();
        moved.picsel.prefix = "/picsel".into();
        for settings in [ContractsSettings::default(), moved] {
            let plan = RoutePlan::build(&settings).unwrap();
            let mut admin = 0;
            for ((method, path), mounted) in &plan.routes {
                let internal = path.starts_with("/internal/");
                let access = match mounted {
                    Mounted::One(route) => route.access,
                    Mounted::Dispatch(_, a, b) => {
                        assert_eq!(a.access, b.access, "{path}");
                        a.access
                    }
                };
                assert_eq!(internal, access == Access::Admin, "{method:?} {path}");
                if let (true, Mounted::One(route)) = (internal, mounted) {
                    admin += 1;
                    let op = route.op();
                    for status in [401, 403, 503] {
                        assert!(op.statuses().contains(&status), "{path} documents {status}");
                    }
                }
            }
            assert_eq!(admin, 24, "the admin routes");
        }
    }

    #[test]
    fn every_operation_id_is_unique_and_the_service_routes_are_always_there() {
        let plan = RoutePlan::build(&ContractsSettings::default()).unwrap();
        let ops = plan.operations();
        let mut ids: Vec<String> = ops.iter().map(|(_, _, op)| op.id().to_owned()).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "{ids:?}");
        for path in ["/healthz", "/readyz", "/api/auth/me", "/openapi.json", "/ws"] {
            assert!(plan.operation_id(Method::Get, path).is_some(), "{path}");
        }
    }
}
