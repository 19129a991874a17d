//! The internal admin API, for other backend services: authenticated by
//! `Authorization: Bearer <AUTH_ADMIN_TOKEN>`, disabled (403) when no token
//! is configured. Envelope: `{"success", "message"}` like the `session`
//! contract whose `NOTIFICATION` it feeds.
// Same early-return pattern as the contract modules (see `contracts`).
#![allow(clippy::result_large_err)]

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Digest;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use auth_domain::chat::CreatedApp;
use auth_domain::service::{CreateAppError, NotifyError};

use crate::body::{BodyError, read_typed};
use crate::contracts::bearer_token;
use crate::contracts::envelope::{
    Common, ContractError, Envelope, Reply, TOO_LARGE, UNAVAILABLE, response_error,
};
use crate::openapi::Op;
use crate::routes::{Method, Route};
use crate::state::AppState;

/// `{"success": false, "message"}`, like `session`'s.
#[derive(Debug)]
pub struct InternalEnvelope;

impl Envelope for InternalEnvelope {
    const NAME: &'static str = "internal";

    fn body(reply: &Reply) -> Value {
        json!({"success": false, "message": reply.message})
    }

    fn invalid(problem: &Common) -> Reply {
        match problem {
            Common::Body(BodyError::TooLarge) => Reply::new(StatusCode::PAYLOAD_TOO_LARGE, TOO_LARGE),
            _ => Reply::new(StatusCode::BAD_REQUEST, "잘못된 요청 형식입니다."),
        }
    }

    fn unavailable() -> Reply {
        Reply::new(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)
    }
}

