//! The handlers of `/api/mfa/…` and `/api/passkeys/…`.

use actix_web::http::header::{self, CacheControl, CacheDirective, ContentType};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use auth_domain::factors::{Proof, Verified};
use auth_domain::identity::login::Login;
use auth_domain::identity::user::User;

use super::{
    ChallengeRequest, CodeRequest, CredentialRequest, EnrollResponse, MfaError, PasskeyView,
    RecoveryCodesResponse, RegisterFinishRequest, StatusResponse, VerifyRequest,
};
use crate::body::Body;
use crate::contracts::bearer_token;
use crate::contracts::envelope::required;
use crate::contracts::{account, iso_millis, picsel, session, standard};
use crate::state::AppState;

/// The signed-in user behind `Authorization: Bearer`.
async fn user(state: &AppState, req: &HttpRequest) -> Result<User, MfaError> {
    let token = bearer_token(req).ok_or(MfaError::Unauthenticated)?;
    let user = state.auth.factors().authenticate(token).await?.0;
    crate::telemetry::KnownUser::record(req, user.uuid);
    Ok(user)
}

/// A JSON answer that no cache keeps (it may carry secrets).
fn private(status: actix_web::http::StatusCode, body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(body)
}

/// Ceremony options (already JSON text) as the answer.
fn options(json: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .content_type(ContentType::json())
        .body(json)
}

fn ok(body: &impl serde::Serialize) -> HttpResponse {
    private(actix_web::http::StatusCode::OK, body)
}

/// A credential object as the text the ceremony reads.
fn credential_text(value: &Option<Value>) -> Result<String, MfaError> {
    match value {
        Some(v @ Value::Object(_)) => Ok(v.to_string()),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::Null) | None => Err(crate::contracts::envelope::Common::Blank("credential").into()),
        Some(_) => Err(MfaError::Step(
            auth_domain::factors::StepError::MalformedCredential,
        )),
    }
}

/// The issuer label of TOTP secrets: the public URL's host.
pub(crate) fn issuer_label(state: &AppState) -> String {
    let url = state.auth.provider().issuer_url();
    let host = url.split_once("://").map_or(url, |(_, rest)| rest);
    host.split(['/', ':']).next().unwrap_or("auth").to_owned()
}

/// `GET /api/mfa`.
pub async fn status(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, MfaError> {
    let user = user(&state, &req).await?;
    let status = state
        .auth
        .factors()
        .status(user.id)
        .await
        .map_err(|e| MfaError::Common(e.into()))?;
    Ok(ok(&StatusResponse {
        totp: status.totp,
        passkeys: status
            .passkeys
            .iter()
            .map(|p| PasskeyView {
                id: p.id,
                name: p.name.clone(),
                created_at: iso_millis(p.created_at),
                last_used_at: p.last_used_at.map(iso_millis),
            })
            .collect(),
        recovery_codes_left: status.recovery_codes_left,
    }))
}

/// `POST /api/mfa/totp/enroll`.
pub async fn totp_enroll(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, MfaError> {
    let user = user(&state, &req).await?;
    let enrolment = state
        .auth
        .factors()
        .enroll_totp(&user, &issuer_label(&state))
        .await?;
    crate::metrics::factor_change("totp_enroll_started");
    Ok(ok(&EnrollResponse {
        qr_svg: qr_svg(&enrolment.otpauth_uri),
        secret: enrolment.secret,
        otpauth_uri: enrolment.otpauth_uri,
    }))
}

/// The URI as an SVG QR code (error correction M).
pub(crate) fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        // A URI of a few hundred bytes always fits; an empty image if not.
        Err(_) => String::new(),
    }
}

/// `POST /api/mfa/totp/confirm` `{"code"}`.
pub async fn totp_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<CodeRequest>,
) -> Result<HttpResponse, MfaError> {
    let code = required(&body.code, "code")?;
    let user = user(&state, &req).await?;
    let caller = state.caller("mfa", &req);
    let codes = state.auth.factors().confirm_totp(&user, code, &caller).await?;
    crate::metrics::factor_change("totp_enrolled");
    Ok(ok(&with_codes(json!({"totp": true}), codes)))
}

/// `{…, "recoveryCodes": [..]}` when there are codes to show.
fn with_codes(mut body: Value, codes: Option<Vec<String>>) -> Value {
    if let (Some(codes), Some(fields)) = (codes, body.as_object_mut()) {
        fields.insert("recoveryCodes".into(), json!(codes));
    }
    body
}

/// `DELETE /api/mfa/totp` `{"code"}`.
pub async fn totp_delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<CodeRequest>,
) -> Result<HttpResponse, MfaError> {
    let code = required(&body.code, "code")?;
    let user = user(&state, &req).await?;
    let caller = state.caller("mfa", &req);
    state.auth.factors().disable_totp(&user, code, &caller).await?;
    crate::metrics::factor_change("totp_removed");
    Ok(ok(&json!({"totp": false})))
}

