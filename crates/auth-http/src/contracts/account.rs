//! The `account` contract (seed 003): sign-up (behind an emailed code),
//! sign-in, withdrawal, id and email availability, code send and check,
//! password reset. Envelope: `{"data": …, "error": null | "message"}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use auth_domain::password::PolicyViolation;
use auth_domain::service::{
    AccountRef, Identifier, LoginError, ResetError, SendCodeError, SignUp, SignUpError, WithdrawError,
};
use auth_domain::verification::CodePurpose;

use crate::body::{BodyError, JsonObject, read_json};
use crate::contracts::log_internal;
use crate::state::AppState;

/// Contract name, as stored on sessions it creates.
pub const NAME: &str = "account";

const UNKNOWN_ID: &str = "존재 하지 않는 아이디";
const WRONG_PASSWORD: &str = "비밀번호 불일치";
const NOT_VERIFIED: &str = "인증 되지 않은 이메일";
const DENIED: &str = "올바르지 않은 접근 권한";

fn weak_password(state: &AppState, violation: &PolicyViolation) -> HttpResponse {
    let policy = state.auth.policy().password;
    let message = match violation {
        PolicyViolation::TooShort(_) | PolicyViolation::TooLong(_) => format!(
            "비밀번호는 {}자 이상 {}자 이하",
            policy.min_len(),
            policy.max_len()
        ),
    };
    fail(StatusCode::BAD_REQUEST, &message)
}

fn purpose(raw: Option<&str>) -> Result<CodePurpose, HttpResponse> {
    raw.and_then(CodePurpose::parse).ok_or_else(|| {
        fail(
            StatusCode::BAD_REQUEST,
            "올바르지 않은 인증 타입 (SIGN_UP, FORGET_PASSWORD)",
        )
    })
}

fn ok(data: Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({"data": data, "error": null}))
}

fn fail(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({"data": null, "error": message}))
}

fn body_error(e: BodyError) -> HttpResponse {
    match e {
        BodyError::TooLarge => fail(StatusCode::PAYLOAD_TOO_LARGE, "요청 본문이 너무 큼"),
        BodyError::WrongType(field) => fail(StatusCode::BAD_REQUEST, &format!("올바르지 않은 값: {field}")),
        BodyError::NotJson | BodyError::NotObject | BodyError::Unreadable => {
            fail(StatusCode::BAD_REQUEST, "올바르지 않은 요청 형식")
        }
    }
}

fn unavailable(e: &auth_domain::PortError) -> HttpResponse {
    log_internal(NAME, e);
    fail(
        StatusCode::SERVICE_UNAVAILABLE,
        "일시적인 오류, 잠시 후 다시 시도",
    )
}

/// Reads required fields in order; the first missing one is reported.
fn required<'a, const N: usize>(
    body: &'a JsonObject,
    fields: [&'static str; N],
) -> Result<[&'a str; N], HttpResponse> {
    let mut out = [""; N];
    for (slot, field) in out.iter_mut().zip(fields) {
        *slot = match body.non_blank(field) {
            Ok(Some(v)) => v,
            Ok(None) => return Err(fail(StatusCode::BAD_REQUEST, &format!("필수 값 누락: {field}"))),
            Err(e) => return Err(body_error(e)),
        };
    }
    Ok(out)
}

async fn body(state: &AppState, payload: web::Payload) -> Result<JsonObject, HttpResponse> {
    read_json(payload, state.max_body_bytes).await.map_err(body_error)
}

/// `POST /api/auth/sign-up`.
pub async fn sign_up(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    if let Err(wait) = state.rate_limit(&req) {
        return rate_limited(wait);
    }
    let body = match body(&state, payload).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let [auth_id, password, name, email] = match required(&body, ["authId", "password", "name", "email"]) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let request = SignUp {
        login_id: auth_id.to_owned(),
        email: email.to_owned(),
        name: name.to_owned(),
        password: password.to_owned(),
    };
    match state.auth.sign_up(request).await {
        Ok(user) => ok(json!({"id": user.id.get(), "name": user.name})),
        Err(SignUpError::Duplicate(_)) => fail(StatusCode::BAD_REQUEST, "이미 존재 하는 값"),
        Err(SignUpError::EmailNotVerified) => fail(StatusCode::BAD_REQUEST, NOT_VERIFIED),
        Err(SignUpError::InvalidLoginId) => fail(
            StatusCode::BAD_REQUEST,
            "올바르지 않은 아이디 형식 (영문, 숫자 3~20자)",
        ),
        Err(SignUpError::InvalidEmail) => fail(StatusCode::BAD_REQUEST, "올바르지 않은 이메일 형식"),
        Err(SignUpError::InvalidName) => fail(StatusCode::BAD_REQUEST, "올바르지 않은 이름 (1~50자)"),
        Err(SignUpError::WeakPassword(v)) => weak_password(&state, &v),
        Err(SignUpError::Internal(e)) => unavailable(&e),
    }
}

