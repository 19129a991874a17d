//! `/ws` for the `chat` contract (seed 000): a connection that presents an
//! `App-Id` (header, or `app_id`/`appId` query parameter) speaks event
//! frames.
//!
//! - Handshake: `App-Id` and a token (`Authorization`, raw or `Bearer`, or
//!   the `token`/`access_token` query parameter), verified by
//!   `Chat::authenticate_chat`. Invalid: HTTP 400
//!   `{"error":"Invalid request"}` and no upgrade.
//! - `{"event":"connect","data":{"userId"}}` with the token's user →
//!   `{"event":"connected","data":{"status":"success","userId","timestamp"}}`
//!   and the token's [`ChatUser`] is present in [`ChatPresence`] (an
//!   application's user by its `sub`, our own user by UUID whatever name
//!   the frame used: the two namespaces never share an entry).
//! - `{"event":"disconnect","data":{"userId"}}` → `disconnected`, sent
//!   before the close frame; the presence entry is cleared.
//! - Anything else (wrong user, unknown event, non-JSON, binary) →
//!   `{"error":"Invalid request"}` and close.
//! - Heartbeat and idle timeout as for `session` sockets; the socket closes
//!   when the token expires.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use auth_domain::AuthService;
use auth_domain::chat::use_cases::{ChatAuthError, ChatIdentity};
use auth_domain::chat::{AppId, ChatUser};
use auth_domain::ports::Clock;
use chrono::{DateTime, SecondsFormat, Utc};
use futures_channel::mpsc;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::time::{Instant, interval_at};

use crate::registry::{Push, Registration};
use crate::{WsConfig, WsState};

/// The body of every refusal of this contract.
pub const INVALID_REQUEST: &str = "Invalid request";

/// Which `(application, user)` pairs have a connected chat socket on this
/// instance, and how many. Keyed by [`ChatUser`], so an application's user
/// and one of ours with the same id string are different entries.
#[derive(Default)]
pub struct ChatPresence {
    inner: Mutex<HashMap<(AppId, ChatUser), usize>>,
}

impl std::fmt::Debug for ChatPresence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatPresence")
            .field("users", &self.len())
            .finish()
    }
}

/// Marks a user present until dropped (on `disconnect`, or when the socket
/// ends for any reason).
#[derive(Debug)]
pub struct PresenceGuard {
    key: (AppId, ChatUser),
    presence: Arc<ChatPresence>,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        let mut inner = self.presence.lock();
        if let Some(n) = inner.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                inner.remove(&self.key);
            }
        }
    }
}

impl ChatPresence {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(AppId, ChatUser), usize>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks `user` of `app` present until the guard is dropped.
    pub fn enter(self: &Arc<Self>, app: AppId, user: ChatUser) -> PresenceGuard {
        let key = (app, user);
        *self.lock().entry(key.clone()).or_default() += 1;
        PresenceGuard {
            key,
            presence: self.clone(),
        }
    }

    /// Whether `user` of `app` has a connected socket here.
    pub fn is_present(&self, app: &AppId, user: &ChatUser) -> bool {
        self.lock().contains_key(&(app.clone(), user.clone()))
    }

    /// How many `(application, user)` pairs are present.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nobody is present.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether the request asks for the `chat` contract (presents an `App-Id`).
pub fn wants_chat(req: &HttpRequest, query: &HashMap<String, String>) -> bool {
    req.headers().contains_key("app-id") || query.contains_key("app_id") || query.contains_key("appId")
}

fn app_id(req: &HttpRequest, query: &HashMap<String, String>) -> Option<String> {
    req.headers()
        .get("app-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .or_else(|| query.get("app_id").cloned())
        .or_else(|| query.get("appId").cloned())
        .filter(|v| !v.is_empty())
}

/// The token: `Authorization` raw or `Bearer …`, else the `token` or
/// `access_token` query parameter.
fn token(req: &HttpRequest, query: &HashMap<String, String>) -> Option<String> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let v = v.trim();
            match v.split_once(' ') {
                Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim().to_owned(),
                _ => v.to_owned(),
            }
        });
    header
        .or_else(|| query.get("token").cloned())
        .or_else(|| query.get("access_token").cloned())
        .filter(|t| !t.is_empty())
}

fn invalid(status: StatusCode) -> HttpResponse {
    let message = if status == StatusCode::SERVICE_UNAVAILABLE {
        "Service unavailable"
    } else {
        INVALID_REQUEST
    };
    HttpResponse::build(status).json(json!({"error": message}))
}

