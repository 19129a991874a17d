//! `/admin/audit`: the audit trail, filtered by user, kind and time. The
//! domain reads the latest events of one user or of everyone
//! ([`auth_domain::audit::AuditTrail::recent`], at most 1000); the kind
//! and the time are filtered here, over those, and the page says so.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use maud::html;

use auth_domain::audit::{AuditEvent, AuditKind};
use auth_domain::identity::user::UserId;

use super::layout::url_param;
use super::signin::{page_doc, route};
use super::{Area, enter};
use crate::provider::pages::Lang;
use crate::routes::{Method, Route};
use crate::state::AppState;

/// How many of the latest events are searched.
pub const SEARCHED: u32 = 1000;

/// What the page asks for; every part optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// One user's events.
    pub user: Option<UserId>,
    /// One kind.
    pub kind: Option<AuditKind>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before (the end of the minute, or second, the form gave).
    pub until: Option<DateTime<Utc>>,
}

/// The query parameter that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadField {
    /// `user`: not a positive number.
    User,
    /// `kind`: not a stored kind.
    Kind,
    /// `from`: not a date and time.
    From,
    /// `until`: not a date and time.
    Until,
}

/// A `datetime-local` value (`2026-01-31T09:30`, with or without
/// seconds) read as UTC: the instant and how long it lasts (a minute, or
/// a second when seconds were given).
pub fn datetime_local(raw: &str) -> Option<(DateTime<Utc>, Duration)> {
    let raw = raw.trim();
    let (t, span) = if raw.len() == 16 {
        (
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M").ok()?,
            Duration::minutes(1),
        )
    } else {
        (
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").ok()?,
            Duration::seconds(1),
        )
    };
    Some((t.and_utc(), span))
}

impl AuditFilter {
    /// The filter of a query string (`user`, `kind`, `from`, `until`;
    /// blank means any).
    ///
    /// # Errors
    /// The first parameter that cannot be read.
    pub fn parse(query: &str) -> Result<Self, BadField> {
        let param = |name| url_param(query, name).filter(|v| !v.trim().is_empty());
        let user = match param("user") {
            Some(u) => Some(
                u.trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map(UserId::new)
                    .ok_or(BadField::User)?,
            ),
            None => None,
        };
        let kind = match param("kind") {
            Some(k) => Some(AuditKind::parse(k.trim()).ok_or(BadField::Kind)?),
            None => None,
        };
        let from = match param("from") {
            Some(f) => Some(datetime_local(&f).ok_or(BadField::From)?.0),
            None => None,
        };
        let until = match param("until") {
            Some(u) => {
                let (t, span) = datetime_local(&u).ok_or(BadField::Until)?;
                Some(t + span)
            }
            None => None,
        };
        Ok(Self {
            user,
            kind,
            from,
            until,
        })
    }

    /// Whether `event` is asked for (its user is the store's to filter,
    /// and checked again here).
    pub fn keeps(&self, event: &AuditEvent) -> bool {
        self.user.is_none_or(|u| event.user_id == Some(u))
            && self.kind.is_none_or(|k| event.kind == k)
            && self.from.is_none_or(|f| event.at >= f)
            && self.until.is_none_or(|u| event.at < u)
    }
}

