//! Signing keys kept in the `signing_keys` table, shared by every instance,
//! optionally encrypted under a key-encryption key (KEK).
//!
//! Each key belongs to one ring, named by its `purpose`: [`ACCESS_PURPOSE`] for
//! access tokens, `id:<alg>` for the ID-token keys of one algorithm
//! ([`crate::IdTokenKeys`]). A store reads and writes the keys of one
//! purpose only.
//!
//! Each key has a `generation` unique within its purpose: the first key is
//! generation 1 and a rotation inserts the current highest plus one. Two
//! instances starting on an empty ring, or two rotations racing, insert the
//! same generation; the unique constraint (`purpose`, `generation`) lets
//! one win and the other reads the winner's key, so there is never more
//! than one key per generation of a ring (and so never two keys that could
//! both be the active one).
//!
//! `private_key` holds `pem:` and the PKCS#8 PEM when no KEK is configured,
//! or `xchacha20poly1305:` and base64 of a 24-byte random nonce followed by
//! the sealed PEM (XChaCha20-Poly1305 under SHA-256 of the KEK, the `kid`
//! as associated data, so a sealed key cannot be moved to another row; see
//! `db/kek.rs`).
//! With a KEK configured, keys stored in clear are sealed at load.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::kek::{Kek, SEALED, SealError};
use crate::db::schema::signing_keys;
use crate::db::{AnyConnection, Database, DbError, from_db_time, to_db_time};
use crate::signing::{KeyError, KeyRing, SigningAlgorithm, SigningKey, generate_pem};

const PLAIN: &str = "pem:";
/// The purpose of the access-token keys (the keys stored before purposes
/// existed are these).
pub const ACCESS_PURPOSE: &str = "access";

/// Why the stored keys could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] DbError),
    /// Key material is unusable.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A stored key is sealed and no KEK is configured.
    #[error(
        "signing key {kid} is encrypted at rest: set AUTH_KEY_ENCRYPTION_KEY (or AUTH_KEY_ENCRYPTION_KEY_FILE)"
    )]
    NeedsKek {
        /// The key.
        kid: String,
    },
    /// A stored key does not open with the configured KEK.
    #[error("signing key {kid} does not decrypt with AUTH_KEY_ENCRYPTION_KEY (wrong key?)")]
    WrongKek {
        /// The key.
        kid: String,
    },
    /// A row is malformed.
    #[error("signing key {kid}: {what}")]
    Corrupt {
        /// The key.
        kid: String,
        /// What is wrong.
        what: &'static str,
    },
    /// The key generation task failed.
    #[error("key generation task failed")]
    Task,
}

/// Seals a private key under `kek`, its `kid` as associated data.
fn seal(kek: &Kek, kid: &str, pem: &str) -> Result<String, KeyError> {
    kek.seal(kid, pem.as_bytes())
        .map_err(|_| KeyError::Generate("encryption failed".into()))
}

/// Opens a private key sealed under `kek` (`sealed`: what follows the
/// prefix).
fn open(kek: &Kek, kid: &str, sealed: &str) -> Result<String, KeyStoreError> {
    let corrupt = || KeyStoreError::Corrupt {
        kid: kid.to_owned(),
        what: "sealed key is malformed",
    };
    let pem = kek.open(kid, sealed).map_err(|e| match e {
        SealError::WrongKey => KeyStoreError::WrongKek { kid: kid.to_owned() },
        SealError::Malformed | SealError::Encrypt => corrupt(),
    })?;
    String::from_utf8(pem).map_err(|_| corrupt())
}

#[derive(Queryable)]
struct Row {
    kid: String,
    generation: i64,
    alg: String,
    private_key: String,
    created_at: chrono::NaiveDateTime,
    activates_at: chrono::NaiveDateTime,
}

/// The keys of one purpose in the `signing_keys` table.
#[derive(Debug, Clone)]
pub struct SigningKeyStore {
    db: Database,
    kek: Option<Kek>,
    purpose: Arc<str>,
}

/// What a rotation did.
#[derive(Debug, Clone)]
pub struct Rotated {
    /// The ring it joined (`access`, `id:RS256`, …).
    pub purpose: String,
    /// The new key's id.
    pub kid: String,
    /// Its algorithm.
    pub alg: SigningAlgorithm,
    /// When it starts signing.
    pub activates_at: DateTime<Utc>,
}

