//! The keys of access tokens, from settings: generated and kept in the
//! database (the default), one PEM file, or the legacy HS256 secret; and
//! the OpenID Connect ID-token keys ([`IdTokenKeys`]), always in the
//! database whatever the access-token mode.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use secrecy::ExposeSecret;

use auth_infra::{
    Database, IdTokenKeys, JwtCodec, Kek, KeyRing, KeyStoreError, Rotated, SigningAlgorithm, SigningKey,
    SigningKeyStore, load_or_create_signing_secret,
};

use super::StartupError;
use crate::settings::Settings;

/// Where the signing keys come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// Generated and stored in the database; rotations go there.
    Database,
    /// `AUTH_JWT_SIGNING_KEY` (operators rotate by replacing it).
    Pem,
    /// The legacy shared HS256 secret.
    Secret,
}

/// The token keys of one instance: the codec the domain signs with, the
/// ID-token keys, and what publication and rotation need.
#[derive(Debug, Clone)]
pub struct TokenKeys {
    /// The codec (shared with the domain service).
    pub codec: JwtCodec,
    /// The ID-token keys (RS256, ES256, EdDSA), kept in the database in
    /// every mode; published in the JWKS beside the access keys.
    pub id_keys: IdTokenKeys,
    /// Where the keys come from.
    pub source: KeySource,
    /// The configured algorithm.
    pub alg: SigningAlgorithm,
    /// `iss` of access tokens.
    pub issuer: String,
    /// How long a superseded key stays published and accepted.
    pub retire_after: TimeDelta,
    /// How long a rotated-in key is published before it signs.
    pub prepublish: TimeDelta,
    /// How often the database is read for key changes.
    pub refresh_every: Duration,
    store: Option<SigningKeyStore>,
}

/// Why a rotation failed.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// The database or the key material failed.
    #[error(transparent)]
    Store(#[from] KeyStoreError),
}

/// What a rotation added.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// The access-token key; `None` when the access keys are not managed by
    /// this service (`AUTH_JWT_SIGNING_KEY` or HS256: see
    /// [`TokenKeys::access_not_managed`]).
    pub access: Option<Rotated>,
    /// The ID-token keys, one per algorithm (RS256, ES256, EdDSA).
    pub id: Vec<Rotated>,
}

impl TokenKeys {
    /// Sets up the keys from `settings`: in the database mode, generates
    /// the first key if there is none (and rotates to a key of the
    /// configured algorithm if it changed).
    ///
    /// # Errors
    /// [`StartupError`] when the settings or the stored keys are unusable.
    pub async fn load(settings: &Settings, db: &Database) -> Result<Self, StartupError> {
        let alg = settings.tokens.signing_algorithm()?;
        let refresh_secret: Vec<u8> = match &settings.tokens.secret {
            Some(secret) => {
                tracing::info!("HS256 secret: AUTH_JWT_SECRET");
                secret.expose_secret().as_bytes().to_vec()
            }
            None => {
                let (key, created) = load_or_create_signing_secret(db).await?;
                if created {
                    tracing::info!(
                        "AUTH_JWT_SECRET is not set: generated an HS256 secret and stored it in the database"
                    );
                }
                key
            }
        };
        let issuer = settings.jwt_issuer();
        let audience = settings.jwt_audience();
        // A superseded key verifies for as long as its last token can live,
        // plus a minute of clock skew between instances.
        let retire_after = settings.tokens.access_ttl + TimeDelta::minutes(1);
        let prepublish = settings.tokens.key_prepublish;
        let now = Utc::now();
        let kek = settings.tokens.key_encryption_key.as_ref().map(Kek::new);
        let id_keys = IdTokenKeys::load(db.clone(), kek.clone(), issuer.clone(), retire_after, prepublish)
            .await
            .map_err(|e| StartupError::Keys(format!("ID-token keys: {e}")))?;
        let (source, ring, store) = if !alg.is_asymmetric() {
            tracing::warn!(
                "access tokens are HS256 (legacy): services verify them with the shared secret; nothing is published"
            );
            let key = SigningKey::hs256(&refresh_secret, now);
            (KeySource::Secret, KeyRing::new(vec![key], retire_after), None)
        } else if let Some(pem) = &settings.tokens.signing_key {
            let key = SigningKey::from_pem(alg, pem.expose_secret(), 1, now, now)
                .map_err(|e| StartupError::Keys(format!("AUTH_JWT_SIGNING_KEY: {e}")))?;
            tracing::info!(kid = key.kid(), %alg, "signing key: AUTH_JWT_SIGNING_KEY");
            (KeySource::Pem, KeyRing::new(vec![key], retire_after), None)
        } else {
            let store = SigningKeyStore::new(db.clone(), kek);
            let keys = store
                .load()
                .await
                .map_err(|e| StartupError::Keys(e.to_string()))?;
            let changed = store
                .ensure(alg, now, prepublish)
                .await
                .map_err(|e| StartupError::Keys(e.to_string()))?;
            if let Some(r) = &changed {
                tracing::info!(kid = %r.kid, alg = %r.alg, activates_at = %r.activates_at, "generated a signing key");
            }
            let ring = if changed.is_some() || keys.is_empty() {
                store
                    .ring(retire_after)
                    .await
                    .map_err(|e| StartupError::Keys(e.to_string()))?
            } else {
                KeyRing::new(keys, retire_after)
            };
            (KeySource::Database, ring, Some(store))
        };
        // The ID-token keys are in the database in every mode.
        if settings.tokens.key_encryption_key.is_none() {
            tracing::warn!(
                "AUTH_KEY_ENCRYPTION_KEY is not set: private signing keys are stored in clear in the database"
            );
        }
        if let Some(active) = ring.signer(now) {
            tracing::info!(kid = active.kid(), alg = %active.alg(), issuer = %issuer, "access tokens signed");
        }
        // Legacy HS256 tokens keep today's claims (no `iss`/`aud`): verifiers
        // that share the secret may refuse an unexpected `aud`.
        let (iss, aud) = if alg.is_asymmetric() {
            (issuer.as_str(), audience.as_str())
        } else {
            ("", "")
        };
        Ok(Self {
            codec: JwtCodec::new(ring, &refresh_secret, iss, aud),
            id_keys,
            source,
            alg,
            issuer,
            retire_after,
            prepublish,
            refresh_every: settings
                .tokens
                .key_refresh
                .clamp(Duration::from_secs(1), Duration::from_secs(5)),
            store,
        })
    }

