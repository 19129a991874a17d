//! A software passkey for tests: 1Password's WebAuthn client and CTAP2
//! authenticator (`passkey-client`, `passkey-authenticator`), an
//! implementation independent of the server's `webauthn-rs`, driven with
//! the options JSON a relying party sends and answering with the
//! `PublicKeyCredential` JSON a browser's `toJSON()` gives.
//!
//! ```no_run
//! # async fn demo(options: &str) -> Result<(), String> {
//! let mut device = auth_qa::soft_passkey::SoftPasskey::new();
//! let created = device.register(options, "https://login.example.com").await?;
//! # Ok(()) }
//! ```
//!
//! - The client checks the RP id against the origin (it must be the
//!   origin's host or a registrable suffix of it) and writes the
//!   `clientDataJSON`, as a browser does; `http://localhost` is accepted.
//! - Credentials are discoverable when the options ask for a resident key:
//!   `authenticate` with no `allowCredentials` then uses the newest one of
//!   the RP id. User verification is performed whenever it is asked for
//!   (required or preferred), and the user is always present.
//! - A credential in `excludeCredentials` makes `register` fail, as a real
//!   authenticator's `CTAP2_ERR_CREDENTIAL_EXCLUDED` does.
//! - Signature counters start at 0 and go up by one per assertion
//!   ([`SoftPasskey::without_counters`] keeps them at 0, as synced passkeys
//!   do). [`SoftPasskey::set_counter`] moves a credential's counter, so that
//!   the next assertion reports `counter + 1`: set it back to test a
//!   relying party's refusal of a counter that went backwards (a clone).

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use passkey_authenticator::{
    Authenticator, CredentialStore, DiscoverabilitySupport, StoreInfo, UiHint, UserCheck,
    UserValidationMethod,
};
use passkey_client::{Client, DefaultClientData};
use passkey_crypto::rust_crypto::RustCryptoBackend;
use passkey_types::ctap2::make_credential::{
    Options, PublicKeyCredentialRpEntity, PublicKeyCredentialUserEntity,
};
use passkey_types::ctap2::{Aaguid, Ctap2Error, StatusCode};
use passkey_types::webauthn::{
    AuthenticatedPublicKeyCredential, CreatedPublicKeyCredential, CredentialCreationOptions,
    CredentialRequestOptions, PublicKeyCredentialDescriptor,
};
use passkey_types::{Bytes, Passkey};
use serde_json::{Value, json};
use url::Url;

/// The credentials of one soft passkey, oldest first.
#[derive(Debug, Default)]
struct Keychain {
    keys: Vec<Passkey>,
}

#[async_trait]
impl CredentialStore for Keychain {
    type PasskeyItem = Passkey;

    /// The credentials of `rp_id` among `ids`, or, with no ids (a
    /// discoverable request), its discoverable ones; newest first.
    async fn find_credentials(
        &self,
        ids: Option<&[PublicKeyCredentialDescriptor]>,
        rp_id: &str,
        _user_handle: Option<&[u8]>,
    ) -> Result<Vec<Passkey>, StatusCode> {
        let found: Vec<Passkey> = self
            .keys
            .iter()
            .rev()
            .filter(|key| key.rp_id == rp_id)
            .filter(|key| match ids {
                Some(ids) => ids
                    .iter()
                    .any(|id| id.id.as_slice() == key.credential_id.as_slice()),
                None => key.user_handle.is_some(),
            })
            .cloned()
            .collect();
        if found.is_empty() {
            Err(Ctap2Error::NoCredentials.into())
        } else {
            Ok(found)
        }
    }

    async fn save_credential(
        &mut self,
        cred: Passkey,
        _user: PublicKeyCredentialUserEntity,
        _rp: PublicKeyCredentialRpEntity,
        _options: Options,
    ) -> Result<(), StatusCode> {
        self.keys.push(cred);
        Ok(())
    }

    async fn update_credential(&mut self, cred: &Passkey) -> Result<(), StatusCode> {
        match self
            .keys
            .iter_mut()
            .find(|key| key.credential_id == cred.credential_id)
        {
            Some(key) => {
                *key = cred.clone();
                Ok(())
            }
            None => Err(Ctap2Error::NoCredentials.into()),
        }
    }

    async fn get_info(&self) -> StoreInfo {
        StoreInfo {
            discoverability: DiscoverabilitySupport::Full,
        }
    }
}

/// The user: always present, verified whenever asked, and refusing to
/// register a second credential where an excluded one exists.
#[derive(Debug)]
struct User;

#[async_trait]
impl UserValidationMethod for User {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        hint: UiHint<'a, Passkey>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        if let UiHint::InformExcludedCredentialFound(_) = hint {
            return Err(Ctap2Error::CredentialExcluded);
        }
        Ok(UserCheck {
            presence,
            verification,
        })
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }
}

type SoftClient = Client<Keychain, User, RustCryptoBackend, public_suffix::PublicSuffixList, ()>;

/// A software passkey authenticator behind a WebAuthn client (the
/// browser's part): see the [module](self).
pub struct SoftPasskey {
    client: SoftClient,
}

impl std::fmt::Debug for SoftPasskey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftPasskey")
            .field("credentials", &self.client.authenticator().store().keys.len())
            .finish()
    }
}

impl Default for SoftPasskey {
    fn default() -> Self {
        Self::new()
    }
}

impl SoftPasskey {
    /// An empty authenticator whose credentials keep signature counters.
    pub fn new() -> Self {
        Self::with_counters(true)
    }

    /// An empty authenticator whose credentials report a signature counter
    /// of 0 forever (as synced passkeys do).
    pub fn without_counters() -> Self {
        Self::with_counters(false)
    }