/// `GET /ws` with an `App-Id`: authenticates the handshake, then serves
/// the chat socket.
pub async fn ws(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<WsState>,
    query: HashMap<String, String>,
) -> HttpResponse {
    let (Some(app), Some(token)) = (app_id(&req, &query), token(&req, &query)) else {
        return invalid(StatusCode::BAD_REQUEST);
    };
    let identity = match state.auth.chat().authenticate_chat(&app, &token).await {
        Ok(identity) => identity,
        Err(ChatAuthError::UnknownApp | ChatAuthError::Token(_)) => return invalid(StatusCode::BAD_REQUEST),
        Err(ChatAuthError::Internal(e)) => {
            tracing::error!(error = %e, "chat socket authentication failed");
            return invalid(StatusCode::SERVICE_UNAVAILABLE);
        }
    };
    let (response, session, stream) = match actix_ws::handle(&req, body) {
        Ok(parts) => parts,
        Err(e) => return e.error_response(),
    };
    // In the registry like every socket of a session: a revocation of its
    // session (our own token) or of its application closes it.
    let (tx, rx) = mpsc::unbounded();
    let registration = state
        .registry
        .register_chat(identity.app_id.clone(), identity.session, tx);
    let socket = ChatSocket {
        session,
        stream,
        pushes: rx,
        _registration: registration,
        auth: state.auth.clone(),
        identity,
        presence: state.chat.clone(),
        present: None,
        config: state.config,
        clock: state.clock.clone(),
    };
    actix_web::rt::spawn(socket.run());
    response
}

/// `2025-01-18T12:00:00Z`.
fn timestamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A client frame this contract understands.
#[derive(Debug, PartialEq, Eq)]
enum Event {
    Connect(String),
    Disconnect(String),
}

fn parse(text: &str) -> Option<Event> {
    let value: Value = serde_json::from_str(text).ok()?;
    let user = value.get("data")?.get("userId")?.as_str()?.to_owned();
    match value.get("event")?.as_str()? {
        "connect" => Some(Event::Connect(user)),
        "disconnect" => Some(Event::Disconnect(user)),
        _ => None,
    }
}

struct ChatSocket {
    session: Session,
    stream: MessageStream,
    pushes: mpsc::UnboundedReceiver<Push>,
    _registration: Registration,
    auth: AuthService,
    identity: ChatIdentity,
    presence: Arc<ChatPresence>,
    present: Option<PresenceGuard>,
    config: WsConfig,
    clock: Arc<dyn Clock>,
}

fn policy(description: &str) -> Option<CloseReason> {
    Some(CloseReason {
        code: CloseCode::Policy,
        description: Some(description.to_owned()),
    })
}

/// The close of a socket whose session ended.
pub const SESSION_ENDED: &str = "session ended";
/// The close of a socket whose application was deleted or re-keyed.
pub const APP_REVOKED: &str = "application revoked";

fn normal(description: &str) -> Option<CloseReason> {
    Some(CloseReason {
        code: CloseCode::Normal,
        description: Some(description.to_owned()),
    })
}

impl ChatSocket {
    /// Answers `{"error":"Invalid request"}` and says how to close.
    async fn refuse(&mut self) -> Option<CloseReason> {
        let _ = self
            .session
            .text(json!({"error": INVALID_REQUEST}).to_string())
            .await;
        Some(CloseReason {
            code: CloseCode::Policy,
            description: Some(INVALID_REQUEST.to_owned()),
        })
    }

    /// Handles one text frame; `Some` means close with that reason.
    async fn on_text(&mut self, text: &str) -> Option<Option<CloseReason>> {
        match parse(text) {
            Some(Event::Connect(user)) if self.identity.is_user(&user) => {
                // One presence entry per connection, however many connects;
                // keyed by the token's user, not by the name in the frame.
                self.present = None;
                self.present = Some(
                    self.presence
                        .enter(self.identity.app_id.clone(), self.identity.user.clone()),
                );
                let frame = json!({"event": "connected", "data": {
                    "status": "success", "userId": user, "timestamp": timestamp(self.clock.now()),
                }});
                if self.session.text(frame.to_string()).await.is_err() {
                    return Some(None);
                }
                None
            }
            Some(Event::Disconnect(user)) if self.identity.is_user(&user) => {
                let frame = json!({"event": "disconnected", "data": {
                    "status": "disconnected", "userId": user, "timestamp": timestamp(self.clock.now()),
                }});
                let _ = self.session.text(frame.to_string()).await;
                self.present = None;
                Some(normal("disconnected"))
            }
            _ => Some(self.refuse().await),
        }
    }

