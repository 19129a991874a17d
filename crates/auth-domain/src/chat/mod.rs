//! The `chat` contract's model: applications registered with the service,
//! tokens an application's backend signs for its users, and each user's
//! profile inside an application. The ports for them live here too (and are
//! re-exported from [`crate::ports`]).

pub mod use_cases;

#[cfg(test)]
mod tests;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::PortError;
use crate::sessions::token::TokenError;

/// Longest application name, in characters.
pub const MAX_APP_NAME_CHARS: usize = 100;
/// Longest chat user id (and friend id), in characters.
pub const MAX_CHAT_ID_CHARS: usize = 128;
/// Most friends one profile lists.
pub const MAX_FRIENDS: usize = 1000;
/// Longest nickname, in characters.
pub const MAX_NICKNAME_CHARS: usize = 100;
/// Longest profile image URL, in characters.
pub const MAX_PROFILE_URL_CHARS: usize = 2048;

/// An application id: 1–64 ASCII letters, digits, `_` or `-` (the service
/// generates `app_` and 24 hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppId(String);

impl AppId {
    /// Parses an application id.
    ///
    /// # Errors
    /// `Err(())` when empty, longer than 64 or with another character.
    #[allow(clippy::result_unit_err)]
    pub fn parse(s: &str) -> Result<Self, ()> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok { Ok(Self(s.to_owned())) } else { Err(()) }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AppId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why an application id was refused: it is not 1 to 64 letters, digits,
/// `_` or `-`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an application id is 1 to 64 letters, digits, _ or -")]
pub struct AppIdError;

impl AppId {
    fn parse_checked(raw: &str) -> Result<Self, AppIdError> {
        Self::parse(raw).map_err(|()| AppIdError)
    }
}

crate::conversions::validated_string!(newtype AppId, AppIdError, parse_checked);

/// A registered application. Its signing secret is not part of it: the
/// [`AppTokens`] port derives it from the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// The id clients send as `App-Id`.
    pub id: AppId,
    /// A human-readable name.
    pub name: String,
    /// Registration time.
    pub created_at: DateTime<Utc>,
    /// Which secret is current: 0 at registration, one more at each
    /// rotation. The [`AppTokens`] port derives the secret from the id and
    /// this number, so a rotation retires the old secret at once.
    pub secret_version: i64,
}

/// A freshly registered application and its secret (shown once).
#[derive(Clone, PartialEq, Eq)]
pub struct CreatedApp {
    /// The application.
    pub app: App,
    /// The HS256 secret the application's backend signs tokens with.
    pub secret: String,
}

impl std::fmt::Debug for CreatedApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApp")
            .field("app", &self.app)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Claims of a token an application signed (HS256 with its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppClaims {
    /// The application's user id (`sub`).
    pub sub: String,
    /// The application the token is for (`app_id`), if stated.
    pub app_id: Option<String>,
    /// Issued at, seconds since the epoch, if stated.
    pub iat: Option<i64>,
    /// Expiry, seconds since the epoch (required).
    pub exp: i64,
}

/// Who a chat user is inside one application. The two kinds are separate
/// namespaces: an application chooses its own users' ids freely (so one of
/// them may equal one of our users' login ids or UUIDs), while our users are
/// named only by the UUID of the access token they present. Profiles and
/// presence are keyed by the whole value, never by the id string alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChatUser {
    /// One of the application's own users: the `sub` of a token the
    /// application signed.
    App(String),
    /// One of this service's users, by UUID: the holder of one of our access
    /// tokens.
    Own(Uuid),
}

impl ChatUser {
    /// The storage name of the kind: `"app"` or `"own"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::App(_) => "app",
            Self::Own(_) => "own",
        }
    }

    /// The id inside its kind: the application's user id, or the UUID
    /// (hyphenated, lowercase).
    pub fn id(&self) -> String {
        match self {
            Self::App(id) => id.clone(),
            Self::Own(uuid) => uuid.to_string(),
        }
    }

    /// Rebuilds a user from its stored kind and id; `None` when the kind is
    /// unknown or an `own` id is not a UUID.
    pub fn from_stored(kind: &str, id: &str) -> Option<Self> {
        match kind {
            "app" => Some(Self::App(id.to_owned())),
            "own" => Uuid::parse_str(id).ok().map(Self::Own),
            _ => None,
        }
    }
}

/// A user's profile inside one application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatProfile {
    /// The application.
    pub app_id: AppId,
    /// The user (an application's user, or one of ours).
    pub user: ChatUser,
    /// Display nickname.
    pub nickname: Option<String>,
    /// Profile image URL.
    pub profile_image_url: Option<String>,
    /// Friends' user ids, stored as given (see `docs/contracts/chat.md`).
    pub friends: Vec<String>,
}

/// What [`ChatProfiles::upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertOutcome {
    /// First login: the user was registered in the application.
    Registered,
    /// A later login: the profile was updated.
    Updated,
}

/// Stores registered applications.
#[async_trait]
pub trait AppRepository: Send + Sync {
    /// Stores a new application.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure (including a duplicate id,
    /// which random ids make practically impossible).
    async fn create(&self, app: &App) -> Result<(), PortError>;

    /// Finds an application.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn get(&self, id: &AppId) -> Result<Option<App>, PortError>;

    /// Every application, oldest first (then by id).
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn list(&self) -> Result<Vec<App>, PortError>;

    /// Deletes an application and its users' profiles. Returns whether it
    /// existed.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn delete(&self, id: &AppId) -> Result<bool, PortError>;

    /// Moves the application to its next secret (`secret_version + 1`, in
    /// one conditional write decided by the database, so two concurrent
    /// rotations give two different versions) and returns it as stored;
    /// `None` when there is no such application.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn rotate_secret(&self, id: &AppId) -> Result<Option<App>, PortError>;
}

/// Application secrets and the tokens signed with them.
pub trait AppTokens: Send + Sync {
    /// The application's current HS256 secret. Deterministic: the same id
    /// and [`App::secret_version`] always give the same secret, so nothing
    /// secret is stored per application; another version gives another.
    ///
    /// # Errors
    /// [`PortError`] if the key material is unusable.
    fn issue_secret(&self, app: &App) -> Result<String, PortError>;

    /// Verifies a token signed HS256 with `app`'s current secret: signature,
    /// algorithm, required `sub` and `exp`, and expiry against `now`.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] for anything else; [`TokenError::Expired`]
    /// when `exp` is not after `now`.
    fn verify(&self, app: &App, token: &str, now: DateTime<Utc>) -> Result<AppClaims, TokenError>;
}

/// Stores users' profiles per application.
#[async_trait]
pub trait ChatProfiles: Send + Sync {
    /// Inserts the profile (first login) or replaces its nickname, image and
    /// friends (later logins), at `now`; the key is the application and the
    /// whole [`ChatUser`] (kind and id). Decided by the database: two racing
    /// first logins make one row.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn upsert(&self, profile: &ChatProfile, now: DateTime<Utc>) -> Result<UpsertOutcome, PortError>;

    /// Finds a profile. An application's user and one of ours with the same
    /// id string are different profiles.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn get(&self, app_id: &AppId, user: &ChatUser) -> Result<Option<ChatProfile>, PortError>;
}