impl SigningKeyStore {
    /// The access-token keys ([`ACCESS_PURPOSE`]) over `db`, sealing private keys
    /// under `kek` when given.
    pub fn new(db: Database, kek: Option<Kek>) -> Self {
        Self::with_purpose(db, kek, ACCESS_PURPOSE)
    }

    /// The keys of `purpose` (e.g. `id:RS256`) over `db`, sealing private
    /// keys under `kek` when given. Keys of other purposes are neither read
    /// nor counted by this store.
    pub fn with_purpose(db: Database, kek: Option<Kek>, purpose: &str) -> Self {
        Self {
            db,
            kek,
            purpose: purpose.into(),
        }
    }

    /// The purpose of the keys this store holds.
    pub fn purpose(&self) -> &str {
        &self.purpose
    }

    /// Every stored key of this purpose, opened and parsed (keys stored in
    /// clear are sealed on the way when a KEK is configured).
    ///
    /// # Errors
    /// [`KeyStoreError`].
    pub async fn load(&self) -> Result<Vec<SigningKey>, KeyStoreError> {
        let purpose = self.purpose.clone();
        let rows: Vec<Row> = self
            .db
            .with_conn(move |conn| {
                signing_keys::table
                    .filter(signing_keys::purpose.eq(&*purpose))
                    .order(signing_keys::generation.asc())
                    .select((
                        signing_keys::kid,
                        signing_keys::generation,
                        signing_keys::alg,
                        signing_keys::private_key,
                        signing_keys::created_at,
                        signing_keys::activates_at,
                    ))
                    .load::<Row>(conn)
            })
            .await?
            .map_err(DbError::from)?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in rows {
            let corrupt = |what| KeyStoreError::Corrupt {
                kid: row.kid.clone(),
                what,
            };
            let alg = SigningAlgorithm::parse(&row.alg)
                .filter(|a| a.is_asymmetric())
                .ok_or_else(|| corrupt("unknown algorithm"))?;
            let pem = if let Some(pem) = row.private_key.strip_prefix(PLAIN) {
                if let Some(kek) = &self.kek {
                    self.seal_in_place(kek, &row.kid, &row.private_key, pem).await?;
                }
                pem.to_owned()
            } else if let Some(sealed) = row.private_key.strip_prefix(SEALED) {
                let kek = self
                    .kek
                    .as_ref()
                    .ok_or_else(|| KeyStoreError::NeedsKek { kid: row.kid.clone() })?;
                open(kek, &row.kid, sealed)?
            } else {
                return Err(corrupt("unknown storage format"));
            };
            let key = SigningKey::from_pem(
                alg,
                &pem,
                row.generation,
                from_db_time(row.created_at),
                from_db_time(row.activates_at),
            )?;
            if key.kid() != row.kid {
                return Err(corrupt("the key does not match its kid"));
            }
            keys.push(key);
        }
        Ok(keys)
    }

    /// A ring of every stored key of this purpose, superseded keys retiring after
    /// `retire_after`.
    ///
    /// # Errors
    /// [`KeyStoreError`].
    pub async fn ring(&self, retire_after: TimeDelta) -> Result<KeyRing, KeyStoreError> {
        Ok(KeyRing::new(self.load().await?, retire_after))
    }

    async fn seal_in_place(
        &self,
        kek: &Kek,
        kid: &str,
        stored: &str,
        pem: &str,
    ) -> Result<(), KeyStoreError> {
        let sealed = seal(kek, kid, pem)?;
        let (kid, stored) = (kid.to_owned(), stored.to_owned());
        let purpose = self.purpose.clone();
        self.db
            .with_conn(move |conn| {
                diesel::update(
                    signing_keys::table
                        .filter(signing_keys::kid.eq(&kid))
                        .filter(signing_keys::purpose.eq(&*purpose))
                        .filter(signing_keys::private_key.eq(&stored)),
                )
                .set(signing_keys::private_key.eq(sealed))
                .execute(conn)
            })
            .await?
            .map_err(DbError::from)?;
        Ok(())
    }