    /// Why the socket must close now, if its session or application ended
    /// (an infrastructure failure keeps it open until the next check).
    async fn ended(&self) -> Option<Option<CloseReason>> {
        match self.auth.chat().chat_socket_live(&self.identity).await {
            Ok(false) if self.identity.session.is_some() => Some(policy(SESSION_ENDED)),
            Ok(false) => Some(policy(APP_REVOKED)),
            Ok(true) => None,
            Err(e) => {
                tracing::warn!(error = %e, "chat socket check failed");
                None
            }
        }
    }

    async fn run(mut self) {
        let heartbeat_every = self.config.heartbeat;
        let mut heartbeat = interval_at(Instant::now() + heartbeat_every, heartbeat_every);
        // The periodic check catches an announcement this instance missed.
        let check_every = Some(self.config.session_check)
            .filter(|d| !d.is_zero())
            .unwrap_or(Duration::from_secs(86_400 * 365));
        let mut check = interval_at(Instant::now() + check_every, check_every);
        let mut last_seen = Instant::now();
        let left = (self.identity.expires_at - self.clock.now())
            .to_std()
            .unwrap_or_default();
        let expiry = tokio::time::sleep(left);
        tokio::pin!(expiry);
        // A revocation announced between the handshake's check and the
        // registration would have been missed: look once more.
        let mut reason: Option<Option<CloseReason>> = self.ended().await;
        while reason.is_none() {
            tokio::select! {
                message = self.stream.recv() => match message {
                    Some(Ok(Message::Text(text))) => {
                        last_seen = Instant::now();
                        reason = self.on_text(&text).await;
                    }
                    Some(Ok(Message::Binary(_))) => reason = Some(self.refuse().await),
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
                _ = heartbeat.tick() => {
                    if last_seen.elapsed() > self.config.idle_timeout {
                        reason = Some(Some(CloseReason { code: CloseCode::Away, description: Some("idle timeout".into()) }));
                    } else if self.session.ping(b"").await.is_err() {
                        reason = Some(None);
                    }
                }
                push = self.pushes.next() => match push {
                    // A session's end, whatever its reason: the contract
                    // has no LOGOUT frame, so the close says it.
                    Some(Push::Logout(_)) => reason = Some(policy(SESSION_ENDED)),
                    Some(Push::AppRevoked) => reason = Some(policy(APP_REVOKED)),
                    Some(Push::GoingAway) => reason = Some(Some(crate::registry::going_away())),
                    Some(Push::Notification(_)) => {}
                    None => reason = Some(None),
                },
                _ = check.tick() => reason = self.ended().await,
                () = &mut expiry => {
                    reason = Some(policy("token expired"));
                }
            }
        }
        // Everything cached for this connection goes before the close frame
        // leaves, so a client that sees the close sees the presence gone.
        self.present = None;
        let _ = self.session.close(reason.flatten()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_parsed_strictly() {
        assert_eq!(
            parse(r#"{"event":"connect","data":{"userId":"u1"}}"#),
            Some(Event::Connect("u1".into()))
        );
        assert_eq!(
            parse(r#"{"event":"disconnect","data":{"userId":"u1"}}"#),
            Some(Event::Disconnect("u1".into()))
        );
        for bad in [
            "",
            "nope",
            "[]",
            r#"{"event":"connect"}"#,
            r#"{"event":"connect","data":{"userId":1}}"#,
            r#"{"event":"join","data":{"userId":"u1"}}"#,
            r#"{"data":{"userId":"u1"}}"#,
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn presence_counts_connections_and_guards_clear_it() {
        let presence = Arc::new(ChatPresence::default());
        let app = AppId::parse("app_a").unwrap();
        let u = ChatUser::App("u".into());
        let a = presence.enter(app.clone(), u.clone());
        let b = presence.enter(app.clone(), u.clone());
        assert!(presence.is_present(&app, &u));
        assert_eq!(presence.len(), 1);
        drop(a);
        assert!(presence.is_present(&app, &u));
        drop(b);
        assert!(!presence.is_present(&app, &u));
        assert!(presence.is_empty());
    }

    #[test]
    fn timestamps_are_iso_seconds_utc() {
        let t = timestamp(DateTime::from_timestamp(1_737_201_600, 0).unwrap());
        assert_eq!(t, "2025-01-18T12:00:00Z");
    }
}