/// `GET /admin/audit?user=&kind=&from=&until=`.
pub async fn page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let ctx = match enter(&state, &req, Area::Admin).await {
        Ok(c) => c,
        Err(answer) => return answer,
    };
    let q = req.query_string();
    let filter = match AuditFilter::parse(q) {
        Ok(f) => f,
        Err(bad) => {
            let (ko, en) = match bad {
                BadField::User => ("사용자: 숫자 ID를 입력해주세요.", "User: a numeric user id."),
                BadField::Kind => ("종류: 목록에서 고르세요.", "Kind: one of the listed kinds."),
                BadField::From => (
                    "시작: 날짜와 시각(UTC)을 입력해주세요.",
                    "From: a date and time (UTC).",
                ),
                BadField::Until => (
                    "끝: 날짜와 시각(UTC)을 입력해주세요.",
                    "Until: a date and time (UTC).",
                ),
            };
            return ctx.message(
                StatusCode::BAD_REQUEST,
                ctx.t("검색하지 못했습니다", "The search was not run"),
                ctx.t(ko, en),
            );
        }
    };
    let events = match state.auth.audit_trail().recent(filter.user, SEARCHED).await {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "console: cannot read the audit trail");
            return ctx.unavailable();
        }
    };
    let read = events.len();
    let shown: Vec<&AuditEvent> = events.iter().filter(|e| filter.keeps(e)).collect();
    let value = |name| url_param(q, name).unwrap_or_default();
    let summary = match (filter.user, ctx.lang) {
        (Some(u), Lang::Ko) => format!(
            "사용자 {u}의 최근 감사 기록(최대 {SEARCHED}건)을 검색했습니다: 읽은 기록 {read}건, 조건에 맞는 기록 {}건.",
            shown.len()
        ),
        (None, Lang::Ko) => format!(
            "전체 사용자의 최근 감사 기록(최대 {SEARCHED}건)을 검색했습니다: 읽은 기록 {read}건, 조건에 맞는 기록 {}건.",
            shown.len()
        ),
        (Some(u), Lang::En) => format!(
            "Searched the latest {SEARCHED} events of user {u}: {read} read, {} matching.",
            shown.len()
        ),
        (None, Lang::En) => format!(
            "Searched the latest {SEARCHED} events of everyone: {read} read, {} matching.",
            shown.len()
        ),
    };
    let body = html! {
        form.stack method="get" action=(ctx.href("/admin/audit")) role="search" {
            label for="user" { (ctx.t("사용자 ID (숫자)", "User id (number)")) }
            input #user type="text" inputmode="numeric" name="user" value=(filter.user.map(|u| u.to_string()).unwrap_or_default());
            label for="kind" { (ctx.t("종류", "Kind")) }
            select #kind name="kind" {
                option value="" { (ctx.t("모든 종류", "Every kind")) }
                @for k in AuditKind::ALL {
                    option value=(k.as_str()) selected[filter.kind == Some(k)] { (k.as_str()) }
                }
            }
            label for="from" { (ctx.t("시작 (UTC)", "From (UTC)")) }
            input #from type="datetime-local" name="from" value=(value("from"));
            label for="until" { (ctx.t("끝 (UTC, 그 분 포함)", "Until (UTC, that minute included)")) }
            input #until type="datetime-local" name="until" value=(value("until"));
            button type="submit" { (ctx.t("검색", "Search")) }
        }
        p role="status" #searched { (summary) }
        div.scroll { table {
            thead { tr {
                th scope="col" { (ctx.t("시각", "Time")) }
                th scope="col" { (ctx.t("종류", "Kind")) }
                th scope="col" { (ctx.t("사용자", "User")) }
                th scope="col" { (ctx.t("세션", "Session")) }
                th scope="col" { "IP" }
                th scope="col" { (ctx.t("기기", "User agent")) }
                th scope="col" { (ctx.t("대상", "Target")) }
            } }
            tbody {
                @for e in &shown {
                    tr {
                        td { (e.at.format("%Y-%m-%d %H:%M:%S UTC")) }
                        td { code { (e.kind.as_str()) } }
                        td { @match e.user_id { Some(u) => a href=(ctx.href(&format!("/admin/users/{u}"))) { (u) }, None => "-" } }
                        td { (e.session_id.map_or_else(|| "-".to_owned(), |s| s.to_string())) }
                        td { (e.ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string())) }
                        td { (e.user_agent.as_deref().unwrap_or("-")) }
                        td { (e.target.as_deref().unwrap_or("-")) }
                    }
                }
            }
        } }
        @if shown.is_empty() { p { (ctx.t("조건에 맞는 기록이 없습니다.", "No event matches.")) } }
    };
    ctx.page(StatusCode::OK, ctx.t("감사 기록", "Audit trail"), body)
}

