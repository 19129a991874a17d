//! The rows of the second-factor tables, their conversions, and the sealing
//! of TOTP secrets and passkey data ([`Vault`]).

use auth_domain::PortError;
use auth_domain::factors::ports::{PendingCeremony, PendingSecondFactor, SecretHash, StoredPasskey};
use auth_domain::identity::user::UserId;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::kek::{Kek, SEALED, SealError};
use crate::db::schema::{mfa_ceremonies as mc, mfa_pending as pend};
use crate::db::{DbError, from_db_time, to_db_time};

/// The prefix of a value stored in clear (no KEK configured).
const PLAIN: &str = "plain:";

/// Seals values under the KEK when one is configured, and opens them.
#[derive(Debug, Clone)]
pub(super) struct Vault(pub(super) Option<Kek>);

impl Vault {
    /// Seals `plain`, or stores `clear()` after the plain prefix without a KEK.
    fn seal(&self, aad: &str, plain: &[u8], clear: impl FnOnce() -> String) -> Result<String, StoredError> {
        match &self.0 {
            Some(kek) => Ok(kek.seal(aad, plain)?),
            None => Ok(format!("{PLAIN}{}", clear())),
        }
    }

    /// Opens a sealed value; `None` when `stored` is not sealed.
    fn open(&self, aad: &str, stored: &str) -> Result<Option<Vec<u8>>, StoredError> {
        let Some(sealed) = stored.strip_prefix(SEALED) else {
            return Ok(None);
        };
        let kek = self.0.as_ref().ok_or(StoredError::NeedsKek)?;
        Ok(Some(kek.open(aad, sealed)?))
    }

    /// Seals (or encodes) a TOTP secret for `user`'s row.
    pub(super) fn seal_secret(&self, user: UserId, secret: &[u8]) -> Result<String, StoredError> {
        self.seal(&totp_aad(user), secret, || hex::encode(secret))
    }

    /// Opens `user`'s stored TOTP secret.
    pub(super) fn open_secret(&self, user: UserId, stored: &str) -> Result<Vec<u8>, StoredError> {
        if let Some(secret) = self.open(&totp_aad(user), stored)? {
            return Ok(secret);
        }
        let clear = stored.strip_prefix(PLAIN).ok_or(corrupt("mfa_totp.secret"))?;
        hex::decode(clear).map_err(|_| corrupt("mfa_totp.secret"))
    }

    /// Seals (or prefixes) passkey `id`'s data.
    pub(super) fn seal_data(&self, id: Uuid, data: &str) -> Result<String, StoredError> {
        self.seal(&passkey_aad(id), data.as_bytes(), || data.to_owned())
    }

    /// Opens passkey `id`'s stored data.
    pub(super) fn open_data(&self, id: Uuid, stored: &str) -> Result<String, StoredError> {
        match self.open(&passkey_aad(id), stored)? {
            Some(data) => String::from_utf8(data).map_err(|_| corrupt("mfa_passkeys.data")),
            None => Ok(stored
                .strip_prefix(PLAIN)
                .ok_or(corrupt("mfa_passkeys.data"))?
                .to_owned()),
        }
    }

    /// The passkey of a row, its data opened.
    pub(super) fn passkey_of_row(&self, r: PasskeyRow) -> Result<StoredPasskey, StoredError> {
        let id = Uuid::parse_str(&r.id).map_err(|_| corrupt("mfa_passkeys.id"))?;
        Ok(StoredPasskey {
            id,
            user_id: UserId::new(r.user_id),
            credential_id: hex::decode(&r.credential_id)
                .map_err(|_| corrupt("mfa_passkeys.credential_id"))?,
            name: r.name,
            data: self.open_data(id, &r.data)?,
            backup_eligible: r.backup_eligible,
            created_at: from_db_time(r.created_at),
            last_used_at: r.last_used_at.map(from_db_time),
        })
    }
}

/// The associated data of a user's sealed TOTP secret.
fn totp_aad(user: UserId) -> String {
    format!("totp:{}", user.get())
}

/// The associated data of a passkey's sealed data.
fn passkey_aad(id: Uuid) -> String {
    format!("passkey:{id}")
}

