//! argon2id in PHC strings: new hashes, and verification of stored ones
//! with the parameters they name (or of a foreign scheme's).

use std::sync::atomic::{AtomicU64, Ordering};

use argon2::password_hash::Error as PhcError;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash as PhcHash, Salt};
use argon2::{Algorithm, Argon2, Params, Version};
use subtle::ConstantTimeEq;

use super::work_area::WorkArea;

/// Runs argon2 into `out`, in `area`.
pub(super) fn compute(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    area: &mut WorkArea,
    runs: &AtomicU64,
) -> Result<(), PhcError> {
    let blocks = area.blocks(argon2.params().block_count())?;
    argon2.hash_password_into_with_memory(password, salt, out, blocks)?;
    runs.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// A new hash with the default parameters, as the PHC string
/// `Argon2::default().hash_password_with_salt(password, salt)` writes.
pub(super) fn hash_new(
    password: &[u8],
    salt: &[u8],
    area: &mut WorkArea,
    runs: &AtomicU64,
) -> Result<String, PhcError> {
    let params = Params::DEFAULT;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon2, password, salt, &mut out, area, runs)?;
    let phc = PhcHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(Salt::new(salt)?),
        hash: Some(Output::new(&out)?),
    };
    Ok(phc.to_string())
}

/// Verifies `password` against the stored hash, or against [`DUMMY_PHC`]
/// when there is none or it cannot be used. Always one run: argon2, or the
/// foreign scheme the stored hash names (bcrypt, PBKDF2, scrypt; see
/// [`crate::foreign_hash`]).
pub(super) fn verify(password: &[u8], stored: Option<&str>, area: &mut WorkArea, runs: &AtomicU64) -> bool {
    if let Some(stored) = stored {
        if !stored.starts_with("$argon2") {
            match crate::foreign_hash::verify_foreign(password, stored) {
                Ok(matches) => {
                    runs.fetch_add(1, Ordering::Relaxed);
                    return matches;
                }
                Err(e) => tracing::warn!(
                    reason = %e,
                    "stored password hash is malformed or unsupported; login refused"
                ),
            }
        } else if let Err(e) = crate::foreign_hash::check_argon2(stored) {
            // Parameters beyond the bounds (the import refuses them; this
            // one was stored another way): not worth seconds per login.
            tracing::warn!(reason = %e, "stored password hash is malformed, unsupported or too costly; login refused");
        } else {
            match verify_phc(password, stored, area, runs) {
                Ok(matches) => return matches,
                // The reason names a field, never hash material.
                Err(e) => tracing::warn!(
                    reason = %e,
                    "stored password hash is malformed or unsupported; login refused"
                ),
            }
        }
    }
    // Spend the usual work; the answer is `false` whatever it says.
    let _ = verify_phc(password, DUMMY_PHC, area, runs);
    false
}

/// Verifies `password` against a PHC string, with the algorithm, version,
/// parameters, salt and output length it names (like
/// `Argon2::default().verify_password`: no version field means v=19).
pub(super) fn verify_phc(
    password: &[u8],
    phc: &str,
    area: &mut WorkArea,
    runs: &AtomicU64,
) -> Result<bool, PhcError> {
    let parsed = PhcHash::new(phc)?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(PhcError::EncodingInvalid);
    };
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str())?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v)?,
        None => Version::default(),
    };
    // Takes m, t, p, keyid, data, and the output length from `expected`.
    let params = Params::try_from(&parsed)?;
    let argon2 = Argon2::new(algorithm, version, params);
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let out = buffer.get_mut(..expected.len()).ok_or(PhcError::OutputSize)?;
    compute(&argon2, password, salt, out, area, runs)?;
    Ok(bool::from(out.ct_eq(expected.as_bytes())))
}

/// What unknown users are verified against: the default parameters (as
/// [`hash_new`] writes them) with a fixed salt and output.
///
/// A constant is fine: its only job is to cost one verification. The result
/// is thrown away and unknown users always get `false`, so nothing depends
/// on which password (if any) it is the hash of; and it saves an argon2 run
/// at start-up.
pub(super) const DUMMY_PHC: &str = concat!(
    "$argon2id$v=19",
    "$m=19456,t=2,p=1",                             // Params::DEFAULT
    "$ZHVtbXktc2FsdC0xNmJ5dA",                      // "dummy-salt-16byt"
    "$ZHVtbXkgYXJnb24yaWQgb3V0cHV0LCAzMiBieXRlcyE", // "dummy argon2id output, 32 bytes!"
);