    /// Makes sure a key of `alg` signs: with no key stored, generates one
    /// active now (racing first starts agree on one). When the newest key
    /// is of another algorithm (the setting changed), rotates to a key of
    /// `alg` activating after `prepublish`. Returns the rotation made, if
    /// any.
    ///
    /// # Errors
    /// [`KeyStoreError`].
    pub async fn ensure(
        &self,
        alg: SigningAlgorithm,
        now: DateTime<Utc>,
        prepublish: TimeDelta,
    ) -> Result<Option<Rotated>, KeyStoreError> {
        let newest = self.newest().await?;
        match newest {
            None => self.insert(alg, 1, now, now).await,
            Some((generation, stored_alg)) if stored_alg != alg.as_str() => {
                self.insert(alg, generation + 1, now, now + prepublish).await
            }
            Some(_) => Ok(None),
        }
    }

    /// Adds a key of `alg` that starts signing at `activates_at`, published
    /// from now. Racing rotations each add one key.
    ///
    /// # Errors
    /// [`KeyStoreError`].
    pub async fn rotate(
        &self,
        alg: SigningAlgorithm,
        now: DateTime<Utc>,
        activates_at: DateTime<Utc>,
    ) -> Result<Rotated, KeyStoreError> {
        for _ in 0..5 {
            let generation = self.newest().await?.map_or(1, |(g, _)| g + 1);
            if let Some(rotated) = self.insert(alg, generation, now, activates_at).await? {
                return Ok(rotated);
            }
        }
        Err(KeyStoreError::Corrupt {
            kid: String::new(),
            what: "could not claim a key generation (too many concurrent rotations)",
        })
    }

    /// The highest generation of this purpose and its algorithm.
    async fn newest(&self) -> Result<Option<(i64, String)>, KeyStoreError> {
        let purpose = self.purpose.clone();
        Ok(self
            .db
            .with_conn(move |conn| {
                signing_keys::table
                    .filter(signing_keys::purpose.eq(&*purpose))
                    .order(signing_keys::generation.desc())
                    .select((signing_keys::generation, signing_keys::alg))
                    .first::<(i64, String)>(conn)
                    .optional()
            })
            .await?
            .map_err(DbError::from)?)
    }

    /// Inserts a new key as `generation` of this purpose; `None` when
    /// another instance took that generation first.
    async fn insert(
        &self,
        alg: SigningAlgorithm,
        generation: i64,
        now: DateTime<Utc>,
        activates_at: DateTime<Utc>,
    ) -> Result<Option<Rotated>, KeyStoreError> {
        // Tokens carry whole seconds (`iat`) and the signer is picked by
        // `iat`: a key activating "now" must already sign this second.
        let activates_at = chrono::SubsecRound::trunc_subsecs(activates_at, 0);
        let pem = tokio::task::spawn_blocking(move || generate_pem(alg))
            .await
            .map_err(|_| KeyStoreError::Task)??;
        let key = SigningKey::from_pem(alg, &pem, generation, now, activates_at)?;
        let kid = key.kid().to_owned();
        let stored = match &self.kek {
            Some(kek) => seal(kek, &kid, &pem)?,
            None => format!("{PLAIN}{pem}"),
        };
        let row_kid = kid.clone();
        let purpose = self.purpose.clone();
        let inserted = self
            .db
            .with_conn(move |conn: &mut AnyConnection| {
                diesel::insert_into(signing_keys::table)
                    .values((
                        signing_keys::kid.eq(row_kid),
                        signing_keys::generation.eq(generation),
                        signing_keys::alg.eq(alg.as_str()),
                        signing_keys::private_key.eq(stored),
                        signing_keys::created_at.eq(to_db_time(now)),
                        signing_keys::activates_at.eq(to_db_time(activates_at)),
                        signing_keys::purpose.eq(&*purpose),
                    ))
                    .execute(conn)
            })
            .await?;
        match inserted {
            Ok(_) => Ok(Some(Rotated {
                purpose: self.purpose.to_string(),
                kid,
                alg,
                activates_at,
            })),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(None),
            Err(e) => Err(DbError::from(e).into()),
        }
    }
}

/// Deletes every signing key of every purpose (`auth-server keys reset`,
/// for a lost `AUTH_KEY_ENCRYPTION_KEY`): the rows cannot be opened, so
/// they are removed without being read. The next start (or the command
/// itself) generates new keys. Returns how many were deleted.
///
/// # Errors
/// [`KeyStoreError::Db`].
pub async fn reset_signing_keys(db: &Database) -> Result<usize, KeyStoreError> {
    Ok(db
        .with_conn(|conn| diesel::delete(signing_keys::table).execute(conn))
        .await?
        .map_err(DbError::from)?)
}