/// Everything the internal API can fail with.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    /// Shared failures (body, 503).
    #[error(transparent)]
    Common(#[from] Common),
    /// No admin token is configured: the API is off.
    #[error("admin API disabled")]
    Disabled,
    /// The bearer token is missing or wrong.
    #[error("admin authentication required")]
    Unauthorized,
    /// A request field is missing or out of range; the message says which.
    #[error("invalid request: {0}")]
    Invalid(&'static str),
    /// The user named does not exist.
    #[error("unknown user")]
    UnknownUser,
    /// The session named does not exist.
    #[error("unknown session")]
    UnknownSession,
    /// The application named does not exist.
    #[error("unknown application")]
    UnknownApp,
    /// An import body went over `AUTH_IMPORT_MAX_BYTES` while streaming.
    #[error("import body too large")]
    ImportTooLarge,
}

impl From<BodyError> for InternalError {
    fn from(e: BodyError) -> Self {
        Self::Common(Common::Body(e))
    }
}

impl From<auth_domain::PortError> for InternalError {
    fn from(e: auth_domain::PortError) -> Self {
        Self::Common(Common::Unavailable(e))
    }
}

impl From<NotifyError> for InternalError {
    fn from(e: NotifyError) -> Self {
        match e {
            NotifyError::UnknownUser => Self::UnknownUser,
            NotifyError::InvalidMessage => Self::Invalid("message는 1~1000자여야 합니다."),
            NotifyError::Internal(e) => e.into(),
        }
    }
}

impl From<CreateAppError> for InternalError {
    fn from(e: CreateAppError) -> Self {
        match e {
            CreateAppError::InvalidName => Self::Invalid("name은 1~100자여야 합니다."),
            CreateAppError::Internal(e) => e.into(),
        }
    }
}

impl From<auth_domain::service::AdminError> for InternalError {
    fn from(e: auth_domain::service::AdminError) -> Self {
        use auth_domain::service::AdminError as E;
        match e {
            E::UnknownUser => Self::UnknownUser,
            E::UnknownSession => Self::UnknownSession,
            E::UnknownApp => Self::UnknownApp,
            E::InvalidQuery => Self::Invalid("query는 200자 이하이고 제어 문자가 없어야 합니다."),
            E::Internal(e) => e.into(),
        }
    }
}

impl ContractError for InternalError {
    type Envelope = InternalEnvelope;

    fn reply(&self) -> Reply {
        match self {
            Self::Common(c) => InternalEnvelope::common(c),
            Self::Disabled => Reply::new(StatusCode::FORBIDDEN, "관리자 API가 비활성화되어 있습니다."),
            Self::Unauthorized => Reply::new(StatusCode::UNAUTHORIZED, "관리자 인증이 필요합니다."),
            Self::Invalid(message) => Reply::new(StatusCode::BAD_REQUEST, *message),
            Self::UnknownUser => Reply::new(StatusCode::NOT_FOUND, "존재하지 않는 사용자입니다."),
            Self::UnknownSession => Reply::new(StatusCode::NOT_FOUND, "존재하지 않는 세션입니다."),
            Self::UnknownApp => Reply::new(StatusCode::NOT_FOUND, "존재하지 않는 앱입니다."),
            Self::ImportTooLarge => Reply::new(StatusCode::PAYLOAD_TOO_LARGE, IMPORT_TOO_LARGE),
        }
    }

    fn outage(&self) -> Option<&auth_domain::PortError> {
        match self {
            Self::Common(Common::Unavailable(e)) => Some(e),
            _ => None,
        }
    }
}

response_error!(InternalError);

/// The 413 of an import body over `AUTH_IMPORT_MAX_BYTES`. A body declared
/// too large (`Content-Length`) is refused before anything is read; one
/// that grows too large while streaming may have had earlier batches
/// stored: sending the rest again is safe (imported accounts are skipped).
const IMPORT_TOO_LARGE: &str = "가져오기 본문이 AUTH_IMPORT_MAX_BYTES를 넘었습니다. 파일을 나누어 다시 보내 주세요(이미 가져온 계정은 건너뜁니다).";

/// Checks the admin bearer token in constant time.
///
/// # Errors
/// [`InternalError::Disabled`] or [`InternalError::Unauthorized`].
pub(crate) fn authorize(state: &AppState, req: &HttpRequest) -> Result<(), InternalError> {
    let Some(expected) = &state.admin_token else {
        return Err(InternalError::Disabled);
    };
    let presented = bearer_token(req).unwrap_or_default();
    // Digests of equal length are compared, so neither the token's length
    // nor where it first differs shows in the timing; a blank token never
    // gets here (settings refuse it).
    let digest = |s: &str| sha2::Sha256::digest(s.as_bytes());
    if !presented.is_empty() && bool::from(digest(presented).ct_eq(&digest(expected.expose_secret()))) {
        Ok(())
    } else {
        Err(InternalError::Unauthorized)
    }
}

/// `POST /internal/notifications` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotifyRequest {
    /// The user: UUID or login id.
    #[schema(required = true, example = "parkh")]
    user_id: Option<String>,
    /// The text, 1 to 1,000 characters.
    #[schema(required = true, example = "공지사항이 있습니다.")]
    message: Option<String>,
}

/// `POST /internal/apps` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateAppRequest {
    /// A human-readable name, 1 to 100 characters.
    #[schema(required = true, example = "Chat")]
    name: Option<String>,
}

/// `{"success": true, "message"}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = InternalMessage)]
pub struct Message {
    /// `true` on success, `false` on failure.
    success: bool,
    /// What happened.
    message: String,
}

/// A registered application, with its secret (shown once).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedAppResponse {
    /// The `App-Id` clients send.
    app_id: String,
    /// The name.
    name: String,
    /// The HS256 secret the app's backend signs its users' tokens with.
    secret: String,
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventView {
    /// When, `2025-12-08T11:00:00.000Z`.
    at: String,
    /// `login_success`, `login_failure`, `logout`, `token_reuse`, …
    kind: String,
    /// The user's numeric id, when known.
    user_id: Option<i64>,
    /// The session, when one is involved.
    session_id: Option<String>,
    /// The client IP.
    ip: Option<String>,
    /// The client's user agent.
    user_agent: Option<String>,
    /// What an administrator's action acted on (`user:7`,
    /// `session:<sid>`, `app:<id>`); `null` for other events.
    target: Option<String>,
}

/// `{"success": true, "events": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditResponse {
    /// Always `true`.
    success: bool,
    /// Newest first.
    events: Vec<AuditEventView>,
}

