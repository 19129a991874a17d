//! The account import (`POST /internal/users/import`): newline-delimited
//! JSON accounts with their password hashes, streamed through the reader
//! of [`ndjson`] (which `auth-server users import` uses too).
// Same early-return pattern as the contract modules (see `contracts`).
#![allow(clippy::result_large_err)]

pub mod ndjson;

use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt as _;
use serde_json::json;

use auth_domain::identity::password::SpringPbkdf2;
use auth_domain::import::RejectedLine;
use auth_domain::import::use_cases::ImportOptions;

use super::views::{ImportReportView, Message, RejectView};
use super::{InternalError, failure, query};
use crate::body::BodyError;
use crate::openapi::Op;
use crate::routes::{Access, Method, Route};
use crate::state::AppState;

/// The 413 of an import body over `AUTH_IMPORT_MAX_BYTES`. A body declared
/// too large (`Content-Length`) is refused before anything is read; one
/// that grows too large while streaming may have had earlier batches
/// stored: sending the rest again is safe (imported accounts are skipped).
pub(super) const IMPORT_TOO_LARGE: &str = "가져오기 본문이 AUTH_IMPORT_MAX_BYTES를 넘었습니다. 파일을 나누어 다시 보내 주세요(이미 가져온 계정은 건너뜁니다).";

/// The refused lines an HTTP import lists (all are counted).
const REJECTS_LISTED: usize = 1000;

/// `POST /internal/users/import?dryRun=&springPbkdf2=`: imports the
/// newline-delimited JSON body (streamed, at most `AUTH_IMPORT_MAX_BYTES`)
/// and answers the report. See [`ndjson`].
pub async fn users_import(
    state: web::Data<AppState>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, InternalError> {
    let query = query(&req)?;
    let dry_run = match query.get("dryRun").map(|v| v.trim()) {
        None | Some("" | "false" | "0") => false,
        Some("true" | "1") => true,
        Some(_) => return Err(InternalError::Invalid("dryRun은 true 또는 false여야 합니다.")),
    };
    let spring_pbkdf2 = match query.get("springPbkdf2") {
        None => SpringPbkdf2::default(),
        Some(raw) => SpringPbkdf2::parse(raw).ok_or(InternalError::Invalid(
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
    let options = ImportOptions {
        dry_run,
        spring_pbkdf2,
    };
    let mut import = ndjson::NdjsonImport::new(options, ndjson::DEFAULT_BATCH, ndjson::MAX_LINE_BYTES);
    let mut listed: Vec<RejectView> = Vec::new();
    let keep = |listed: &mut Vec<RejectView>, more: Vec<RejectedLine>| {
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
    import
        .finish(state.auth.import(), &state.caller("internal", &req))
        .await?;
    keep(&mut listed, import.take_rejects());
    Ok(HttpResponse::Ok().json(ImportReportView::new(import.report(), listed)))
}

/// The import's route.
pub fn routes() -> Vec<Route> {
    vec![Route {
        method: Method::Post,
        path: "/internal/users/import",
        id: "internal.users_import",
        to: || web::post().to(users_import),
        rate_limit: None,
        access: Access::Admin,
        doc: || {
            Op::new("internal", "internal.users_import", "Import accounts with their password hashes")
                .describe("Newline-delimited JSON, one account per line, streamed and stored in batched transactions (each account atomic). Hashes are copied, not computed: bcrypt, argon2/PBKDF2/scrypt PHC strings, Spring `{bcrypt}`/`{argon2}`/`{pbkdf2}`/`{scrypt}`; `{noop}` plain text is hashed with argon2id. Rerunning a file skips accounts imported before and reports conflicting ones; nothing existing is changed. See `docs/migration.md`.")
                .query_param("dryRun", "`true`: decide everything, store nothing.", json!({"type": "boolean"}))
                .query_param("springPbkdf2", "Parameters of bare Spring `{pbkdf2}` hashes: `v5.5` (default), `v5.8`, or `DIGEST:ITERATIONS:SALT_BYTES:HASH_BYTES`.", json!({"type": "string", "example": "v5.5"}))
                .raw_body(
                    "application/x-ndjson",
                    "One JSON object per line: `loginId`, `email`, `emailVerified`, `name`, `profileImage`, `passwordHash`, `createdAt`, `accountId`, `providers` (`[{provider, subject}]`). `email` and one of `passwordHash`/`providers` are required.",
                    "{\"loginId\":\"parkh\",\"email\":\"parkh@example.com\",\"name\":\"홍길동\",\"passwordHash\":\"$2a$10$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG\",\"accountId\":7,\"providers\":[{\"provider\":\"kakao\",\"subject\":\"4021337\"}]}\n",
                )
                .reply::<ImportReportView>(
                    200,
                    "The report; refused lines are listed with their number and reason.",
                    json!({"success": true, "dryRun": false, "records": 3, "imported": 2, "skipped": 0, "rejected": 1, "conflicts": 0, "byScheme": {"bcrypt": 2}, "rejects": [{"line": 3, "reason": "email: not a valid email address"}], "rejectsTruncated": false}),
                )
                .reply::<Message>(400, "A query parameter is invalid.", failure("dryRun은 true 또는 false여야 합니다."))
                .reply::<Message>(413, "Body over `AUTH_IMPORT_MAX_BYTES`.", failure(IMPORT_TOO_LARGE))
        },
    }]
}
