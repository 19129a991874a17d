//! The authorization-code flow up to the code: checking an authorization
//! request, the browser's single-sign-on session, the hosted sign-in,
//! consent, and issuing the code.

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use crate::caller::Caller;
use crate::error::PortError;
use crate::identity::login::{Identifier, LoginError};
use crate::identity::user::User;
use crate::oidc::client::{GrantType, OAuthClient, base64url, is_scope_token};
use crate::oidc::ports::StoredCode;
use crate::oidc::provider::{BROWSER, BROWSER_SOCIAL, Provider};
use crate::sessions::session::{RefreshTokenHash, Session};

/// How long an authorization code lives (OAuth 2.1 recommends at most a
/// minute).
pub const CODE_TTL_SECONDS: i64 = 60;

/// An authorization request as received (`GET /oauth2/authorize`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizeParams {
    /// `response_type`.
    pub response_type: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
    /// `prompt`.
    pub prompt: Option<String>,
    /// `max_age`.
    pub max_age: Option<String>,
    /// `login_hint`.
    pub login_hint: Option<String>,
}

/// A request that cannot go back to the client: shown as a page, never
/// redirected (the redirect URI is not known to be the client's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// No `client_id`, or no such client.
    #[error("unknown client")]
    UnknownClient,
    /// No `redirect_uri`, or not one the client registered.
    #[error("unregistered redirect_uri")]
    BadRedirect,
}

/// An error to send back to the client's redirect URI (RFC 6749 §4.1.2.1,
/// OpenID Connect Core §3.1.2.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectError {
    /// `error`.
    pub error: &'static str,
    /// `error_description`.
    pub description: String,
}

fn redirect_error(error: &'static str, description: impl Into<String>) -> RedirectError {
    RedirectError {
        error,
        description: description.into(),
    }
}

/// `prompt` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Prompt {
    /// `none`: no page may be shown.
    pub none: bool,
    /// `login`: sign in again.
    pub login: bool,
    /// `consent`: ask again.
    pub consent: bool,
}

/// A checked authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// The client.
    pub client: OAuthClient,
    /// Its registered redirect URI.
    pub redirect_uri: String,
    /// Requested scopes (each registered for the client).
    pub scopes: Vec<String>,
    /// `state`, echoed.
    pub state: Option<String>,
    /// `nonce`, copied into the ID token.
    pub nonce: Option<String>,
    /// The S256 challenge.
    pub code_challenge: String,
    /// `prompt`.
    pub prompt: Prompt,
    /// `max_age`, seconds.
    pub max_age: Option<i64>,
    /// `login_hint`, to fill the sign-in form.
    pub login_hint: Option<String>,
}

impl AuthorizeRequest {
    /// The scopes, space-separated.
    pub fn scope(&self) -> String {
        self.scopes.join(" ")
    }
}

/// A browser's signed-in session (single sign-on).
#[derive(Debug, Clone)]
pub struct BrowserSession {
    /// The session.
    pub session: Session,
    /// Its user.
    pub user: User,
}

impl BrowserSession {
    /// When the user authenticated.
    pub fn auth_time(&self) -> DateTime<Utc> {
        self.session.created_at
    }
}

/// What the browser must see next for a checked request.
#[derive(Debug, Clone)]
pub enum Next {
    /// The sign-in page.
    SignIn,
    /// The consent page.
    Consent(BrowserSession),
    /// Send the code back.
    Code(BrowserSession),
}