/// Why a stored row could not be turned into a record.
#[derive(Debug, thiserror::Error)]
pub(super) enum StoredError {
    /// Malformed stored data.
    #[error(transparent)]
    Corrupt(#[from] DbError),
    /// A sealed value and no KEK.
    #[error(
        "a second-factor secret is encrypted at rest: set AUTH_KEY_ENCRYPTION_KEY (or AUTH_KEY_ENCRYPTION_KEY_FILE)"
    )]
    NeedsKek,
    /// Sealing failed, or the value does not open (another KEK).
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// Malformed stored data in `what`.
fn corrupt(what: &'static str) -> StoredError {
    StoredError::Corrupt(DbError::Corrupt(what))
}

/// How a hash is stored: lowercase hex.
pub(super) fn hash_text(h: &SecretHash) -> String {
    hex::encode(h.0)
}

/// A stored hash (`what`: its column, for the error).
fn hash_of_text(s: &str, what: &'static str) -> Result<SecretHash, StoredError> {
    let bytes = hex::decode(s).map_err(|_| corrupt(what))?;
    Ok(SecretHash(bytes.try_into().map_err(|_| corrupt(what))?))
}

/// The columns of `mfa_totp` a read needs.
#[derive(Queryable)]
pub(super) struct TotpRow {
    pub(super) secret: String,
    pub(super) confirmed_at: Option<NaiveDateTime>,
    pub(super) last_step: Option<i64>,
    pub(super) created_at: NaiveDateTime,
}

/// A row of `mfa_passkeys`.
#[derive(Queryable)]
pub(super) struct PasskeyRow {
    pub(super) id: String,
    pub(super) user_id: i64,
    pub(super) credential_id: String,
    pub(super) name: String,
    pub(super) data: String,
    pub(super) backup_eligible: bool,
    pub(super) created_at: NaiveDateTime,
    pub(super) last_used_at: Option<NaiveDateTime>,
}

/// A row of `mfa_pending`.
#[derive(Queryable, Insertable)]
#[diesel(table_name = pend)]
pub(super) struct PendingRow {
    pub(super) token_hash: String,
    pub(super) user_id: i64,
    pub(super) contract: String,
    pub(super) first_factor: String,
    pub(super) created_at: NaiveDateTime,
    pub(super) expires_at: NaiveDateTime,
    pub(super) attempts: i64,
    pub(super) passkey_state: Option<String>,
}

impl PendingRow {
    pub(super) fn from_domain(p: &PendingSecondFactor) -> Self {
        Self {
            token_hash: hash_text(&p.token_hash),
            user_id: p.user_id.get(),
            contract: p.contract.clone(),
            first_factor: p.first_factor.join(" "),
            created_at: to_db_time(p.created_at),
            expires_at: to_db_time(p.expires_at),
            attempts: i64::from(p.attempts),
            passkey_state: p.passkey_state.clone(),
        }
    }

    pub(super) fn into_domain(self) -> Result<PendingSecondFactor, StoredError> {
        Ok(PendingSecondFactor {
            token_hash: hash_of_text(&self.token_hash, "mfa_pending.token_hash")?,
            user_id: UserId::new(self.user_id),
            contract: self.contract,
            first_factor: self
                .first_factor
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect(),
            created_at: from_db_time(self.created_at),
            expires_at: from_db_time(self.expires_at),
            attempts: u32::try_from(self.attempts.max(0)).unwrap_or(u32::MAX),
            passkey_state: self.passkey_state,
        })
    }
}

/// A row of `mfa_ceremonies`.
#[derive(Queryable, Insertable)]
#[diesel(table_name = mc)]
pub(super) struct CeremonyRow {
    pub(super) id_hash: String,
    pub(super) user_id: Option<i64>,
    pub(super) state: String,
    pub(super) expires_at: NaiveDateTime,
}

impl CeremonyRow {
    pub(super) fn into_domain(self) -> Result<PendingCeremony, StoredError> {
        Ok(PendingCeremony {
            id_hash: hash_of_text(&self.id_hash, "mfa_ceremonies.id_hash")?,
            user_id: self.user_id.map(UserId::new),
            state: self.state,
            expires_at: from_db_time(self.expires_at),
        })
    }
}

/// Maps a conversion failure of a row read by `context` to a port error.
pub(super) fn port(context: &'static str) -> impl FnOnce(StoredError) -> PortError {
    move |e| PortError::new(context, e)
}
