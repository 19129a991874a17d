//! The `chat` contract's use cases: registering an application, a chat
//! login (`POST /auth/login` with `App-Id`), and authenticating a chat
//! socket.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::admin::AdminError;
use crate::audit::AuditKind;
use crate::caller::Caller;
use crate::chat::{
    App, AppId, AppRepository, AppTokens, ChatProfile, ChatProfiles, ChatUser, CreatedApp,
    MAX_APP_NAME_CHARS, MAX_CHAT_ID_CHARS, MAX_FRIENDS, MAX_NICKNAME_CHARS, MAX_PROFILE_URL_CHARS,
    UpsertOutcome,
};
use crate::error::PortError;
use crate::identity::ports::UserRepository;
use crate::service_core::ServiceCore;
use crate::sessions::ports::EventBus;
use crate::sessions::session::SessionId;
use crate::sessions::status::LiveSessionError;
use crate::sessions::token::TokenError;
use crate::sessions::tokens::Sessions;

/// The adapters the `chat` use cases work through.
#[derive(Clone)]
pub struct ChatPorts {
    /// Registered applications.
    pub apps: Arc<dyn AppRepository>,
    /// Application secrets and tokens.
    pub tokens: Arc<dyn AppTokens>,
    /// Users' profiles per application.
    pub profiles: Arc<dyn ChatProfiles>,
}

impl std::fmt::Debug for ChatPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChatPorts { .. }")
    }
}

/// Why an application could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum CreateAppError {
    /// The name is blank or longer than [`MAX_APP_NAME_CHARS`].
    #[error("invalid application name")]
    InvalidName,
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

/// What a chat login sends, as parsed from the body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatProfileInput {
    /// `userId`: must name the token's subject.
    pub user_id: String,
    /// `nickname`.
    pub nickname: Option<String>,
    /// `profileImageUrl`.
    pub profile_image_url: Option<String>,
    /// `friends`.
    pub friends: Vec<String>,
}

/// A successful chat login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLogin {
    /// The `userId` the client sent.
    pub user_id: String,
    /// The token's expiry.
    pub expires_at: DateTime<Utc>,
    /// Whether this was the user's first login in the application.
    pub registered: bool,
}

/// Why a chat login was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChatLoginError {
    /// `App-Id` is malformed or names no registered application.
    #[error("unknown application")]
    UnknownApp,
    /// The token is neither the application's nor ours, or has expired.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The token's `sub` is not `userId`, or its `app_id` is not `App-Id`.
    #[error("token does not match the request")]
    Mismatch,
    /// A profile field is out of bounds.
    #[error("invalid profile")]
    InvalidProfile,
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

/// Who a chat login or socket belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatIdentity {
    /// The application.
    pub app_id: AppId,
    /// The user: [`ChatUser::App`] with the `sub` of an application's token,
    /// or [`ChatUser::Own`] with the UUID of one of our access tokens. This,
    /// not the name a client sends, keys the stored profile and presence.
    pub user: ChatUser,
    /// For our own access tokens: the user's login id, which clients may
    /// send as `userId` instead of the UUID.
    pub login_id: Option<String>,
    /// The token's expiry.
    pub expires_at: DateTime<Utc>,
    /// For our own access tokens: the session the token belongs to. A chat
    /// socket opened with it ends with the session (logout, revocation,
    /// disable, withdrawal).
    pub session: Option<SessionId>,
    /// The application's secret version when the socket was opened: a
    /// re-key (or a delete) ends the application's sockets
    /// ([`Chat::chat_socket_live`]).
    pub secret_version: i64,
}

impl ChatIdentity {
    /// Whether `user_id` (as a client sends it) names this identity's user:
    /// for an application's token, its `sub`; for our own, the UUID or the
    /// login id. Either way the user meant is [`ChatIdentity::user`], so a
    /// login id of ours that equals an application's user id never names
    /// that application's user.
    pub fn is_user(&self, user_id: &str) -> bool {
        match &self.user {
            ChatUser::App(sub) => sub == user_id,
            ChatUser::Own(uuid) => uuid.to_string() == user_id || self.login_id.as_deref() == Some(user_id),
        }
    }
}