fn pkce_challenge_ok(challenge: &str) -> bool {
    (43..=128).contains(&challenge.len())
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

impl Provider {
    /// Finds the client and checks the redirect URI: until both hold,
    /// nothing may be redirected.
    ///
    /// # Errors
    /// [`PageError`]; `Ok(Err(..))` on infrastructure failure.
    pub async fn authorize_target(
        &self,
        params: &AuthorizeParams,
    ) -> Result<Result<(OAuthClient, String), PageError>, PortError> {
        let Some(client_id) = params
            .client_id
            .as_deref()
            .filter(|c| !c.is_empty() && c.len() <= 100)
        else {
            return Ok(Err(PageError::UnknownClient));
        };
        let Some(client) = self.ports.clients.get(client_id).await? else {
            return Ok(Err(PageError::UnknownClient));
        };
        match params.redirect_uri.as_deref() {
            Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => {
                let uri = uri.to_owned();
                Ok(Ok((client, uri)))
            }
            _ => Ok(Err(PageError::BadRedirect)),
        }
    }

    /// Checks the rest of a request whose client and redirect URI are
    /// known good ([`Self::authorize_target`]).
    ///
    /// # Errors
    /// A [`RedirectError`] for the client.
    pub fn check_authorize(
        &self,
        client: OAuthClient,
        redirect_uri: String,
        params: &AuthorizeParams,
    ) -> Result<AuthorizeRequest, RedirectError> {
        match params.response_type.as_deref() {
            Some("code") => {}
            Some(_) => {
                return Err(redirect_error(
                    "unsupported_response_type",
                    "only response_type=code is supported",
                ));
            }
            None => return Err(redirect_error("invalid_request", "response_type is required")),
        }
        if !client.allows(GrantType::AuthorizationCode) {
            return Err(redirect_error(
                "unauthorized_client",
                "the client may not use authorization_code",
            ));
        }
        let Some(challenge) = params.code_challenge.as_deref() else {
            return Err(redirect_error(
                "invalid_request",
                "code_challenge is required (PKCE with S256)",
            ));
        };
        if params.code_challenge_method.as_deref() != Some("S256") {
            return Err(redirect_error(
                "invalid_request",
                "code_challenge_method must be S256",
            ));
        }
        if !pkce_challenge_ok(challenge) {
            return Err(redirect_error("invalid_request", "code_challenge is malformed"));
        }
        let scope = params.scope.as_deref().unwrap_or("").trim();
        if scope.is_empty() {
            return Err(redirect_error("invalid_scope", "scope is required"));
        }
        let mut scopes: Vec<String> = Vec::new();
        for s in scope.split(' ').filter(|s| !s.is_empty()) {
            if !is_scope_token(s) || !client.scopes.iter().any(|c| c == s) {
                return Err(redirect_error(
                    "invalid_scope",
                    format!("the client may not ask for scope {s:?}"),
                ));
            }
            if !scopes.iter().any(|x| x == s) {
                scopes.push(s.to_owned());
            }
        }
        let mut prompt = Prompt::default();
        for p in params
            .prompt
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|p| !p.is_empty())
        {
            match p {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                other => {
                    return Err(redirect_error(
                        "invalid_request",
                        format!("unsupported prompt {other:?}"),
                    ));
                }
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err(redirect_error(
                "invalid_request",
                "prompt=none cannot be combined",
            ));
        }
        let max_age = match params.max_age.as_deref() {
            None | Some("") => None,
            Some(raw) => match raw.parse::<i64>() {
                Ok(v) if v >= 0 => Some(v),
                _ => {
                    return Err(redirect_error(
                        "invalid_request",
                        "max_age must be a non-negative integer",
                    ));
                }
            },
        };
        let bounded = |v: &Option<String>, field: &str| match v {
            Some(s) if s.len() > 1024 => {
                Err(redirect_error("invalid_request", format!("{field} is too long")))
            }
            _ => Ok(v.clone().filter(|s| !s.is_empty())),
        };
        Ok(AuthorizeRequest {
            client,
            redirect_uri,
            scopes,
            state: bounded(&params.state, "state")?,
            nonce: bounded(&params.nonce, "nonce")?,
            code_challenge: challenge.to_owned(),
            prompt,
            max_age,
            login_hint: bounded(&params.login_hint, "login_hint")?,
        })
    }

    /// The browser session a cookie names, if it is live: the cookie holds
    /// the session's refresh token (verified, unspent, unexpired, session
    /// not revoked, account enabled).
    ///
    /// # Errors
    /// [`PortError`].
    pub async fn browser_session(&self, cookie: &str) -> Result<Option<BrowserSession>, PortError> {
        let now = self.core.now();
        let Ok(claims) = self.issuer.tokens.verify_refresh(cookie, now) else {
            return Ok(None);
        };
        let found = self
            .issuer
            .sessions()
            .refresh_record_with_session(&RefreshTokenHash::of_jti(&claims.jti))
            .await?;
        let Some((record, Some(session))) = found else {
            return Ok(None);
        };
        if record.session_id != claims.sid
            || record.expires_at <= now
            || record.spent_at.is_some()
            || !session.is_live()
            || (session.client != BROWSER && session.client != BROWSER_SOCIAL)
        {
            return Ok(None);
        }
        let Some(user) = self.users.by_id(session.user_id).await? else {
            return Ok(None);
        };
        if user.disabled_at.is_some() {
            return Ok(None);
        }
        Ok(Some(BrowserSession { session, user }))
    }

    /// Signs in on the hosted page: the same password gate, throttle, audit
    /// trail and disabled-account rule as the contracts' logins. Returns the
    /// cookie value (the browser session's refresh token) and the session.
    ///
    /// # Errors
    /// [`LoginError`].
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        caller: &Caller,
    ) -> Result<(String, BrowserSession), LoginError> {
        let identifier = if username.contains('@') {
            Identifier::Email(username.to_owned())
        } else {
            Identifier::LoginId(username.to_owned())
        };
        let browser = Caller {
            contract: BROWSER,
            ..caller.clone()
        };
        let login = self.accounts.login(identifier, password, &browser).await?;
        Ok(self.adopt(login).await?)
    }

    /// The browser session of a login that finished on the hosted page (a
    /// password, or a second step): the cookie value and the session.
    ///
    /// # Errors
    /// An outage.
    pub async fn adopt(
        &self,
        login: crate::identity::login::Login,
    ) -> Result<(String, BrowserSession), PortError> {
        let session = self
            .issuer
            .sessions()
            .get(login.tokens.access.claims.sid)
            .await?
            .ok_or_else(|| PortError::new("sign in", "the new session is gone"))?;
        Ok((
            login.tokens.refresh.token,
            BrowserSession {
                session,
                user: login.user,
            },
        ))
    }

    /// What the browser sees next for `request`, given its session.
    ///
    /// # Errors
    /// [`RedirectError`] (`login_required`, `consent_required`) when
    /// `prompt=none` forbids the page that would be needed.
    pub async fn next_step(
        &self,
        request: &AuthorizeRequest,
        browser: Option<BrowserSession>,
        just_signed_in: bool,
    ) -> Result<Result<Next, RedirectError>, PortError> {
        let now = self.core.now();
        let fresh_enough = |b: &BrowserSession| {
            request
                .max_age
                .is_none_or(|max| now - b.auth_time() <= TimeDelta::seconds(max))
        };
        let browser = match browser {
            Some(b) if just_signed_in || (!request.prompt.login && fresh_enough(&b)) => b,
            _ if request.prompt.none => {
                return Ok(Err(redirect_error("login_required", "the user is not signed in")));
            }
            _ => return Ok(Ok(Next::SignIn)),
        };
        if request.client.first_party {
            return Ok(Ok(Next::Code(browser)));
        }
        let remembered = self
            .ports
            .grants
            .consent(browser.user.id, &request.client.client_id)
            .await?
            .is_some_and(|s| request.scopes.iter().all(|r| s.split(' ').any(|g| g == r)));
        if remembered && !request.prompt.consent {
            return Ok(Ok(Next::Code(browser)));
        }
        if request.prompt.none {
            return Ok(Err(redirect_error(
                "consent_required",
                "the user has not allowed this client",
            )));
        }
        Ok(Ok(Next::Consent(browser)))
    }

    /// Remembers that the user allowed the request's scopes (added to what
    /// was allowed before).
    ///
    /// # Errors
    /// [`PortError`].
    pub async fn remember_consent(
        &self,
        request: &AuthorizeRequest,
        browser: &BrowserSession,
    ) -> Result<(), PortError> {
        let grants = &self.ports.grants;
        let client = &request.client.client_id;
        let mut scopes: Vec<String> = grants
            .consent(browser.user.id, client)
            .await?
            .map(|s| s.split(' ').map(str::to_owned).collect())
            .unwrap_or_default();
        for s in &request.scopes {
            if !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
        grants
            .put_consent(browser.user.id, client, &scopes.join(" "), self.core.now())
            .await
    }

    /// Issues a single-use code for the request, living
    /// [`CODE_TTL_SECONDS`].
    ///
    /// # Errors
    /// [`PortError`].
    pub async fn issue_code(
        &self,
        request: &AuthorizeRequest,
        browser: &BrowserSession,
    ) -> Result<String, PortError> {
        let mut bytes = [0u8; 32];
        self.core.fill(&mut bytes);
        let code = base64url(&bytes);
        let now = self.core.now();
        let stored = StoredCode {
            code_hash: code_hash(&code),
            client_id: request.client.client_id.clone(),
            user_id: browser.user.id,
            browser_session: browser.session.id,
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            auth_time: browser.auth_time(),
            // As the browser session records it (RFC 8176 has no value for
            // a federated sign-in: none is claimed for a social one).
            amr: browser.session.amr.join(" "),
            created_at: now,
            expires_at: now + TimeDelta::seconds(CODE_TTL_SECONDS),
        };
        self.ports.grants.put_code(&stored).await?;
        Ok(code)
    }
}

/// How codes are stored: SHA-256, hex.
pub(crate) fn code_hash(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}