/// `POST /internal/notifications` `{userId, message}`: pushes `NOTIFICATION`
/// to every socket of the user (UUID or login id), on every instance.
pub async fn notify(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, InternalError> {
    authorize(&state, &req)?;
    let body: NotifyRequest = read_typed(payload, state.max_body_bytes).await?;
    let invalid = || InternalError::Invalid("userId와 message를 입력해주세요.");
    let user = body
        .user_id
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(invalid)?;
    let message = body.message.as_deref().ok_or_else(invalid)?;
    // As before the explicit caller: the notification's audit event
    // records no client.
    state
        .auth
        .sessions()
        .notify(user, message, &auth_domain::Caller::new("internal"))
        .await?;
    Ok(HttpResponse::Ok().json(Message {
        success: true,
        message: "알림을 전송했습니다.".into(),
    }))
}

/// `POST /internal/apps` `{name}`: registers a `chat` application and
/// answers 201 `{"appId","name","secret"}`. The secret is shown here once
/// and never logged.
pub async fn create_app(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, InternalError> {
    authorize(&state, &req)?;
    let body: CreateAppRequest = read_typed(payload, state.max_body_bytes).await?;
    let name = body
        .name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .ok_or(InternalError::Invalid("name을 입력해주세요."))?;
    let created = state
        .auth
        .apps()
        .create_app(name, &state.caller("internal", &req))
        .await?;
    Ok(HttpResponse::Created().json(app_json(&created)))
}

/// `{"appId","name","secret"}`: the answer of `POST /internal/apps` and of
/// `auth-server apps create`.
pub fn app_json(created: &CreatedApp) -> Value {
    serde_json::to_value(CreatedAppResponse {
        app_id: created.app.id.as_str().to_owned(),
        name: created.app.name.clone(),
        secret: created.secret.clone(),
    })
    .unwrap_or(Value::Null)
}

/// `GET /internal/audit?user=<numeric id>&limit=<1..1000, default 100>`:
/// the latest audit events, newest first, of one user or of everyone.
pub async fn audit(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, InternalError> {
    authorize(&state, &req)?;
    let query = web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .map_err(|_| InternalError::Invalid("잘못된 요청 형식입니다."))?;
    let user = match query.get("user").map(|u| u.trim()).filter(|u| !u.is_empty()) {
        None => None,
        Some(raw) => Some(auth_domain::user::UserId::new(
            raw.parse::<i64>()
                .map_err(|_| InternalError::Invalid("user는 숫자여야 합니다."))?,
        )),
    };
    let limit = match query.get("limit").map(|l| l.trim()) {
        None | Some("") => 100,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or(InternalError::Invalid("limit은 1~1000 사이의 숫자여야 합니다."))?,
    };
    let events = state.auth.audit_trail().recent(user, limit).await?;
    let events = events
        .iter()
        .map(|e| AuditEventView {
            at: crate::contracts::iso_millis(e.at),
            kind: e.kind.as_str().to_owned(),
            user_id: e.user_id.map(auth_domain::user::UserId::get),
            session_id: e.session_id.map(|s| s.to_string()),
            ip: e.ip.map(|ip| ip.to_string()),
            user_agent: e.user_agent.clone(),
            target: e.target.clone(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(AuditResponse {
        success: true,
        events,
    }))
}

/// One account as the admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDetail {
    /// The numeric id (`account`'s `id`).
    id: i64,
    /// The UUID (the tokens' `sub`).
    uuid: String,
    /// The login id, if any.
    login_id: Option<String>,
    /// The email.
    email: String,
    /// The display name.
    name: String,
    /// The profile image URL, if any.
    profile_image: Option<String>,
    /// How the password is stored: `argon2id` (current parameters),
    /// `argon2id-old`, `argon2i`, `argon2d`, `bcrypt`, `pbkdf2-sha1`,
    /// `pbkdf2-sha256`, `pbkdf2-sha512`, `scrypt`, `none` (no password) or
    /// `unknown`. Anything but `argon2id` and `none` is upgraded at the
    /// next password login.
    password_scheme: String,
    /// Linked social providers (`google`, `kakao`, `naver`).
    providers: Vec<String>,
    /// When the account was created, `2024-03-01T09:00:00.000Z`.
    created_at: String,
    /// Whether an administrator disabled the account (no login on any
    /// contract).
    disabled: bool,
    /// When it was disabled, or `null`.
    disabled_at: Option<String>,
    /// How many of its sessions can still be used now.
    live_sessions: usize,
}

/// `{"success": true, "user": {…}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    /// Always `true`.
    success: bool,
    /// The account.
    user: UserDetail,
}

/// `{"success": true, "user": {…}}` for `view`: the answer of `GET
/// /internal/users/{id}` and what `auth-server users show` prints.
pub fn user_json(view: &auth_domain::service::UserView) -> Value {
    let u = &view.user;
    serde_json::to_value(UserResponse {
        success: true,
        user: UserDetail {
            id: u.id.get(),
            uuid: u.uuid.to_string(),
            login_id: u.login_id.as_ref().map(|l| l.as_str().to_owned()),
            email: u.email.as_str().to_owned(),
            name: u.name.clone(),
            profile_image: u.profile_image.clone(),
            password_scheme: view.password_scheme.as_str().to_owned(),
            providers: view.providers.iter().map(|p| p.as_str().to_owned()).collect(),
            created_at: crate::contracts::iso_millis(u.created_at),
            disabled: u.disabled_at.is_some(),
            disabled_at: u.disabled_at.map(crate::contracts::iso_millis),
            live_sessions: view.live_sessions,
        },
    })
    .unwrap_or(Value::Null)
}

/// `GET /internal/users/{id}`: one account with its password scheme and
/// linked providers. A non-numeric id is 400, an unknown one 404.
pub async fn user_show(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, InternalError> {
    authorize(&state, &req)?;
    let id = req
        .match_info()
        .get("id")
        .and_then(|raw| raw.parse::<i64>().ok())
        .ok_or(InternalError::Invalid("id는 숫자여야 합니다."))?;
    let view = state
        .auth
        .user_admin()
        .user_view(auth_domain::user::UserId::new(id))
        .await?
        .ok_or(InternalError::UnknownUser)?;
    Ok(HttpResponse::Ok().json(user_json(&view)))
}

/// The refused lines an HTTP import lists (all are counted).
const REJECTS_LISTED: usize = 1000;

/// `POST /internal/users/import?dryRun=&springPbkdf2=`: imports the
/// newline-delimited JSON body (streamed, at most `AUTH_IMPORT_MAX_BYTES`)
/// and answers the report. See [`crate::import`].
pub async fn users_import(
    state: web::Data<AppState>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, InternalError> {
    use futures_util::StreamExt as _;
    authorize(&state, &req)?;
    let query = web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .map_err(|_| InternalError::Invalid("잘못된 요청 형식입니다."))?;
    let dry_run = match query.get("dryRun").map(|v| v.trim()) {
        None | Some("" | "false" | "0") => false,
        Some("true" | "1") => true,
        Some(_) => return Err(InternalError::Invalid("dryRun은 true 또는 false여야 합니다.")),
    };
    let spring_pbkdf2 = match query.get("springPbkdf2") {
        None => auth_domain::password::SpringPbkdf2::default(),
        Some(raw) => auth_domain::password::SpringPbkdf2::parse(raw).ok_or(InternalError::Invalid(
            "springPbkdf2는 v5.5, v5.8 또는 sha256:310000:16:32 형식이어야 합니다.",
        ))?,
    };
    let limit = state.import_max_bytes;
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(InternalError::ImportTooLarge);
    }
    let options = auth_domain::service::ImportOptions {
        dry_run,
        spring_pbkdf2,
    };
    let mut import = crate::import::NdjsonImport::new(
        options,
        crate::import::DEFAULT_BATCH,
        crate::import::MAX_LINE_BYTES,
    );
    let mut listed: Vec<crate::import::RejectView> = Vec::new();
    let keep = |listed: &mut Vec<crate::import::RejectView>, more: Vec<auth_domain::import::RejectedLine>| {
        let room = REJECTS_LISTED.saturating_sub(listed.len());
        listed.extend(more.into_iter().take(room).map(Into::into));
    };
    let mut read = 0usize;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        read = read.saturating_add(chunk.len());
        if read > limit {
            return Err(InternalError::ImportTooLarge);
        }
        import.feed(state.auth.import(), &chunk).await?;
        keep(&mut listed, import.take_rejects());
    }
    // As before the explicit caller: the import's audit event records no
    // client.
    import
        .finish(state.auth.import(), &auth_domain::Caller::new("internal"))
        .await?;
    keep(&mut listed, import.take_rejects());
    Ok(HttpResponse::Ok().json(crate::import::ImportReportView::new(import.report(), listed)))
}

pub(crate) fn failure(message: &str) -> Value {
    json!({"success": false, "message": message})
}

/// The answers every internal route can give.
pub(crate) fn admin_errors(op: Op) -> Op {
    op.bearer("adminToken")
        .reply::<Message>(
            401,
            "No or a wrong admin token.",
            failure("관리자 인증이 필요합니다."),
        )
        .reply::<Message>(
            403,
            "`AUTH_ADMIN_TOKEN` is not set: the API is off.",
            failure("관리자 API가 비활성화되어 있습니다."),
        )
        .reply::<Message>(503, "The service cannot answer now.", failure(UNAVAILABLE))
}

/// The internal API's route table (with the admin routes of
/// [`crate::admin`]).
pub fn routes() -> Vec<Route> {
    let mut routes = crate::admin::routes();
    routes.extend(base_routes());
    routes
}

fn base_routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::Post,
            path: "/internal/notifications",
            id: "internal.notify",
            to: || web::post().to(notify),
            rate_limit: None,
            doc: || {
                admin_errors(
                    Op::new("internal", "internal.notify", "Push NOTIFICATION to a user's sockets")
                        .describe("Every socket of the user, on every instance, gets `{\"type\":\"NOTIFICATION\",\"message\",\"timestamp\"}`.")
                        .body::<NotifyRequest>(json!({"userId": "parkh", "message": "공지사항이 있습니다."}))
                        .reply::<Message>(200, "Sent.", json!({"success": true, "message": "알림을 전송했습니다."}))
                        .reply::<Message>(400, "Missing fields, or a message outside 1–1000 characters.", failure("userId와 message를 입력해주세요."))
                        .reply::<Message>(404, "No such user.", failure("존재하지 않는 사용자입니다."))
                        .reply::<Message>(413, "Body over `AUTH_MAX_BODY_BYTES`.", failure(TOO_LARGE)),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/internal/apps",
            id: "internal.create_app",
            to: || web::post().to(create_app),
            rate_limit: None,
            doc: || {
                admin_errors(
                    Op::new("internal", "internal.create_app", "Register a chat application")
                        .body::<CreateAppRequest>(json!({"name": "Chat"}))
                        .reply::<CreatedAppResponse>(
                            201,
                            "Registered; the secret is shown this once.",
                            json!({"appId": "app_0123456789abcdef01234567", "name": "Chat", "secret": "…64 hex…"}),
                        )
                        .reply::<Message>(400, "Missing or invalid name.", failure("name을 입력해주세요."))
                        .reply::<Message>(413, "Body over `AUTH_MAX_BODY_BYTES`.", failure(TOO_LARGE)),
                )
            },
        },
        Route {
            method: Method::Get,
            path: "/internal/audit",
            id: "internal.audit",
            to: || web::get().to(audit),
            rate_limit: None,
            doc: || {
                admin_errors(
                    Op::new("internal", "internal.audit", "Read the audit trail")
                        .query_param("user", "Only this user's events (numeric id).", json!({"type": "integer"}))
                        .query_param("limit", "How many, 1–1000 (default 100).", json!({"type": "integer", "minimum": 1, "maximum": 1000}))
                        .reply::<AuditResponse>(
                            200,
                            "Newest first.",
                            json!({"success": true, "events": [{"at": "2025-12-08T11:00:00.000Z", "kind": "login_success", "userId": 1, "sessionId": "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e", "ip": "203.0.113.7", "userAgent": "curl/8", "target": null}, {"at": "2025-12-08T10:58:00.000Z", "kind": "admin_user_disable", "userId": 7, "sessionId": null, "ip": "10.0.0.5", "userAgent": "curl/8", "target": "user:7"}]}),
                        )
                        .reply::<Message>(400, "`user` or `limit` out of range.", failure("limit은 1~1000 사이의 숫자여야 합니다.")),
                )
            },
        },
        Route {
            method: Method::Get,
            path: "/internal/users/{id}",
            id: "internal.user_show",
            to: || web::get().to(user_show),
            rate_limit: None,
            doc: || {
                admin_errors(
                    Op::new("internal", "internal.user_show", "Read one account")
                        .describe("The account with its password scheme (`passwordScheme`: watch imported accounts move to `argon2id`), linked providers, whether it is disabled and how many of its sessions can still be used. `auth-server users show ID` prints the same.")
                        .path_param("id", "The numeric user id.", "7")
                        .reply::<UserResponse>(
                            200,
                            "The account.",
                            json!({"success": true, "user": {"id": 7, "uuid": "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e", "loginId": "parkh", "email": "parkh@example.com", "name": "홍길동", "profileImage": null, "passwordScheme": "bcrypt", "providers": ["kakao"], "createdAt": "2024-03-01T09:00:00.000Z", "disabled": false, "disabledAt": null, "liveSessions": 2}}),
                        )
                        .reply::<Message>(400, "The id is not a number.", failure("id는 숫자여야 합니다."))
                        .reply::<Message>(404, "No such user.", failure("존재하지 않는 사용자입니다.")),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/internal/users/import",
            id: "internal.users_import",
            to: || web::post().to(users_import),
            rate_limit: None,
            doc: || {
                admin_errors(
                    Op::new("internal", "internal.users_import", "Import accounts with their password hashes")
                        .describe("Newline-delimited JSON, one account per line, streamed and stored in batched transactions (each account atomic). Hashes are copied, not computed: bcrypt, argon2/PBKDF2/scrypt PHC strings, Spring `{bcrypt}`/`{argon2}`/`{pbkdf2}`/`{scrypt}`; `{noop}` plain text is hashed with argon2id. Rerunning a file skips accounts imported before and reports conflicting ones; nothing existing is changed. See `docs/migration.md`.")
                        .query_param("dryRun", "`true`: decide everything, store nothing.", json!({"type": "boolean"}))
                        .query_param("springPbkdf2", "Parameters of bare Spring `{pbkdf2}` hashes: `v5.5` (default), `v5.8`, or `DIGEST:ITERATIONS:SALT_BYTES:HASH_BYTES`.", json!({"type": "string", "example": "v5.5"}))
                        .raw_body(
                            "application/x-ndjson",
                            "One JSON object per line: `loginId`, `email`, `emailVerified`, `name`, `profileImage`, `passwordHash`, `createdAt`, `accountId`, `providers` (`[{provider, subject}]`). `email` and one of `passwordHash`/`providers` are required.",
                            "{\"loginId\":\"parkh\",\"email\":\"parkh@example.com\",\"name\":\"홍길동\",\"passwordHash\":\"$2a$10$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG\",\"accountId\":7,\"providers\":[{\"provider\":\"kakao\",\"subject\":\"4021337\"}]}\n",
                        )
                        .reply::<crate::import::ImportReportView>(
                            200,
                            "The report; refused lines are listed with their number and reason.",
                            json!({"success": true, "dryRun": false, "records": 3, "imported": 2, "skipped": 0, "rejected": 1, "conflicts": 0, "byScheme": {"bcrypt": 2}, "rejects": [{"line": 3, "reason": "email: not a valid email address"}], "rejectsTruncated": false}),
                        )
                        .reply::<Message>(400, "A query parameter is invalid.", failure("dryRun은 true 또는 false여야 합니다."))
                        .reply::<Message>(413, "Body over `AUTH_IMPORT_MAX_BYTES`.", failure(IMPORT_TOO_LARGE)),
                )
            },
        },
    ]
}