/// Why a chat socket could not be authenticated.
#[derive(Debug, thiserror::Error)]
pub enum ChatAuthError {
    /// `App-Id` is malformed or names no registered application.
    #[error("unknown application")]
    UnknownApp,
    /// The token is unusable, or its `app_id` is another application.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

impl From<ChatAuthError> for ChatLoginError {
    fn from(e: ChatAuthError) -> Self {
        match e {
            ChatAuthError::UnknownApp => Self::UnknownApp,
            ChatAuthError::Token(t) => Self::Token(t),
            ChatAuthError::Internal(p) => Self::Internal(p),
        }
    }
}

fn bounded(s: &str, max: usize) -> bool {
    s.chars().count() <= max
}

fn valid_profile(p: &ChatProfileInput) -> bool {
    !p.user_id.trim().is_empty()
        && bounded(&p.user_id, MAX_CHAT_ID_CHARS)
        && p.nickname
            .as_deref()
            .is_none_or(|n| bounded(n, MAX_NICKNAME_CHARS))
        && p.profile_image_url
            .as_deref()
            .is_none_or(|u| bounded(u, MAX_PROFILE_URL_CHARS))
        && p.friends.len() <= MAX_FRIENDS
        && p.friends
            .iter()
            .all(|f| !f.is_empty() && bounded(f, MAX_CHAT_ID_CHARS))
}

/// The `chat` contract's applications: registering, listing, deleting and
/// re-keying them ([`crate::admin`]), and checking an application's
/// secret. Cheap to clone.
#[derive(Clone)]
pub struct Apps {
    pub(crate) core: ServiceCore,
    pub(crate) apps: Arc<dyn AppRepository>,
    pub(crate) app_tokens: Arc<dyn AppTokens>,
    /// Where a delete or re-key is announced (its sockets close).
    pub(crate) events: Arc<dyn EventBus>,
}

impl std::fmt::Debug for Apps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Apps { .. }")
    }
}

impl Apps {
    /// The application use cases over the application store `apps` and
    /// `app_tokens`, which derives their secrets; a delete or re-key is
    /// announced on `events` (the application's sockets close). No user,
    /// session or token-signing port is involved.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use auth_domain::chat::use_cases::Apps;
    /// use auth_domain::testing::chat::ChatFakes;
    /// use auth_domain::testing::{RecordingBus, test_core};
    /// use auth_domain::{AuthPolicy, Caller};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let chat = ChatFakes::default().ports();
    /// let apps = Apps::new(test_core(AuthPolicy::default()), chat.apps, chat.tokens, Arc::new(RecordingBus::default()));
    /// let created = apps.create_app("Chat", &Caller::new("cli")).await.expect("registered");
    /// assert!(created.app.id.as_str().starts_with("app_"));
    /// assert!(apps.verify_app_client(created.app.id.as_str(), &created.secret).await.expect("checked"));
    /// assert_eq!(apps.list_apps().await.expect("listed").len(), 1);
    /// # }
    /// ```
    pub fn new(
        core: ServiceCore,
        apps: Arc<dyn AppRepository>,
        app_tokens: Arc<dyn AppTokens>,
        events: Arc<dyn EventBus>,
    ) -> Self {
        Self {
            core,
            apps,
            app_tokens,
            events,
        }
    }

    /// Registers an application and returns it with its secret. The secret
    /// is derived, not stored: show it once.
    ///
    /// # Errors
    /// [`CreateAppError`].
    pub async fn create_app(&self, name: &str, caller: &Caller) -> Result<CreatedApp, CreateAppError> {
        let name = name.trim();
        // Control characters (NUL above all: PostgreSQL text refuses it)
        // are refused like a blank name.
        if name.is_empty() || !bounded(name, MAX_APP_NAME_CHARS) || name.chars().any(char::is_control) {
            return Err(CreateAppError::InvalidName);
        }
        let mut bytes = [0u8; 12];
        self.core.fill(&mut bytes);
        let id = AppId::parse(&format!("app_{}", hex::encode(bytes)))
            .map_err(|()| PortError::new("generate application id", "malformed id"))?;
        let app = App {
            id,
            name: name.to_owned(),
            created_at: self.core.now(),
            secret_version: 0,
        };
        self.apps.create(&app).await?;
        let secret = self.app_tokens.issue_secret(&app)?;
        self.core
            .audit_admin(
                crate::audit::AuditKind::AdminAppCreate,
                None,
                None,
                format!("app:{}", app.id),
                caller,
            )
            .await;
        Ok(CreatedApp { app, secret })
    }