/// Too many failed password checks: 429 with `Retry-After`, the same for
/// known and unknown ids.
fn throttled(retry_after: chrono::TimeDelta) -> HttpResponse {
    crate::contracts::with_retry_after(
        fail(StatusCode::TOO_MANY_REQUESTS, crate::contracts::TOO_MANY_ATTEMPTS),
        retry_after,
    )
}

/// Over the per-IP request limit: 429 with `Retry-After`.
fn rate_limited(retry_after: chrono::TimeDelta) -> HttpResponse {
    crate::contracts::with_retry_after(
        fail(StatusCode::TOO_MANY_REQUESTS, crate::contracts::TOO_MANY_REQUESTS),
        retry_after,
    )
}

/// `POST /api/auth/sign-in`: `token` is an access token of a new session.
pub async fn sign_in(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let body = match body(&state, payload).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let [auth_id, password] = match required(&body, ["authId", "password"]) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let meta = state.client_meta(NAME, &req);
    match state
        .auth
        .login(Identifier::LoginId(auth_id.to_owned()), password, meta)
        .await
    {
        Ok(login) => ok(json!({
            "id": login.user.id.get(),
            "name": login.user.name,
            "authId": login.user.login_id.as_ref().map(|l| l.as_str()),
            "token": login.tokens.access.token,
        })),
        Err(LoginError::UnknownUser) => fail(StatusCode::BAD_REQUEST, UNKNOWN_ID),
        Err(LoginError::WrongPassword) => fail(StatusCode::BAD_REQUEST, WRONG_PASSWORD),
        Err(LoginError::Throttled { retry_after }) => throttled(retry_after),
        Err(LoginError::Internal(e)) => unavailable(&e),
    }
}

/// `POST /api/auth/withdrawal`.
pub async fn withdrawal(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let body = match body(&state, payload).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let [auth_id, password] = match required(&body, ["authId", "password"]) {
        Ok(f) => f,
        Err(r) => return r,
    };
    match state
        .auth
        .withdraw(auth_id, password, state.client_ip(&req))
        .await
    {
        Ok(()) => ok(json!({"status": true})),
        Err(WithdrawError::UnknownUser) => fail(StatusCode::BAD_REQUEST, UNKNOWN_ID),
        Err(WithdrawError::WrongPassword) => fail(StatusCode::BAD_REQUEST, WRONG_PASSWORD),
        Err(WithdrawError::Throttled { retry_after }) => throttled(retry_after),
        Err(WithdrawError::Internal(e)) => unavailable(&e),
    }
}

/// `GET /api/auth/check/auth-id/{authId}`.
pub async fn check_auth_id(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    if let Err(wait) = state.rate_limit(&req) {
        return rate_limited(wait);
    }
    match state.auth.login_id_available(&path).await {
        Ok(usable) => ok(json!({"usable": usable})),
        Err(e) => unavailable(&e),
    }
}

/// `GET /api/auth/check/email/{email}`.
pub async fn check_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    if let Err(wait) = state.rate_limit(&req) {
        return rate_limited(wait);
    }
    match state.auth.email_available(&path).await {
        Ok(usable) => ok(json!({"usable": usable})),
        Err(e) => unavailable(&e),
    }
}