/// `POST /api/mfa/recovery-codes` `{"code"}`.
pub async fn recovery_codes(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<CodeRequest>,
) -> Result<HttpResponse, MfaError> {
    let code = required(&body.code, "code")?;
    let user = user(&state, &req).await?;
    let caller = state.caller("mfa", &req);
    let codes = state
        .auth
        .factors()
        .regenerate_recovery_codes(&user, code, &caller)
        .await?;
    crate::metrics::factor_change("recovery_codes_replaced");
    Ok(ok(&RecoveryCodesResponse {
        recovery_codes: codes,
    }))
}

/// `POST /api/mfa/webauthn/register/start`.
pub async fn register_start(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, MfaError> {
    let user = user(&state, &req).await?;
    Ok(options(
        state.auth.factors().start_passkey_registration(&user).await?,
    ))
}

/// `POST /api/mfa/webauthn/register/finish` `{"name", "credential"}`.
pub async fn register_finish(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<RegisterFinishRequest>,
) -> Result<HttpResponse, MfaError> {
    let name = required(&body.name, "name")?;
    let credential = credential_text(&body.credential)?;
    let user = user(&state, &req).await?;
    let caller = state.caller("mfa", &req);
    let (id, codes) = state
        .auth
        .factors()
        .finish_passkey_registration(&user, name, &credential, &caller)
        .await?;
    crate::metrics::factor_change("passkey_registered");
    Ok(ok(&with_codes(json!({"id": id}), codes)))
}

/// `DELETE /api/mfa/webauthn/{id}`.
pub async fn passkey_delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, MfaError> {
    let user = user(&state, &req).await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| MfaError::UnknownPasskey)?;
    let caller = state.caller("mfa", &req);
    state.auth.factors().delete_passkey(&user, id, &caller).await?;
    crate::metrics::factor_change("passkey_removed");
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/mfa/webauthn/challenge` `{"mfaToken"}`.
pub async fn passkey_challenge(
    state: web::Data<AppState>,
    Body(body): Body<ChallengeRequest>,
) -> Result<HttpResponse, MfaError> {
    let token = required(&body.mfa_token, "mfaToken")?;
    Ok(options(state.auth.factors().passkey_challenge(token).await?))
}

/// `POST /api/mfa/verify` `{"mfaToken"}` and one of `totpCode`,
/// `recoveryCode`, `credential`: the contract's login success.
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<VerifyRequest>,
) -> Result<HttpResponse, MfaError> {
    let token = required(&body.mfa_token, "mfaToken")?;
    let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    let proof = match (
        present(&body.totp_code),
        present(&body.recovery_code),
        &body.credential,
    ) {
        (true, false, None) => Proof::Totp(body.totp_code.clone().unwrap_or_default()),
        (false, true, None) => Proof::Recovery(body.recovery_code.clone().unwrap_or_default()),
        (false, false, Some(_)) => Proof::Passkey(credential_text(&body.credential)?),
        (false, false, None) => return Err(crate::contracts::envelope::Common::Blank("totpCode").into()),
        _ => return Err(MfaError::OneProof),
    };
    let method = proof.method();
    let caller = state.caller("mfa", &req);
    let verified = state.auth.factors().verify(token, proof, false, &caller).await;
    crate::metrics::second_factor(method, &verified);
    let Verified { front, login } = verified?;
    login_reply(front, login).ok_or(MfaError::UnknownContract)
}

/// What contract `front`'s login answers on success.
fn login_reply(front: &str, login: Login) -> Option<HttpResponse> {
    let mut response = match front {
        "standard" => standard::login_reply(&login),
        "session" => session::login_reply(login),
        "picsel" => HttpResponse::Ok().json(picsel::login_success(&login)),
        "account" => account::login_reply(login),
        _ => return None,
    };
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Some(response)
}

/// `POST /api/passkeys/login/start`.
pub async fn passkey_login_start(state: web::Data<AppState>) -> Result<HttpResponse, MfaError> {
    Ok(options(state.auth.factors().start_passkey_login().await?))
}

/// `POST /api/passkeys/login/finish?contract=…` `{"credential"}`.
pub async fn passkey_login_finish(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<CredentialRequest>,
) -> Result<HttpResponse, MfaError> {
    let query = web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .map_err(|_| MfaError::UnknownContract)?;
    let front = match query.get("contract").map(String::as_str) {
        Some("standard") => standard::NAME,
        Some("session") => session::NAME,
        Some("picsel") => picsel::NAME,
        Some("account") => account::NAME,
        _ => return Err(MfaError::UnknownContract),
    };
    let credential = credential_text(&body.credential)?;
    let caller = state.caller(front, &req);
    let login = state
        .auth
        .factors()
        .finish_passkey_login(&credential, front, &caller)
        .await;
    crate::metrics::second_factor("passkey_login", &login);
    login_reply(front, login?).ok_or(MfaError::UnknownContract)
}