    /// Whether `secret` is the secret of the registered application
    /// `app_id` (client authentication of introspection). Compared in
    /// constant time.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    pub async fn verify_app_client(&self, app_id: &str, secret: &str) -> Result<bool, PortError> {
        let Ok(app_id) = AppId::parse(app_id) else {
            return Ok(false);
        };
        let Some(app) = self.apps.get(&app_id).await? else {
            return Ok(false);
        };
        // The current secret: a rotated-away one no longer authenticates.
        let expected = self.app_tokens.issue_secret(&app)?;
        let (a, b) = (expected.as_bytes(), secret.as_bytes());
        // Every byte is compared whatever the first difference; the length
        // (64 hex digits for every application) is no secret.
        let diff = a
            .iter()
            .zip(b)
            .fold(u8::from(a.len() != b.len()), |acc, (x, y)| acc | (x ^ y));
        Ok(diff == 0)
    }
}

/// The administrator's application use cases (the internal API and
/// `auth-server apps …`), each audited with its target.
impl Apps {
    /// Every registered application, oldest first.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    pub async fn list_apps(&self) -> Result<Vec<App>, PortError> {
        self.apps.list().await
    }

    /// Deletes an application and its users' profiles: its tokens stop
    /// verifying at once, and its chat sockets are closed
    /// ([`Event::AppRevoked`](crate::sessions::events::Event::AppRevoked)).
    ///
    /// # Errors
    /// [`AdminError::UnknownApp`], or [`AdminError::Internal`].
    pub async fn delete_app(&self, id: &AppId, caller: &Caller) -> Result<(), AdminError> {
        if !self.apps.delete(id).await? {
            return Err(AdminError::UnknownApp);
        }
        self.events
            .publish(crate::sessions::events::Event::AppRevoked { app: id.clone() })
            .await;
        self.core
            .audit_admin(AuditKind::AdminAppDelete, None, None, format!("app:{id}"), caller)
            .await;
        Ok(())
    }

    /// Gives an application a new secret and returns it (shown once); tokens
    /// signed with the old secret stop verifying at once, and the sockets
    /// opened before are closed
    /// ([`Event::AppRevoked`](crate::sessions::events::Event::AppRevoked)).
    ///
    /// # Errors
    /// [`AdminError::UnknownApp`], or [`AdminError::Internal`].
    pub async fn rotate_app_secret(&self, id: &AppId, caller: &Caller) -> Result<CreatedApp, AdminError> {
        let app = self.apps.rotate_secret(id).await?.ok_or(AdminError::UnknownApp)?;
        self.events
            .publish(crate::sessions::events::Event::AppRevoked { app: id.clone() })
            .await;
        let secret = self.app_tokens.issue_secret(&app)?;
        self.core
            .audit_admin(
                AuditKind::AdminAppSecretRotate,
                None,
                None,
                format!("app:{id}"),
                caller,
            )
            .await;
        Ok(CreatedApp { app, secret })
    }
}

/// The `chat` contract's logins: authenticating a chat token (an
/// application's, or one of our access tokens) and registering or updating
/// the user's profile. Cheap to clone.
#[derive(Clone)]
pub struct Chat {
    core: ServiceCore,
    sessions: Sessions,
    users: Arc<dyn UserRepository>,
    chat: ChatPorts,
}

impl std::fmt::Debug for Chat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Chat { .. }")
    }
}

impl Chat {
    /// The chat use cases: our own access tokens checked against live
    /// sessions with `sessions` and their accounts in `users`; applications,
    /// their tokens and the profiles through `chat`.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use auth_domain::chat::use_cases::{Chat, ChatAuthError};
    /// use auth_domain::sessions::issuer::{SessionIssuer, SessionRevoker};
    /// use auth_domain::sessions::tokens::Sessions;
    /// use auth_domain::testing::chat::ChatFakes;
    /// use auth_domain::testing::*;
    /// use auth_domain::AuthPolicy;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let users = Arc::new(MemUsers::default());
    /// let revoker = SessionRevoker::new(Arc::new(MemSessions::default()), Arc::new(RecordingBus::default()));
    /// let issuer = SessionIssuer::new(test_core(AuthPolicy::default()), Arc::new(FakeTokens), users.clone(), revoker);
    /// let chat = Chat::new(Sessions::new(issuer, users.clone()), users, ChatFakes::default().ports());
    /// let unknown = chat.authenticate_chat("app_unknown", "a token").await;
    /// assert!(matches!(unknown, Err(ChatAuthError::UnknownApp)));
    /// # }
    /// ```
    pub fn new(sessions: Sessions, users: Arc<dyn UserRepository>, chat: ChatPorts) -> Self {
        Self {
            core: sessions.core.clone(),
            sessions,
            users,
            chat,
        }
    }