    fn with_counters(counters: bool) -> Self {
        let mut authenticator =
            Authenticator::new(Aaguid::new_empty(), Keychain::default(), User, RustCryptoBackend);
        authenticator.set_make_credentials_with_signature_counter(counters);
        Self {
            client: Client::new(authenticator).allows_insecure_localhost(true),
        }
    }

    /// Answers `navigator.credentials.create(options)` from `origin`:
    /// `options_json` is `{"publicKey": PublicKeyCredentialCreationOptions}`
    /// in the WebAuthn JSON form (base64url binary fields). Returns the new
    /// credential as `RegistrationResponseJSON`.
    ///
    /// # Errors
    /// Unparsable options or origin, an RP id that is not the origin's, an
    /// excluded credential present, no supported algorithm: the client's
    /// error, as text.
    pub async fn register(&mut self, options_json: &str, origin: &str) -> Result<String, String> {
        let options: CredentialCreationOptions =
            serde_json::from_str(options_json).map_err(|e| format!("creation options: {e}"))?;
        let origin = Url::parse(origin).map_err(|e| format!("origin: {e}"))?;
        let created = self
            .client
            .register(&origin, options, DefaultClientData)
            .await
            .map_err(|e| format!("register: {}", describe(e)))?;
        registration_json(&created)
    }

    /// Answers `navigator.credentials.get(options)` from `origin`:
    /// `options_json` is `{"publicKey": PublicKeyCredentialRequestOptions}`;
    /// with no `allowCredentials`, the newest discoverable credential of the
    /// RP id answers. Returns the assertion as `AuthenticationResponseJSON`.
    ///
    /// # Errors
    /// Unparsable options or origin, an RP id that is not the origin's, no
    /// credential: the client's error, as text.
    pub async fn authenticate(&mut self, options_json: &str, origin: &str) -> Result<String, String> {
        let options: CredentialRequestOptions =
            serde_json::from_str(options_json).map_err(|e| format!("request options: {e}"))?;
        let origin = Url::parse(origin).map_err(|e| format!("origin: {e}"))?;
        let assertion = self
            .client
            .authenticate(&origin, options, DefaultClientData)
            .await
            .map_err(|e| format!("authenticate: {}", describe(e)))?;
        assertion_json(&assertion)
    }

    /// The ids of the credentials held, oldest first.
    pub fn credential_ids(&self) -> Vec<Vec<u8>> {
        self.keys().iter().map(|key| key.credential_id.to_vec()).collect()
    }

    /// The signature counter of a credential (`None`: unknown credential,
    /// or one without a counter). The next assertion reports one more.
    pub fn counter(&self, credential_id: &[u8]) -> Option<u32> {
        self.keys()
            .iter()
            .find(|key| key.credential_id.as_slice() == credential_id)
            .and_then(|key| key.counter)
    }

    /// Sets a credential's signature counter: the next assertion reports
    /// `counter + 1`. False when the credential is unknown.
    pub fn set_counter(&mut self, credential_id: &[u8], counter: u32) -> bool {
        let keys = &mut self.client.authenticator_mut().store_mut().keys;
        match keys
            .iter_mut()
            .find(|key| key.credential_id.as_slice() == credential_id)
        {
            Some(key) => {
                key.counter = Some(counter);
                true
            }
            None => false,
        }
    }

    fn keys(&self) -> &[Passkey] {
        &self.client.authenticator().store().keys
    }
}

/// A client error, with an authenticator's CTAP2 status by name
/// (`Known(CredentialExcluded)`, `Known(NoCredentials)`).
fn describe(error: passkey_client::WebauthnError) -> String {
    match error {
        passkey_client::WebauthnError::AuthenticatorError(code) => format!("{:?}", StatusCode::from(code)),
        other => format!("{other:?}"),
    }
}

fn b64(bytes: &Bytes) -> Value {
    Value::from(URL_SAFE_NO_PAD.encode(bytes.as_slice()))
}

fn json_error(e: serde_json::Error) -> String {
    format!("write the credential JSON: {e}")
}

/// `PublicKeyCredential.toJSON()` of a new credential.
fn registration_json(created: &CreatedPublicKeyCredential) -> Result<String, String> {
    let response = &created.response;
    let json = json!({
        "id": created.id,
        "rawId": b64(&created.raw_id),
        "type": "public-key",
        "response": {
            "clientDataJSON": b64(&response.client_data_json),
            "authenticatorData": b64(&response.authenticator_data),
            "attestationObject": b64(&response.attestation_object),
            "publicKey": response.public_key.as_ref().map(b64),
            "publicKeyAlgorithm": response.public_key_algorithm,
            "transports": serde_json::to_value(response.transports.clone().unwrap_or_default()).map_err(json_error)?,
        },
        "authenticatorAttachment": serde_json::to_value(created.authenticator_attachment).map_err(json_error)?,
        "clientExtensionResults": serde_json::to_value(&created.client_extension_results).map_err(json_error)?,
    });
    Ok(json.to_string())
}

/// `PublicKeyCredential.toJSON()` of an assertion.
fn assertion_json(assertion: &AuthenticatedPublicKeyCredential) -> Result<String, String> {
    let response = &assertion.response;
    let json = json!({
        "id": assertion.id,
        "rawId": b64(&assertion.raw_id),
        "type": "public-key",
        "response": {
            "clientDataJSON": b64(&response.client_data_json),
            "authenticatorData": b64(&response.authenticator_data),
            "signature": b64(&response.signature),
            "userHandle": response.user_handle.as_ref().map(b64),
        },
        "authenticatorAttachment": serde_json::to_value(assertion.authenticator_attachment).map_err(json_error)?,
        "clientExtensionResults": serde_json::to_value(&assertion.client_extension_results).map_err(json_error)?,
    });
    Ok(json.to_string())
}