/// The audit trail's route.
pub fn routes() -> Vec<Route> {
    vec![route(
        Method::Get,
        "/admin/audit",
        "console.audit",
        || web::get().to(page),
        || {
            page_doc(
                "console.audit",
                "The audit trail",
                "The latest 1000 events of one user (`user`, a numeric id) or of everyone, filtered by `kind` (a stored kind) and time (`from`, `until`: `datetime-local` values read as UTC, `until` including its minute). An unreadable parameter is a 400 page naming it.",
            )
            .query_param("user", "A numeric user id.", serde_json::json!({"type": "string"}))
            .query_param("kind", "A stored kind (`login_success`, …).", serde_json::json!({"type": "string"}))
            .query_param("from", "At or after (UTC), `YYYY-MM-DDTHH:MM`.", serde_json::json!({"type": "string"}))
            .query_param("until", "Up to the end of that minute (UTC).", serde_json::json!({"type": "string"}))
        },
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap()
    }

    fn event(kind: AuditKind, user: Option<i64>, t: &str) -> AuditEvent {
        AuditEvent {
            at: at(t),
            kind,
            user_id: user.map(UserId::new),
            session_id: None,
            ip: None,
            user_agent: None,
            target: None,
        }
    }

    #[test]
    fn datetime_local_is_read_as_utc_with_its_precision() {
        assert_eq!(
            datetime_local("2026-01-31T09:30"),
            Some((at("2026-01-31T09:30:00Z"), Duration::minutes(1)))
        );
        assert_eq!(
            datetime_local("2026-01-31T09:30:15"),
            Some((at("2026-01-31T09:30:15Z"), Duration::seconds(1)))
        );
        assert_eq!(
            datetime_local("2026-01-31T09:30:15.250").map(|(t, _)| t),
            Some(at("2026-01-31T09:30:15.250Z"))
        );
        for bad in [
            "",
            "2026-01-31",
            "2026-13-01T00:00",
            "2026-01-31 09:30",
            "09:30",
            "2026-01-31T09:30Z",
            "x".repeat(16).as_str(),
        ] {
            assert_eq!(datetime_local(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_query_is_parsed_and_blank_means_any() {
        assert_eq!(AuditFilter::parse(""), Ok(AuditFilter::default()));
        assert_eq!(
            AuditFilter::parse("user=&kind=&from=&until="),
            Ok(AuditFilter::default())
        );
        let f =
            AuditFilter::parse("user=7&kind=login_failure&from=2026-01-31T09%3A30&until=2026-01-31T10:00")
                .unwrap();
        assert_eq!(f.user, Some(UserId::new(7)));
        assert_eq!(f.kind, Some(AuditKind::LoginFailure));
        assert_eq!(f.from, Some(at("2026-01-31T09:30:00Z")));
        assert_eq!(f.until, Some(at("2026-01-31T10:01:00Z")));
        assert_eq!(AuditFilter::parse("user=seven"), Err(BadField::User));
        assert_eq!(AuditFilter::parse("user=-1"), Err(BadField::User));
        assert_eq!(AuditFilter::parse("kind=nope"), Err(BadField::Kind));
        assert_eq!(AuditFilter::parse("from=yesterday"), Err(BadField::From));
        assert_eq!(AuditFilter::parse("until=2026-02-30T00:00"), Err(BadField::Until));
    }

    #[test]
    fn the_filter_keeps_what_matches_every_part() {
        let f = AuditFilter::parse("user=7&kind=login_failure&from=2026-01-31T09:30&until=2026-01-31T10:00")
            .unwrap();
        assert!(f.keeps(&event(AuditKind::LoginFailure, Some(7), "2026-01-31T09:30:00Z")));
        assert!(f.keeps(&event(AuditKind::LoginFailure, Some(7), "2026-01-31T10:00:59Z")));
        assert!(!f.keeps(&event(AuditKind::LoginFailure, Some(7), "2026-01-31T10:01:00Z")));
        assert!(!f.keeps(&event(AuditKind::LoginFailure, Some(7), "2026-01-31T09:29:59Z")));
        assert!(!f.keeps(&event(AuditKind::LoginSuccess, Some(7), "2026-01-31T09:45:00Z")));
        assert!(!f.keeps(&event(AuditKind::LoginFailure, Some(8), "2026-01-31T09:45:00Z")));
        assert!(!f.keeps(&event(AuditKind::LoginFailure, None, "2026-01-31T09:45:00Z")));
        assert!(AuditFilter::default().keeps(&event(AuditKind::Logout, None, "2000-01-01T00:00:00Z")));
    }
}
