//! `GET /ws` for the `session` contract (and the hand-over to [`crate::chat`]
//! for connections that present an `App-Id`).

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use auth_domain::AuthService;
use auth_domain::ports::Clock;
use auth_domain::sessions::session::SessionId;
use auth_domain::sessions::status::{LiveSessionError, SessionStatus};
use futures_channel::mpsc;
use futures_util::StreamExt;
use serde_json::json;
use tokio::time::Instant;

use crate::messages::{end_message, frame};
use crate::registry::{Push, Registration};
use crate::{WsConfig, WsState};

/// A request's query parameters (empty when the query string is malformed).
pub fn query(req: &HttpRequest) -> HashMap<String, String> {
    web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default()
}

/// The access token: `Authorization: Bearer …`, else (browsers cannot set
/// headers on a WebSocket) the `token` or `access_token` query parameter.
fn access_token(req: &HttpRequest, query: &HashMap<String, String>) -> Option<String> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    header
        .or_else(|| query.get("token").cloned())
        .or_else(|| query.get("access_token").cloned())
        .filter(|t| !t.is_empty())
}

fn refuse(status: actix_web::http::StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({"success": false, "message": message}))
}

/// `GET /ws`: authenticates the handshake, then serves the socket.
pub async fn ws(req: HttpRequest, body: web::Payload, state: web::Data<WsState>) -> HttpResponse {
    let query = query(&req);
    if crate::chat::wants_chat(&req, &query) {
        return crate::chat::ws(req, body, state, query).await;
    }
    let Some(token) = access_token(&req, &query) else {
        return refuse(actix_web::http::StatusCode::UNAUTHORIZED, "인증이 필요합니다.");
    };
    let live = match state.auth.sessions().authenticate_live(&token).await {
        Ok(live) => live,
        Err(LiveSessionError::Token(_)) => {
            return refuse(
                actix_web::http::StatusCode::UNAUTHORIZED,
                "유효하지 않은 토큰입니다.",
            );
        }
        Err(LiveSessionError::Internal(e)) => {
            tracing::error!(error = %e, "socket authentication failed");
            return refuse(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "일시적으로 서비스를 이용할 수 없습니다.",
            );
        }
    };
    let (response, session, stream) = match actix_ws::handle(&req, body) {
        Ok(parts) => parts,
        Err(e) => return e.error_response(),
    };
    let (tx, rx) = mpsc::unbounded();
    let registration = state.registry.register(live.claims.sid, live.claims.sub, tx);
    let socket = Socket {
        session,
        stream,
        pushes: rx,
        _registration: registration,
        auth: state.auth.clone(),
        sid: live.claims.sid,
        config: state.config,
        clock: state.clock.clone(),
    };
    actix_web::rt::spawn(socket.run());
    response
}

struct Socket {
    session: Session,
    stream: MessageStream,
    pushes: mpsc::UnboundedReceiver<Push>,
    _registration: Registration,
    auth: AuthService,
    sid: SessionId,
    config: WsConfig,
    clock: Arc<dyn Clock>,
}

fn closing(description: &str) -> Option<CloseReason> {
    Some(CloseReason {
        code: CloseCode::Normal,
        description: Some(description.to_owned()),
    })
}

impl Socket {
    /// Sends `LOGOUT` and says how to close.
    async fn logout(&mut self, message: &str) -> Option<CloseReason> {
        if self
            .session
            .text(frame("LOGOUT", message, self.clock.now().timestamp_millis()))
            .await
            .is_ok()
        {
            metrics::counter!("auth_ws_pushes_total", "type" => "LOGOUT").increment(1);
        }
        closing("LOGOUT")
    }

    async fn run(mut self) {
        // One timer for both duties (a socket is mostly idle memory, and
        // each tokio interval is a boxed timer entry): it fires at the next
        // heartbeat or session check, whichever comes first.
        let heartbeat_every = self.config.heartbeat;
        let check_every = Some(self.config.session_check).filter(|d| !d.is_zero());
        let mut next_beat = Instant::now() + heartbeat_every;
        let mut next_check = check_every.map(|d| Instant::now() + d);
        let timer = tokio::time::sleep_until(next_check.map_or(next_beat, |c| c.min(next_beat)));
        tokio::pin!(timer);
        let mut last_seen = Instant::now();
        // A revocation announced between the handshake's check and the
        // registration would have been missed: look once more.
        let mut reason = match self.auth.sessions().session_status(self.sid).await {
            Ok(SessionStatus::Ended(why)) => Some(self.logout(end_message(why)).await),
            _ => None,
        };
        while reason.is_none() {
            tokio::select! {
                message = self.stream.recv() => match message {
                    Some(Ok(Message::Ping(bytes))) => {
                        last_seen = Instant::now();
                        if self.session.pong(&bytes).await.is_err() {
                            reason = Some(None);
                        }
                    }
                    Some(Ok(Message::Close(close))) => reason = Some(close),
                    Some(Ok(_)) => last_seen = Instant::now(),
                    Some(Err(_)) | None => reason = Some(None),
                },
                push = self.pushes.next() => match push {
                    Some(Push::Logout(message)) => reason = Some(self.logout(&message).await),
                    Some(Push::Notification(message)) => {
                        if self.session.text(frame("NOTIFICATION", &message, self.clock.now().timestamp_millis())).await.is_err() {
                            reason = Some(None);
                        } else {
                            metrics::counter!("auth_ws_pushes_total", "type" => "NOTIFICATION").increment(1);
                        }
                    }
                    // Only `chat` sockets hear of applications.
                    Some(Push::AppRevoked) => {}
                    Some(Push::GoingAway) => reason = Some(Some(crate::registry::going_away())),
                    None => reason = Some(None),
                },
                () = &mut timer => {
                    let now = Instant::now();
                    if now >= next_beat {
                        next_beat = now + heartbeat_every;
                        if last_seen.elapsed() > self.config.idle_timeout {
                            reason = Some(Some(CloseReason { code: CloseCode::Away, description: Some("idle timeout".into()) }));
                        } else if self.session.ping(b"").await.is_err() {
                            reason = Some(None);
                        }
                    }
                    if reason.is_none() && let (Some(at), Some(every)) = (next_check, check_every) && now >= at {
                        next_check = Some(now + every);
                        if let Ok(SessionStatus::Ended(why)) = self.auth.sessions().session_status(self.sid).await {
                            reason = Some(self.logout(end_message(why)).await);
                        }
                    }
                    timer.as_mut().reset(next_check.map_or(next_beat, |c| c.min(next_beat)));
                }
            }
        }
        let _ = self.session.close(reason.flatten()).await;
    }
}
