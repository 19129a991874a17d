//! Passkeys: the WebAuthn relying party behind the domain's
//! [`PasskeyCeremony`] port, over `webauthn-rs`.
//!
//! - The relying-party id and the allowed origins are pinned when the
//!   ceremony is built: no subdomain of an origin, no other port, and an
//!   assertion made for another RP id (its `rpIdHash`) is refused.
//! - Registration asks for a discoverable credential (resident key
//!   required), user verification, no attestation, and excludes the user's
//!   other passkeys.
//! - Authentication is either a second step (`allowCredentials` = the
//!   user's passkeys) or a passwordless sign-in (no `allowCredentials`, the
//!   authenticator picks a discoverable credential and names its user).
//!   User verification is required either way.
//! - States are JSON text tagged with their kind (`registration`,
//!   `second_step`, `discoverable`); a passkey's `data` is webauthn-rs's
//!   serialized `Passkey` (public key, signature counter, flags).
//!
//! Signature counters: webauthn-rs refuses an assertion whose counter is
//! not above the counter it knows when either is non-zero
//! (`CredentialPossibleCompromise`, after the signature verified); for a
//! second step the counter it knows is the copy taken into the state when
//! the ceremony started. This adapter checks the counter again against the
//! stored passkey it is given, which may have moved on since (another
//! sign-in finished in between), and both cases are
//! [`PasskeyError::CounterRegressed`].

use auth_domain::PortError;
use auth_domain::factors::ports::{
    CeremonyStart, PasskeyCeremony, PasskeyError, PasskeyUser, RegisteredPasskey, StoredPasskey,
    VerifiedAssertion,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;
use webauthn_rs::prelude::{
    Credential, CredentialID, DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Webauthn, WebauthnBuilder,
    WebauthnError,
};

/// Why a [`WebauthnCeremony`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WebauthnConfigError {
    /// No origin was given.
    #[error("no allowed origin for passkeys")]
    NoOrigin,
    /// An origin is not a URL of the form `scheme://host[:port]`.
    #[error("invalid passkey origin: {0}")]
    Origin(String),
    /// An origin's host is neither the relying-party id nor a subdomain of
    /// it (or the RP id is empty).
    #[error("passkey origin {origin} is not within the relying-party id {rp_id}")]
    RpId {
        /// The relying-party id.
        rp_id: String,
        /// The origin that does not match it.
        origin: String,
    },
}

/// The WebAuthn relying party ([`PasskeyCeremony`]) over `webauthn-rs`, for
/// one relying-party id and a fixed set of origins.
#[derive(Debug, Clone)]
pub struct WebauthnCeremony {
    webauthn: Webauthn,
}

/// A ceremony's state between its two steps, tagged with its kind so that a
/// state is only ever finished by the step it was made for.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", content = "state", rename_all = "snake_case")]
enum CeremonyState {
    /// A passkey registration.
    Registration(PasskeyRegistration),
    /// A second step: one of the listed passkeys.
    SecondStep(PasskeyAuthentication),
    /// A passwordless sign-in: any discoverable credential.
    Discoverable(DiscoverableAuthentication),
}