    /// Reads the keys from the database again (a rotation by another
    /// instance or the CLI): the access keys when they are kept there, and
    /// the ID-token keys; returns whether any changed.
    ///
    /// # Errors
    /// [`KeyStoreError`]; the keys in use stay.
    pub async fn reload(&self) -> Result<bool, KeyStoreError> {
        // The ID-token keys first: once a rotated access key signs here,
        // the ID-token keys of the same rotation are published too.
        let id = self.id_keys.reload().await?;
        let access = match &self.store {
            Some(store) => self.codec.replace_ring(store.ring(self.retire_after).await?),
            None => false,
        };
        Ok(access || id)
    }

    /// Why the access keys are not rotated here (`AUTH_JWT_SIGNING_KEY` is
    /// set: the operator replaces it; or HS256), `None` when they are kept
    /// in the database.
    pub fn access_not_managed(&self) -> Option<&'static str> {
        match self.source {
            KeySource::Database => None,
            KeySource::Pem => Some("AUTH_JWT_SIGNING_KEY is set"),
            KeySource::Secret => Some("AUTH_JWT_ALGORITHM is HS256"),
        }
    }

    /// Adds keys: one access-token key of the configured algorithm (when
    /// the access keys are kept in the database; with
    /// `AUTH_JWT_SIGNING_KEY` or HS256 they are the operator's, and only
    /// the ID-token keys rotate) and one ID-token key per algorithm. Each
    /// is published at once and signs after the pre-publication period, or
    /// at once with `activate_now`. This instance uses them immediately;
    /// the others within `refresh_every`.
    ///
    /// # Errors
    /// [`RotateError`]: the keys added before the failure stay (a retry
    /// adds one more of each).
    pub async fn rotate(&self, activate_now: bool) -> Result<Rotation, RotateError> {
        // The ID-token keys first: another instance reads them before the
        // access keys ([`Self::reload`]), so one that sees the new access
        // key has seen the rotation's ID-token keys too.
        let id = self.id_keys.rotate(activate_now).await?;
        let access = match &self.store {
            Some(store) => {
                let now = Utc::now();
                let activates_at = if activate_now { now } else { now + self.prepublish };
                let rotated = store.rotate(self.alg, now, activates_at).await?;
                tracing::info!(kid = %rotated.kid, alg = %rotated.alg, activates_at = %rotated.activates_at, "signing key rotated");
                Some(rotated)
            }
            None => None,
        };
        self.reload().await?;
        Ok(Rotation { access, id })
    }

    /// Re-reads the database every `refresh_every` until aborted (the
    /// ID-token keys are always there, so in every mode).
    pub fn spawn_refresh(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let keys = self.clone();
        tokio::spawn(async move {
            let every = keys.refresh_every;
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match keys.reload().await {
                    Ok(true) => tracing::info!("signing keys changed; now in use"),
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the signing keys; keeping the current ones")
                    }
                }
            }
        })
    }
}
