//! RP-Initiated Logout 1.0: checking a logout request and ending a
//! browser's single-sign-on session with the grants opened from it.

use crate::audit::AuditKind;
use crate::caller::Caller;
use crate::error::PortError;
use crate::oidc::provider::Provider;
use crate::sessions::session::{RevokeReason, SessionId};

/// A checked logout request (RP-Initiated Logout 1.0).
#[derive(Debug, Clone, Default)]
pub struct LogoutPlan {
    /// Where to send the browser afterwards (registered for the client).
    pub redirect: Option<String>,
    /// The `id_token_hint`'s user and session, when one was given.
    pub hint: Option<(String, Option<SessionId>)>,
}

/// Why a logout request is refused (shown as a page, never redirected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LogoutError {
    /// `id_token_hint` is not an ID token of ours.
    #[error("invalid id_token_hint")]
    BadHint,
    /// `client_id` is unknown or disagrees with the hint's audience.
    #[error("unknown client")]
    UnknownClient,
    /// `post_logout_redirect_uri` is not registered for the client (or no
    /// client is named).
    #[error("unregistered post_logout_redirect_uri")]
    BadRedirect,
}

impl Provider {
    /// Checks a logout request: the hint must be an ID token of ours (an
    /// expired one is fine), the client named by `client_id` or the hint's
    /// audience, and the redirect registered for that client.
    ///
    /// # Errors
    /// [`LogoutError`].
    pub async fn check_logout(
        &self,
        id_token_hint: Option<&str>,
        client_id: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
    ) -> Result<Result<LogoutPlan, LogoutError>, PortError> {
        let mut plan = LogoutPlan::default();
        let mut audience = None;
        if let Some(hint) = id_token_hint.filter(|h| !h.is_empty()) {
            let Ok((sub, aud, sid)) = self.ports.signer.verify_id_token_hint(hint, self.core.now()) else {
                return Ok(Err(LogoutError::BadHint));
            };
            let sid = sid.and_then(|s| s.parse().ok());
            plan.hint = Some((sub, sid));
            audience = Some(aud);
        }
        let client_id = match (client_id.filter(|c| !c.is_empty()), audience) {
            (Some(c), Some(a)) if c != a => return Ok(Err(LogoutError::UnknownClient)),
            (Some(c), _) => Some(c.to_owned()),
            (None, a) => a,
        };
        let client = match client_id {
            Some(id) => match self.ports.clients.get(&id).await? {
                Some(c) => Some(c),
                None => return Ok(Err(LogoutError::UnknownClient)),
            },
            None => None,
        };
        if let Some(uri) = post_logout_redirect_uri.filter(|u| !u.is_empty()) {
            match &client {
                Some(c) if c.post_logout_redirect_uris.iter().any(|r| r == uri) => {
                    plan.redirect = Some(uri.to_owned());
                }
                _ => return Ok(Err(LogoutError::BadRedirect)),
            }
        }
        Ok(Ok(plan))
    }

    /// Ends a browser's single-sign-on session (the cookie's) with the
    /// grants opened from it, and the hint's grant. A hint naming another
    /// user than the browser's ends only the hint's grant.
    ///
    /// # Errors
    /// [`PortError`].
    pub async fn end_session(
        &self,
        cookie: Option<&str>,
        plan: &LogoutPlan,
        caller: &Caller,
    ) -> Result<(), PortError> {
        let now = self.core.now();
        let browser = match cookie {
            Some(c) => self.browser_session(c).await?,
            None => None,
        };
        let mut ended: Vec<SessionId> = Vec::new();
        let mut user = None;
        if let Some(b) = browser.filter(|b| {
            plan.hint
                .as_ref()
                .is_none_or(|(sub, _)| *sub == b.user.uuid.to_string())
        }) {
            user = Some(b.user.id);
            ended.push(b.session.id);
            for g in self.ports.grants.grants_of_browser(b.session.id).await? {
                ended.push(g.session_id);
            }
        }
        if let Some((_, Some(sid))) = &plan.hint
            && self.ports.grants.grant(*sid).await?.is_some()
        {
            ended.push(*sid);
        }
        ended.sort();
        ended.dedup();
        let mut revoked = Vec::new();
        for sid in ended {
            if self
                .issuer
                .sessions()
                .revoke(sid, RevokeReason::Logout, now)
                .await?
            {
                revoked.push(sid);
            }
        }
        if let Some(first) = revoked.first() {
            self.core
                .audit(AuditKind::Logout, user, Some(*first), caller)
                .await;
        }
        self.issuer.revoker.announce(revoked, RevokeReason::Logout).await;
        Ok(())
    }
}