impl WebauthnCeremony {
    /// A relying party with id `rp_id` (a domain: `example.com`), shown to
    /// users as `rp_name`, that accepts answers from exactly `origins`
    /// (`https://login.example.com`, …: scheme, host and port must match;
    /// each host must be `rp_id` or a subdomain of it). Strings and
    /// [`Url`]s are both accepted.
    ///
    /// # Errors
    /// [`WebauthnConfigError`] for no origin, an unparsable origin, or one
    /// outside the RP id.
    pub fn new(rp_id: &str, rp_name: &str, origins: &[impl AsRef<str>]) -> Result<Self, WebauthnConfigError> {
        let origins = origins
            .iter()
            .map(|origin| parse_origin(rp_id, origin.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let (first, others) = origins.split_first().ok_or(WebauthnConfigError::NoOrigin)?;
        let rp_error = || WebauthnConfigError::RpId {
            rp_id: rp_id.to_owned(),
            origin: first.to_string(),
        };
        let mut builder = WebauthnBuilder::new(rp_id, first)
            .map_err(|_| rp_error())?
            .rp_name(rp_name)
            .allow_subdomains(false)
            .allow_any_port(false);
        for origin in others {
            builder = builder.append_allowed_origin(origin);
        }
        let webauthn = builder.build().map_err(|_| rp_error())?;
        Ok(Self { webauthn })
    }
}

/// A serialized state. States are the server's own (kept in its store), so
/// one that does not parse, or is of another kind than the step expects, is
/// an internal failure rather than the user's.
fn read_state(state: &str) -> Result<CeremonyState, PasskeyError> {
    serde_json::from_str(state).map_err(|e| internal("read passkey ceremony state", e))
}

/// `origin` as a URL, checked to be a bare origin within `rp_id`.
fn parse_origin(rp_id: &str, origin: &str) -> Result<Url, WebauthnConfigError> {
    let url = Url::parse(origin).map_err(|_| WebauthnConfigError::Origin(origin.to_owned()))?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !bare || !matches!(url.scheme(), "https" | "http") {
        return Err(WebauthnConfigError::Origin(origin.to_owned()));
    }
    let within = !rp_id.is_empty()
        && url
            .host_str()
            .is_some_and(|host| host == rp_id || host.ends_with(&format!(".{rp_id}")));
    if !within {
        return Err(WebauthnConfigError::RpId {
            rp_id: rp_id.to_owned(),
            origin: origin.to_owned(),
        });
    }
    Ok(url)
}

fn internal(context: &'static str, e: impl std::error::Error + Send + Sync + 'static) -> PasskeyError {
    PasskeyError::Internal(PortError::new(context, e))
}

fn internal_msg(context: &'static str, message: &'static str) -> PasskeyError {
    PasskeyError::Internal(PortError::new(context, message))
}

fn wrong_state() -> PasskeyError {
    internal_msg(
        "read passkey ceremony state",
        "the state is of another ceremony kind",
    )
}

fn to_json(context: &'static str, value: &impl Serialize) -> Result<String, PasskeyError> {
    serde_json::to_string(value).map_err(|e| internal(context, e))
}

/// The webauthn-rs passkey stored in `stored.data`, checked to be the
/// credential it is stored as.
fn read_passkey(stored: &StoredPasskey) -> Result<Passkey, PasskeyError> {
    let passkey: Passkey =
        serde_json::from_str(&stored.data).map_err(|e| internal("read stored passkey", e))?;
    if passkey.cred_id().as_slice() != stored.credential_id.as_slice() {
        return Err(internal_msg(
            "read stored passkey",
            "its data is of another credential",
        ));
    }
    Ok(passkey)
}

/// Marks the creation options' resident key as required (webauthn-rs's
/// passkey registration only prefers it, for security keys with little
/// room; passwordless sign-in needs it).
fn require_resident_key(options: &mut Value) -> Result<(), PasskeyError> {
    let selection = options
        .get_mut("publicKey")
        .and_then(|key| key.get_mut("authenticatorSelection"))
        .and_then(Value::as_object_mut)
        .ok_or_else(|| internal_msg("build passkey registration options", "no authenticatorSelection"))?;
    selection.insert("residentKey".to_owned(), Value::from("required"));
    selection.insert("requireResidentKey".to_owned(), Value::from(true));
    Ok(())
}

/// What a webauthn-rs verification failure means for the caller.
fn refusal(error: WebauthnError) -> PasskeyError {
    use WebauthnError as E;
    let reason = match error {
        E::CredentialPossibleCompromise => return PasskeyError::CounterRegressed,
        E::ParseJSONFailure(_)
        | E::ParseCBORFailure(_)
        | E::ParseNOMFailure
        | E::ParseInsufficientBytesAvailable => {
            return PasskeyError::Malformed;
        }
        E::Configuration | E::ChallengePersistenceError | E::CredentialPersistenceError => {
            return internal("verify passkey", error);
        }
        E::MismatchedChallenge | E::ChallengeNotFound => "another challenge",
        E::InvalidClientDataType => "answer to another ceremony",
        E::InvalidRPOrigin | E::CredentialCrossOrigin => "origin not allowed",
        E::InvalidRPIDHash => "another relying party",
        E::UserNotPresent => "user not present",
        E::UserNotVerified | E::InconsistentUserVerificationPolicy => "user not verified",
        E::CredentialNotFound => "credential not allowed",
        E::CredentialExcludedFromRequest | E::CredentialAlreadyExists => "credential already registered",
        E::AuthenticationFailure => "bad signature",
        E::CredentialAlteredAlgFromRequest
        | E::CredentialInsecureCryptography
        | E::COSEKeyInvalidAlgorithm => "unsupported algorithm",
        E::InvalidUserUniqueId => "bad user handle",
        _ => "verification failed",
    };
    PasskeyError::Refused(reason)
}

impl PasskeyCeremony for WebauthnCeremony {
    fn start_registration(
        &self,
        user: &PasskeyUser,
        existing: &[StoredPasskey],
    ) -> Result<CeremonyStart, PasskeyError> {
        let exclude: Vec<CredentialID> = existing
            .iter()
            .map(|passkey| CredentialID::from(passkey.credential_id.clone()))
            .collect();
        let exclude = (!exclude.is_empty()).then_some(exclude);
        let (options, state) = self
            .webauthn
            .start_passkey_registration(user.handle, &user.name, &user.display_name, exclude)
            .map_err(|e| internal("start passkey registration", e))?;
        let mut options =
            serde_json::to_value(&options).map_err(|e| internal("write passkey registration options", e))?;
        require_resident_key(&mut options)?;
        Ok(CeremonyStart {
            options: to_json("write passkey registration options", &options)?,
            state: to_json(
                "write passkey ceremony state",
                &CeremonyState::Registration(state),
            )?,
        })
    }

    fn finish_registration(&self, state: &str, credential: &str) -> Result<RegisteredPasskey, PasskeyError> {
        let CeremonyState::Registration(state) = read_state(state)? else {
            return Err(wrong_state());
        };
        let credential: RegisterPublicKeyCredential =
            serde_json::from_str(credential).map_err(|_| PasskeyError::Malformed)?;
        // The client's (unsigned) word that it could not make the
        // credential discoverable: passwordless sign-in would never find it.
        if credential
            .extensions
            .cred_props
            .as_ref()
            .and_then(|props| props.rk)
            == Some(false)
        {
            return Err(PasskeyError::Refused("not a discoverable credential"));
        }
        let passkey = self
            .webauthn
            .finish_passkey_registration(&credential, &state)
            .map_err(refusal)?;
        let backup_eligible = Credential::from(passkey.clone()).backup_eligible;
        Ok(RegisteredPasskey {
            credential_id: passkey.cred_id().to_vec(),
            data: to_json("write passkey", &passkey)?,
            backup_eligible,
        })
    }

    fn start_authentication(&self, allowed: &[StoredPasskey]) -> Result<CeremonyStart, PasskeyError> {
        let (options, state) = if allowed.is_empty() {
            let (mut options, state) = self
                .webauthn
                .start_discoverable_authentication()
                .map_err(|e| internal("start passkey sign-in", e))?;
            // webauthn-rs asks for conditional mediation (the autofill UI);
            // the port's options are `{"publicKey": …}` alone, and the
            // front end picks the mediation (a button or autofill).
            options.mediation = None;
            (options, CeremonyState::Discoverable(state))
        } else {
            let passkeys = allowed.iter().map(read_passkey).collect::<Result<Vec<_>, _>>()?;
            let (options, state) = self
                .webauthn
                .start_passkey_authentication(&passkeys)
                .map_err(|e| internal("start passkey authentication", e))?;
            (options, CeremonyState::SecondStep(state))
        };
        Ok(CeremonyStart {
            options: to_json("write passkey request options", &options)?,
            state: to_json("write passkey ceremony state", &state)?,
        })
    }

    fn challenge_of(&self, json: &str) -> Result<String, PasskeyError> {
        use base64::Engine;
        let value: serde_json::Value = serde_json::from_str(json).map_err(|_| PasskeyError::Malformed)?;
        if let Some(challenge) = value
            .pointer("/publicKey/challenge")
            .and_then(serde_json::Value::as_str)
        {
            return Ok(challenge.trim_end_matches('=').to_owned());
        }
        let client_data = value
            .pointer("/response/clientDataJSON")
            .and_then(serde_json::Value::as_str)
            .ok_or(PasskeyError::Malformed)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(client_data.trim_end_matches('='))
            .map_err(|_| PasskeyError::Malformed)?;
        let client: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| PasskeyError::Malformed)?;
        client
            .get("challenge")
            .and_then(serde_json::Value::as_str)
            .filter(|c| !c.is_empty())
            .map(|c| c.trim_end_matches('=').to_owned())
            .ok_or(PasskeyError::Malformed)
    }

    fn credential_id(&self, credential: &str) -> Result<Vec<u8>, PasskeyError> {
        let credential: PublicKeyCredential =
            serde_json::from_str(credential).map_err(|_| PasskeyError::Malformed)?;
        Ok(credential.get_credential_id().to_vec())
    }

    fn finish_authentication(
        &self,
        state: &str,
        credential: &str,
        passkey: &StoredPasskey,
        user_handle: Uuid,
    ) -> Result<VerifiedAssertion, PasskeyError> {
        let state = read_state(state)?;
        let response: PublicKeyCredential =
            serde_json::from_str(credential).map_err(|_| PasskeyError::Malformed)?;
        let mut stored = read_passkey(passkey)?;
        if response.get_credential_id() != passkey.credential_id.as_slice() {
            return Err(PasskeyError::Refused("credential not the passkey"));
        }
        // The user handle is not signed; it must still name the user whose
        // passkey this is (required in a sign-in, where it is how the user
        // was found; checked when present in a second step).
        match response.get_user_unique_id() {
            Some(handle) if handle != user_handle.as_bytes() => {
                return Err(PasskeyError::Refused("another user's credential"));
            }
            None if matches!(state, CeremonyState::Discoverable(_)) => {
                return Err(PasskeyError::Refused("user handle missing"));
            }
            _ => {}
        }
        let result = match state {
            CeremonyState::SecondStep(state) => {
                self.webauthn.finish_passkey_authentication(&response, &state)
            }
            CeremonyState::Discoverable(state) => self.webauthn.finish_discoverable_authentication(
                &response,
                state,
                &[DiscoverableKey::from(&stored)],
            ),
            CeremonyState::Registration(_) => return Err(wrong_state()),
        }
        .map_err(refusal)?;
        // Again against the stored counter: a second step's state holds the
        // counter of when it started (WebAuthn §7.2 step 22).
        let known = Credential::from(stored.clone()).counter;
        if (result.counter() > 0 || known > 0) && result.counter() <= known {
            return Err(PasskeyError::CounterRegressed);
        }
        if stored.update_credential(&result).is_none() {
            return Err(PasskeyError::Refused("credential not the passkey"));
        }
        Ok(VerifiedAssertion {
            credential_id: passkey.credential_id.clone(),
            data: to_json("write passkey", &stored)?,
        })
    }
}