/// `POST /api/auth/send/auth-key` `{authId, email, type}`.
pub async fn send_code(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    if let Err(wait) = state.rate_limit(&req) {
        return rate_limited(wait);
    }
    let body = match body(&state, payload).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let [email] = match required(&body, ["email"]) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let purpose = match body.str("type").map_err(body_error).and_then(purpose) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let auth_id = match purpose {
        CodePurpose::SignUp => match body.non_blank("authId") {
            Ok(v) => v,
            Err(e) => return body_error(e),
        },
        CodePurpose::ForgetPassword => match required(&body, ["authId"]) {
            Ok([v]) => Some(v),
            Err(r) => return r,
        },
    };
    match state.auth.send_code(auth_id, email, purpose).await {
        Ok(()) => ok(json!({"state": true})),
        Err(SendCodeError::InvalidEmail) => fail(StatusCode::BAD_REQUEST, "올바르지 않은 이메일 형식"),
        Err(SendCodeError::EmailTaken) => fail(StatusCode::BAD_REQUEST, "이미 존재 하는 이메일"),
        Err(SendCodeError::Cooldown(wait)) => {
            let seconds = wait.num_seconds().max(1);
            let mut response = fail(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("인증 번호 재전송은 {seconds}초 후에 가능"),
            );
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&seconds.to_string()) {
                response
                    .headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, value);
            }
            response
        }
        Err(SendCodeError::MailUnavailable(e)) => {
            log_internal(NAME, &e);
            fail(
                StatusCode::SERVICE_UNAVAILABLE,
                "인증 번호 전송 실패, 잠시 후 다시 시도",
            )
        }
        Err(SendCodeError::Internal(e)) => unavailable(&e),
    }
}

/// `GET /api/auth/check/auth-code`: the document sends a JSON body with the
/// GET; the same fields are accepted as query parameters (body wins).
pub async fn check_code(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    if let Err(wait) = state.rate_limit(&req) {
        return rate_limited(wait);
    }
    let body = match body(&state, payload).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let query = match web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
    {
        Ok(q) => q.into_inner(),
        Err(_) => return fail(StatusCode::BAD_REQUEST, "올바르지 않은 요청 형식"),
    };
    let field = |name: &'static str| -> Result<Option<String>, HttpResponse> {
        match body.non_blank(name) {
            Ok(Some(v)) => Ok(Some(v.to_owned())),
            Ok(None) => Ok(query.get(name).filter(|v| !v.trim().is_empty()).cloned()),
            Err(e) => Err(body_error(e)),
        }
    };
    let (auth_id, email, code, kind) =
        match (field("authId"), field("email"), field("authCode"), field("type")) {
            (Ok(a), Ok(e), Ok(c), Ok(t)) => (a, e, c, t),
            (Err(r), ..) | (_, Err(r), ..) | (_, _, Err(r), _) | (.., Err(r)) => return r,
        };
    let Some(email) = email else {
        return fail(StatusCode::BAD_REQUEST, "필수 값 누락: email");
    };
    let Some(code) = code else {
        return fail(StatusCode::BAD_REQUEST, "필수 값 누락: authCode");
    };
    let purpose = match purpose(kind.as_deref()) {
        Ok(p) => p,
        Err(r) => return r,
    };
    match state
        .auth
        .check_code(auth_id.as_deref(), &email, &code, purpose)
        .await
    {
        Ok(usable) => ok(json!({"usable": usable})),
        Err(e) => unavailable(&e),
    }
}

/// `POST /api/auth/reset/password` `{userId, authCode, newPassword}`
/// (`authId` instead of the numeric `userId` is accepted too).
pub async fn reset_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let body = match body(&state, payload).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let account = match (body.int("userId"), body.non_blank("authId")) {
        (Err(e), _) | (_, Err(e)) => return body_error(e),
        (Ok(Some(id)), _) => AccountRef::Id(id),
        (Ok(None), Ok(Some(auth_id))) => AccountRef::LoginId(auth_id.to_owned()),
        (Ok(None), Ok(None)) => return fail(StatusCode::BAD_REQUEST, "필수 값 누락: userId"),
    };
    let [code, new_password] = match required(&body, ["authCode", "newPassword"]) {
        Ok(f) => f,
        Err(r) => return r,
    };
    match state
        .auth_for(NAME, &req)
        .reset_password(account, code, new_password)
        .await
    {
        Ok(id) => ok(json!({"userId": id.get()})),
        Err(ResetError::Denied) => fail(StatusCode::BAD_REQUEST, DENIED),
        Err(ResetError::WeakPassword(v)) => weak_password(&state, &v),
        Err(ResetError::Internal(e)) => unavailable(&e),
    }
}
