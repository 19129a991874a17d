//! The `picsel` contract's social part: its route table and the OpenAPI
//! description of each route.

use crate::contracts::picsel::{ErrorBody, LoginResponse, common_errors, error_example, too_many_requests};
use crate::openapi::Op;
use crate::routes::{Access, Method, Route};
use actix_web::web;
use serde_json::{Value, json};

use super::*;

fn provider_param(op: Op) -> Op {
    op.path_param("provider", "`google`, `kakao` or `naver`.", "google")
}

fn not_found_example() -> Value {
    error_example(
        404,
        "SOCIAL_PROVIDER_NOT_FOUND",
        "지원하지 않는 소셜 로그인입니다",
        json!({"provider": "github"}),
    )
}

fn start_errors(op: Op) -> Op {
    common_errors(provider_param(op))
        .reply::<ErrorBody>(
            404,
            "Not a provider, or one this server has no client for.",
            not_found_example(),
        )
        .reply::<ErrorBody>(
            429,
            "Over the per-client request limit.",
            error_example(
                429,
                "TOO_MANY_REQUESTS",
                crate::contracts::TOO_MANY_REQUESTS,
                json!({"retryAfter": 60}),
            ),
        )
        .retry_after(429)
}

/// The social part's route table.
pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::Get,
            path: "/api/auth/{provider}",
            id: "picsel.social.start",
            to: || web::get().to(start),
            rate_limit: Some(too_many_requests),
            access: Access::Public,
            doc: || {
                start_errors(
                    Op::new(
                        "picsel",
                        "picsel.social.start",
                        "소셜 로그인 (GET): redirect to the provider",
                    )
                    .describe(
                        "302 to the provider's authorization page, setting the `auth_oauth_state` cookie \
                             (HttpOnly, SameSite=Lax) the callback requires: the flow completes only in the \
                             browser that started it.",
                    )
                    .empty(302, "To the provider (`Location`), with the flow's cookie."),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/api/auth/{provider}/login",
            id: "picsel.social.start_post",
            to: || web::post().to(start_by_post),
            rate_limit: Some(too_many_requests),
            access: Access::Public,
            doc: || {
                start_errors(
                    Op::new("picsel", "picsel.social.start_post", "소셜 로그인 (POST alias): the provider's URL")
                        .describe(
                            "For applications that open the URL themselves: 201 with the URL in `Location` and \
                             the body; not bound to a cookie (compare the `state` of the success redirect's \
                             fragment with the URL's).",
                        )
                        .reply::<StartResponse>(
                            201,
                            "The authorization URL.",
                            json!({"message": "소셜 로그인 URL 발급 성공", "data": {"url": "https://accounts.google.com/o/oauth2/v2/auth?..."}}),
                        ),
                )
            },
        },
        Route {
            method: Method::Get,
            path: "/api/auth/{provider}/callback",
            id: "picsel.social.callback",
            to: || web::get().to(callback),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                let e = |status, code, message: &str| error_example(status, code, message, Value::Null);
                common_errors(provider_param(
                    Op::new("picsel", "picsel.social.callback", "소셜 로그인 콜백")
                        .query_param(
                            "code",
                            "The provider's authorization code.",
                            json!({"type": "string"}),
                        )
                        .query_param("state", "The flow's state.", json!({"type": "string"}))
                        .query_param(
                            "error",
                            "The provider's error (e.g. `access_denied`).",
                            json!({"type": "string"}),
                        )
                        .reply::<LoginResponse>(
                            200,
                            "Logged in (the email login's body).",
                            json!({"message": "로그인 성공", "data": {}}),
                        )
                        .empty(
                            302,
                            "With `AUTH_OAUTH_SUCCESS_REDIRECT`: there, tokens and `state` in the fragment.",
                        )
                        .reply::<ErrorBody>(
                            400,
                            "Invalid or expired state, another browser, or no code.",
                            e(
                                400,
                                "INVALID_OAUTH_STATE",
                                "유효하지 않거나 만료된 소셜 로그인 요청입니다. 처음부터 다시 시도해주세요",
                            ),
                        )
                        .reply::<ErrorBody>(
                            401,
                            "Consent denied, or the code was rejected.",
                            e(401, "SOCIAL_LOGIN_DENIED", "소셜 로그인이 취소되었습니다"),
                        )
                        .reply::<ErrorBody>(401, "A user with a second factor (when no redirect is configured; with one, the fragment carries `mfaToken`, `methods`, `expiresIn`, `state`).", {
                            let mut body = e(401, "MFA_REQUIRED", crate::contracts::envelope::SECOND_FACTOR_REQUIRED);
                            body["mfa"] = json!({"mfaToken": "3f27…", "methods": ["totp", "recovery"], "expiresIn": 300});
                            body
                        })
                        .reply::<ErrorBody>(
                            403,
                            "No (verified) email from the provider.",
                            e(
                                403,
                                "SOCIAL_EMAIL_NOT_VERIFIED",
                                "인증된 이메일이 있는 소셜 계정만 사용할 수 있습니다",
                            ),
                        )
                        .reply::<ErrorBody>(404, "Not a provider, or not configured.", not_found_example())
                        .reply::<ErrorBody>(
                            409,
                            "The email belongs to an account this identity may not join.",
                            e(
                                409,
                                "SOCIAL_EMAIL_IN_USE",
                                "이미 가입된 이메일입니다. 가입할 때 사용한 방법으로 로그인해주세요",
                            ),
                        )
                        .reply::<ErrorBody>(
                            502,
                            "The provider failed.",
                            e(
                                502,
                                "SOCIAL_TOKEN_EXCHANGE_FAILED",
                                "소셜 로그인 제공자에게서 토큰을 받지 못했습니다",
                            ),
                        ),
                ))
            },
        },
    ]
}