    /// Verifies a chat token for `app_id`: a token signed by that
    /// application (`app_id` claim, when present, equal to `app_id`), which
    /// names [`ChatUser::App`], or one of our own access tokens (its session
    /// must still be live: a logout ends chat logins too), which names
    /// [`ChatUser::Own`].
    ///
    /// # Errors
    /// [`ChatAuthError`].
    pub async fn authenticate_chat(&self, app_id: &str, token: &str) -> Result<ChatIdentity, ChatAuthError> {
        let app_id = AppId::parse(app_id).map_err(|()| ChatAuthError::UnknownApp)?;
        let Some(app) = self.chat.apps.get(&app_id).await? else {
            return Err(ChatAuthError::UnknownApp);
        };
        let now = self.core.now();
        let app_error = match self.chat.tokens.verify(&app, token, now) {
            Ok(claims) => {
                if claims.app_id.as_deref().is_some_and(|a| a != app_id.as_str()) {
                    return Err(TokenError::Invalid.into());
                }
                let expires_at = DateTime::from_timestamp(claims.exp, 0).ok_or(TokenError::Invalid)?;
                return Ok(ChatIdentity {
                    app_id,
                    user: ChatUser::App(claims.sub),
                    login_id: None,
                    expires_at,
                    session: None,
                    secret_version: app.secret_version,
                });
            }
            Err(e) => e,
        };
        let live = match self.sessions.authenticate_live(token).await {
            Ok(live) => live,
            // An expired application token says more than "not ours".
            Err(LiveSessionError::Token(own)) => {
                return Err(if app_error == TokenError::Expired {
                    app_error
                } else {
                    own
                }
                .into());
            }
            Err(LiveSessionError::Internal(e)) => return Err(e.into()),
        };
        let claims = live.claims;
        // A disabled account's sessions are revoked with it; its user is
        // checked too, so no token of a disabled account opens a chat.
        let Some(user) = self
            .users
            .by_id(live.user_id)
            .await?
            .filter(|u| u.disabled_at.is_none())
        else {
            return Err(TokenError::Invalid.into());
        };
        let expires_at = DateTime::from_timestamp(claims.exp, 0).ok_or(TokenError::Invalid)?;
        Ok(ChatIdentity {
            app_id,
            user: ChatUser::Own(user.uuid),
            login_id: user.login_id.map(|l| l.as_str().to_owned()),
            expires_at,
            session: Some(claims.sid),
            secret_version: app.secret_version,
        })
    }

    /// Whether a chat socket opened with `identity` may stay open: its
    /// application still exists with the secret it had (a delete or a
    /// re-key ends every socket of the application), and, for one of our
    /// own access tokens, its session is still live. Sockets ask this
    /// periodically, to catch an announcement they missed (another
    /// instance's, or a command's on SQLite).
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    pub async fn chat_socket_live(&self, identity: &ChatIdentity) -> Result<bool, PortError> {
        let same_app = self
            .chat
            .apps
            .get(&identity.app_id)
            .await?
            .is_some_and(|app| app.secret_version == identity.secret_version);
        if !same_app {
            return Ok(false);
        }
        match identity.session {
            Some(sid) => self.sessions.session_is_live(sid).await,
            None => Ok(true),
        }
    }

    /// `POST /auth/login` of the `chat` contract: verifies the token (see
    /// [`Self::authenticate_chat`]), checks that it names `userId`,
    /// then registers the user in the application or updates the profile.
    /// The profile is stored under the token's [`ChatUser`]: an
    /// application's user by its `sub`, our own users by UUID whichever name
    /// (UUID or login id) the client sent, and the two kinds never share a
    /// profile.
    ///
    /// # Errors
    /// [`ChatLoginError`].
    pub async fn chat_login(
        &self,
        app_id: &str,
        token: &str,
        profile: ChatProfileInput,
    ) -> Result<ChatLogin, ChatLoginError> {
        let identity = self.authenticate_chat(app_id, token).await?;
        if !identity.is_user(&profile.user_id) {
            return Err(ChatLoginError::Mismatch);
        }
        if !valid_profile(&profile) {
            return Err(ChatLoginError::InvalidProfile);
        }
        let stored = ChatProfile {
            app_id: identity.app_id.clone(),
            user: identity.user.clone(),
            nickname: profile.nickname,
            profile_image_url: profile.profile_image_url,
            friends: profile.friends,
        };
        let outcome = self.chat.profiles.upsert(&stored, self.core.now()).await?;
        Ok(ChatLogin {
            user_id: profile.user_id,
            expires_at: identity.expires_at,
            registered: outcome == UpsertOutcome::Registered,
        })
    }
}
