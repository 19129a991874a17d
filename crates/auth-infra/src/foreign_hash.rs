//! Password hashes made by other systems: checking an imported one and
//! putting it in the form we store ([`adopt`]), and verifying a password
//! against a stored one that is not argon2 ([`verify_foreign`]).
//!
//! Stored forms, each naming every parameter it needs:
//! - bcrypt: `$2a$`/`$2b$`/`$2y$` + cost + 53 characters (Spring's
//!   `{bcrypt}` prefix is dropped);
//! - PBKDF2: the PHC string `$pbkdf2-sha256$i=…,l=…$salt$hash` (also
//!   `-sha512`, and `$pbkdf2$` for HMAC-SHA1). Spring's `{pbkdf2}` writes
//!   only hex(salt ‖ hash), so the import names its parameters
//!   ([`SpringPbkdf2`]) and the hash is rewritten to this form;
//! - scrypt: the PHC string `$scrypt$ln=…,r=…,p=…$salt$hash`, or Spring's
//!   own `{scrypt}$<hex params>$<base64 salt>$<base64 hash>` (kept as is:
//!   its default 64-byte salt is longer than a PHC salt may be);
//! - argon2 (any variant): the PHC string (Spring's `{argon2}` prefix is
//!   dropped), verified by the argon2 code of [`crate::hasher`].
//!
//! Every parameter is bounded ([`Limits`]), and so is their product: a
//! hash is verified with the parameters it names, so an imported hash must
//! not be able to cost the hashing pool seconds or gigabytes per login.
//! Each scheme's work is estimated from its cost formula ([`work_ms`]:
//! bcrypt 2^cost, PBKDF2 iterations, scrypt N·r·p, argon2 m·t) and must fit
//! [`Limits::WORK_BUDGET_MS`], at import and again at every verification
//! (a hash stored before the bound, or written into the database by hand,
//! is not verified: the login fails and a warning names the reason).

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash as PhcHash, Salt};
use argon2::{Algorithm, Params};
use auth_domain::identity::password::{ForeignHashError, Pbkdf2Digest, SpringPbkdf2};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq;

/// The most work one stored hash may ask for, per scheme.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits;

impl Limits {
    /// bcrypt cost (2^cost rounds; 16 is about 4 s on one core).
    pub(crate) const BCRYPT_COST: std::ops::RangeInclusive<u32> = 4..=16;
    /// PBKDF2 iterations (OWASP asks 1,300,000 for HMAC-SHA1).
    pub(crate) const PBKDF2_ITERATIONS: std::ops::RangeInclusive<u32> = 1..=2_000_000;
    /// scrypt memory, 128 · r · N bytes: 256 MiB.
    pub(crate) const SCRYPT_MEMORY: u64 = 256 << 20;
    /// scrypt parallelism.
    pub(crate) const SCRYPT_P: u32 = 16;
    /// argon2 memory, KiB: 256 MiB.
    pub(crate) const ARGON2_M_KIB: u32 = 256 * 1024;
    /// argon2 passes.
    pub(crate) const ARGON2_T: u32 = 16;
    /// argon2 lanes.
    pub(crate) const ARGON2_P: u32 = 16;
    /// The most work one verification may cost, in milliseconds of one core
    /// of the reference machine (`docs/performance.md`, import-bench): about
    /// a second, whatever the scheme.
    pub(crate) const WORK_BUDGET_MS: f64 = 1000.0;
}

/// Estimated milliseconds of one core per unit of each scheme's cost
/// formula: the import-bench medians of the reference machine, rounded up,
/// and for the memory-hard schemes taken at large memory, where cache
/// misses make a unit dearer than at the defaults.
mod unit_ms {
    /// One of bcrypt's 2^cost expansions (cost 10: 54 ms, 12: 217 ms).
    pub(super) const BCRYPT_ROUND: f64 = 0.06;
    /// One PBKDF2 iteration, HMAC-SHA1 (185,000: 32 ms).
    pub(super) const PBKDF2_SHA1: f64 = 0.000_2;
    /// One PBKDF2 iteration, HMAC-SHA256 (310,000: 30 ms with SHA
    /// extensions; about 0.25 µs without).
    pub(super) const PBKDF2_SHA256: f64 = 0.000_25;
    /// One PBKDF2 iteration, HMAC-SHA512.
    pub(super) const PBKDF2_SHA512: f64 = 0.000_4;
    /// One unit of scrypt's N·r·p (2^17·8·1: 272 ms; 2^20·2·16: 16.5 s).
    pub(super) const SCRYPT: f64 = 0.000_5;
    /// One KiB-pass of argon2's m·t (19,456·2: 13.6 ms; 256 MiB·16:
    /// 3–4 s).
    pub(super) const ARGON2: f64 = 0.000_8;
}

/// A scheme's parameters, as far as its cost is concerned.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Work {
    /// bcrypt's cost (log2 of the rounds).
    Bcrypt(u32),
    /// PBKDF2's digest and iterations.
    Pbkdf2(Pbkdf2Digest, u32),
    /// scrypt's log2(N), r and p.
    Scrypt(u8, u32, u32),
    /// argon2's m (KiB) and t.
    Argon2(u32, u32),
}

/// The estimated milliseconds of one core that one verification costs.
pub(crate) fn work_ms(work: Work) -> f64 {
    match work {
        Work::Bcrypt(cost) => unit_ms::BCRYPT_ROUND * 2f64.powi(i32::try_from(cost).unwrap_or(i32::MAX)),
        Work::Pbkdf2(digest, rounds) => {
            let unit = match digest {
                Pbkdf2Digest::Sha1 => unit_ms::PBKDF2_SHA1,
                Pbkdf2Digest::Sha256 => unit_ms::PBKDF2_SHA256,
                Pbkdf2Digest::Sha512 => unit_ms::PBKDF2_SHA512,
            };
            unit * f64::from(rounds)
        }
        Work::Scrypt(log_n, r, p) => {
            unit_ms::SCRYPT * 2f64.powi(i32::from(log_n)) * f64::from(r) * f64::from(p)
        }
        Work::Argon2(m_kib, t) => unit_ms::ARGON2 * f64::from(m_kib) * f64::from(t),
    }
}

/// Refuses `work` when one verification would cost more than
/// [`Limits::WORK_BUDGET_MS`], naming `what` and the estimate.
fn within_budget(what: &str, work: Work) -> Result<(), ForeignHashError> {
    let ms = work_ms(work);
    if ms <= Limits::WORK_BUDGET_MS {
        Ok(())
    } else {
        Err(refuse(format!(
            "{what} would cost about {:.1} s of a core per login (at most {:.1} s)",
            ms / 1000.0,
            Limits::WORK_BUDGET_MS / 1000.0
        )))
    }
}

fn refuse(reason: impl Into<String>) -> ForeignHashError {
    ForeignHashError(reason.into())
}

/// Checks an imported hash and returns the form to store.
///
/// # Errors
/// [`ForeignHashError`] with the reason, for the operator.
pub(crate) fn adopt(foreign: &str, spring_pbkdf2: &SpringPbkdf2) -> Result<String, ForeignHashError> {
    let foreign = foreign.trim();
    if let Some(rest) = foreign.strip_prefix('{') {
        let Some((id, encoded)) = rest.split_once('}') else {
            return Err(refuse("a Spring {id} prefix is not closed"));
        };
        return match id {
            "bcrypt" => check_bcrypt(encoded).map(str::to_owned),
            "argon2" | "argon2@SpringSecurity_v5_8" => check_argon2(encoded).map(str::to_owned),
            "pbkdf2" => spring_pbkdf2_to_phc(encoded, spring_pbkdf2),
            "pbkdf2@SpringSecurity_v5_8" => spring_pbkdf2_to_phc(encoded, &SpringPbkdf2::SPRING_V5_8),
            "scrypt" | "scrypt@SpringSecurity_v5_8" => {
                parse_spring_scrypt(encoded)?;
                Ok(format!("{{scrypt}}{encoded}"))
            }
            "noop" => Err(refuse(
                "{noop} is plain text: it is hashed during the import, never adopted",
            )),
            other => Err(refuse(format!(
                "Spring {{{}}} hashes are not supported (bcrypt, argon2, pbkdf2, scrypt, noop are)",
                other.chars().take(32).collect::<String>()
            ))),
        };
    }
    match phc_id(foreign) {
        Some("2a" | "2b" | "2y") => check_bcrypt(foreign).map(str::to_owned),
        Some("2x") => Err(refuse(
            "bcrypt $2x$ hashes (a buggy 2011 variant) are not supported",
        )),
        Some("argon2id" | "argon2i" | "argon2d") => check_argon2(foreign).map(str::to_owned),
        Some("pbkdf2" | "pbkdf2-sha1" | "pbkdf2-sha256" | "pbkdf2-sha512") => {
            parse_phc_pbkdf2(foreign)?;
            Ok(foreign.to_owned())
        }
        Some("scrypt") => {
            parse_phc_scrypt(foreign)?;
            Ok(foreign.to_owned())
        }
        _ => Err(refuse(
            "unknown format (supported: bcrypt $2a$/$2b$/$2y$; argon2, pbkdf2-sha256/sha512 and scrypt \
             PHC strings; Spring {bcrypt}, {argon2}, {pbkdf2}, {scrypt}, {noop})",
        )),
    }
}

/// The identifier of a `$id$…` string.
fn phc_id(s: &str) -> Option<&str> {
    s.strip_prefix('$').and_then(|rest| rest.split('$').next())
}

/// `$2a$10$` + 22 characters of salt + 31 of hash, in bcrypt's alphabet.
fn check_bcrypt(s: &str) -> Result<&str, ForeignHashError> {
    const ALPHABET: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let bytes = s.as_bytes();
    if !matches!(phc_id(s), Some("2a" | "2b" | "2y")) {
        return Err(refuse("bcrypt hash must start with $2a$, $2b$ or $2y$"));
    }
    if s.len() != 60 || bytes.get(6) != Some(&b'$') {
        return Err(refuse(format!(
            "bcrypt hash is {} characters, not 60 (truncated?)",
            s.len()
        )));
    }
    let cost: u32 = s
        .get(4..6)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| refuse("bcrypt cost is not a number"))?;
    if !Limits::BCRYPT_COST.contains(&cost) {
        return Err(refuse(format!(
            "bcrypt cost {cost} is outside {}..={}",
            Limits::BCRYPT_COST.start(),
            Limits::BCRYPT_COST.end()
        )));
    }
    within_budget(&format!("bcrypt cost {cost}"), Work::Bcrypt(cost))?;
    if !bytes
        .get(7..)
        .is_some_and(|rest| rest.iter().all(|b| ALPHABET.contains(b)))
    {
        return Err(refuse(
            "bcrypt salt and hash have characters outside bcrypt's base64",
        ));
    }
    Ok(s)
}

/// A PHC argon2 string whose parameters are within [`Limits`] and whose
/// work fits the budget (also checked before every argon2 verification).
pub(crate) fn check_argon2(s: &str) -> Result<&str, ForeignHashError> {
    let parsed = PhcHash::new(s).map_err(|e| refuse(format!("argon2 PHC string: {e}")))?;
    Algorithm::try_from(parsed.algorithm.as_str()).map_err(|_| refuse("argon2 variant is unknown"))?;
    if let Some(v) = parsed.version
        && v != 0x10
        && v != 0x13
    {
        return Err(refuse(format!("argon2 version {v} is unknown (16 or 19)")));
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(refuse("argon2 PHC string has no salt or no hash (truncated?)"));
    }
    let params = Params::try_from(&parsed).map_err(|e| refuse(format!("argon2 parameters: {e}")))?;
    if params.m_cost() > Limits::ARGON2_M_KIB
        || params.t_cost() > Limits::ARGON2_T
        || params.p_cost() > Limits::ARGON2_P
    {
        return Err(refuse(format!(
            "argon2 parameters m={},t={},p={} exceed m={},t={},p={}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            Limits::ARGON2_M_KIB,
            Limits::ARGON2_T,
            Limits::ARGON2_P
        )));
    }
    within_budget(
        &format!(
            "argon2 parameters m={},t={},p={}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        ),
        Work::Argon2(params.m_cost(), params.t_cost()),
    )?;
    Ok(s)
}

/// A PBKDF2 hash ready to verify.
#[derive(Debug)]
pub(crate) struct Pbkdf2Hash {
    digest: Pbkdf2Digest,
    rounds: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

fn parse_phc_pbkdf2(s: &str) -> Result<Pbkdf2Hash, ForeignHashError> {
    let parsed = PhcHash::new(s).map_err(|e| refuse(format!("pbkdf2 PHC string: {e}")))?;
    let digest = match parsed.algorithm.as_str() {
        "pbkdf2" | "pbkdf2-sha1" => Pbkdf2Digest::Sha1,
        "pbkdf2-sha256" => Pbkdf2Digest::Sha256,
        "pbkdf2-sha512" => Pbkdf2Digest::Sha512,
        _ => return Err(refuse("pbkdf2 digest is unknown")),
    };
    if parsed.version.is_some() {
        return Err(refuse("pbkdf2 PHC strings have no version"));
    }
    let (Some(salt), Some(hash)) = (&parsed.salt, &parsed.hash) else {
        return Err(refuse("pbkdf2 PHC string has no salt or no hash (truncated?)"));
    };
    let rounds = parsed
        .params
        .get_decimal("i")
        .ok_or_else(|| refuse("pbkdf2 PHC string has no i= (iterations)"))?;
    if let Some(len) = parsed.params.get_decimal("l")
        && usize::try_from(len).ok() != Some(hash.len())
    {
        return Err(refuse(format!(
            "pbkdf2 l={len} but the hash is {} bytes (truncated?)",
            hash.len()
        )));
    }
    if parsed
        .params
        .iter()
        .any(|(name, _)| !matches!(name.as_str(), "i" | "l"))
    {
        return Err(refuse("pbkdf2 PHC string has parameters other than i and l"));
    }
    check_rounds(digest, rounds)?;
    Ok(Pbkdf2Hash {
        digest,
        rounds,
        salt: salt.as_ref().to_vec(),
        hash: hash.as_bytes().to_vec(),
    })
}

fn check_rounds(digest: Pbkdf2Digest, rounds: u32) -> Result<(), ForeignHashError> {
    if !Limits::PBKDF2_ITERATIONS.contains(&rounds) {
        return Err(refuse(format!(
            "pbkdf2 iterations {rounds} are outside {}..={}",
            Limits::PBKDF2_ITERATIONS.start(),
            Limits::PBKDF2_ITERATIONS.end()
        )));
    }
    within_budget(
        &format!("pbkdf2 iterations {rounds}"),
        Work::Pbkdf2(digest, rounds),
    )
}

/// Spring's `{pbkdf2}` hex(salt ‖ hash) (or base64, when the encoder had
/// `encodeHashAsBase64`) as a PHC string with the named parameters.
fn spring_pbkdf2_to_phc(encoded: &str, params: &SpringPbkdf2) -> Result<String, ForeignHashError> {
    let bytes = match hex::decode(encoded) {
        Ok(bytes) => bytes,
        Err(_) => STANDARD
            .decode(encoded)
            .map_err(|_| refuse("{pbkdf2} value is neither hex nor base64"))?,
    };
    let want = params.salt_len + params.hash_len;
    if bytes.len() != want {
        return Err(refuse(format!(
            "{{pbkdf2}} value is {} bytes; the named parameters expect {} (salt {} + hash {}): \
             truncated, or other parameters (see --spring-pbkdf2)",
            bytes.len(),
            want,
            params.salt_len,
            params.hash_len
        )));
    }
    check_rounds(params.digest, params.iterations)?;
    let (salt, hash) = bytes.split_at(params.salt_len);
    let id = match params.digest {
        Pbkdf2Digest::Sha1 => "pbkdf2",
        Pbkdf2Digest::Sha256 => "pbkdf2-sha256",
        Pbkdf2Digest::Sha512 => "pbkdf2-sha512",
    };
    let mut phc_params = ParamsString::new();
    phc_params
        .add_decimal("i", params.iterations)
        .and_then(|()| phc_params.add_decimal("l", u32::try_from(hash.len()).unwrap_or(u32::MAX)))
        .map_err(|e| refuse(format!("pbkdf2 parameters: {e}")))?;
    let phc = PhcHash {
        algorithm: argon2::password_hash::phc::Ident::new(id).map_err(|e| refuse(e.to_string()))?,
        version: None,
        params: phc_params,
        salt: Some(Salt::new(salt).map_err(|e| refuse(format!("pbkdf2 salt: {e}")))?),
        hash: Some(Output::new(hash).map_err(|e| refuse(format!("pbkdf2 hash: {e}")))?),
    };
    Ok(phc.to_string())
}

/// A scrypt hash ready to verify.
#[derive(Debug)]
pub(crate) struct ScryptHash {
    log_n: u8,
    r: u32,
    p: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

fn check_scrypt(log_n: u64, r: u64, p: u64) -> Result<(u8, u32, u32), ForeignHashError> {
    let bad = || {
        refuse(format!(
            "scrypt parameters ln={log_n},r={r},p={p} are invalid or too costly"
        ))
    };
    let log_n = u8::try_from(log_n).map_err(|_| bad())?;
    let r32 = u32::try_from(r).map_err(|_| bad())?;
    let p32 = u32::try_from(p).map_err(|_| bad())?;
    if log_n == 0 || log_n >= 32 || r32 == 0 || p32 == 0 || p32 > Limits::SCRYPT_P {
        return Err(bad());
    }
    let memory = 128u64.saturating_mul(r).saturating_mul(1u64 << log_n);
    if memory > Limits::SCRYPT_MEMORY {
        return Err(bad());
    }
    scrypt::Params::new(log_n, r32, p32).map_err(|_| bad())?;
    within_budget(
        &format!("scrypt parameters ln={log_n},r={r},p={p}"),
        Work::Scrypt(log_n, r32, p32),
    )?;
    Ok((log_n, r32, p32))
}

fn parse_phc_scrypt(s: &str) -> Result<ScryptHash, ForeignHashError> {
    let parsed = PhcHash::new(s).map_err(|e| refuse(format!("scrypt PHC string: {e}")))?;
    let (Some(salt), Some(hash)) = (&parsed.salt, &parsed.hash) else {
        return Err(refuse("scrypt PHC string has no salt or no hash (truncated?)"));
    };
    let get = |name: &str| {
        parsed
            .params
            .get_decimal(name)
            .map(u64::from)
            .ok_or_else(|| refuse(format!("scrypt PHC string has no {name}=")))
    };
    let (log_n, r, p) = check_scrypt(get("ln")?, get("r")?, get("p")?)?;
    Ok(ScryptHash {
        log_n,
        r,
        p,
        salt: salt.as_ref().to_vec(),
        hash: hash.as_bytes().to_vec(),
    })
}

/// Spring's `$<hex of log2(N)<<16 | r<<8 | p>$<base64 salt>$<base64 hash>`.
fn parse_spring_scrypt(encoded: &str) -> Result<ScryptHash, ForeignHashError> {
    let mut parts = encoded.split('$');
    let (Some(""), Some(params), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(refuse("{scrypt} value must be $params$salt$hash (truncated?)"));
    };
    let params = u64::from_str_radix(params, 16).map_err(|_| refuse("{scrypt} parameters are not hex"))?;
    let (log_n, r, p) = check_scrypt(params >> 16 & 0xffff, params >> 8 & 0xff, params & 0xff)?;
    let salt = STANDARD
        .decode(salt)
        .map_err(|_| refuse("{scrypt} salt is not base64"))?;
    let hash = STANDARD
        .decode(hash)
        .map_err(|_| refuse("{scrypt} hash is not base64 (truncated?)"))?;
    if salt.is_empty() || hash.len() < 16 || hash.len() > 1024 {
        return Err(refuse(
            "{scrypt} salt or hash has an impossible length (truncated?)",
        ));
    }
    Ok(ScryptHash {
        log_n,
        r,
        p,
        salt,
        hash,
    })
}

/// Verifies `password` against a stored hash that is not argon2: `Ok` with
/// the answer, or `Err` when the stored value is not one we can verify.
pub(crate) fn verify_foreign(password: &[u8], stored: &str) -> Result<bool, ForeignHashError> {
    if let Some(encoded) = stored.strip_prefix("{scrypt}") {
        return verify_scrypt(password, &parse_spring_scrypt(encoded)?);
    }
    match phc_id(stored) {
        Some("2a" | "2b" | "2y") => {
            check_bcrypt(stored)?;
            // Truncating verify: bcrypt uses at most 72 bytes of a password,
            // and so did the systems that made these hashes.
            bcrypt::verify(password, stored).map_err(|e| refuse(format!("bcrypt: {e}")))
        }
        Some("pbkdf2" | "pbkdf2-sha1" | "pbkdf2-sha256" | "pbkdf2-sha512") => {
            let h = parse_phc_pbkdf2(stored)?;
            let mut out = vec![0u8; h.hash.len()];
            match h.digest {
                Pbkdf2Digest::Sha1 => {
                    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, &h.salt, h.rounds, &mut out)
                }
                Pbkdf2Digest::Sha256 => {
                    pbkdf2::pbkdf2_hmac::<pbkdf2::sha2::Sha256>(password, &h.salt, h.rounds, &mut out);
                }
                Pbkdf2Digest::Sha512 => {
                    pbkdf2::pbkdf2_hmac::<pbkdf2::sha2::Sha512>(password, &h.salt, h.rounds, &mut out);
                }
            }
            Ok(bool::from(out.ct_eq(&h.hash)))
        }
        Some("scrypt") => verify_scrypt(password, &parse_phc_scrypt(stored)?),
        _ => Err(refuse("unknown stored hash format")),
    }
}

fn verify_scrypt(password: &[u8], h: &ScryptHash) -> Result<bool, ForeignHashError> {
    let params = scrypt::Params::new(h.log_n, h.r, h.p).map_err(|_| refuse("scrypt parameters"))?;
    let mut out = vec![0u8; h.hash.len()];
    scrypt::scrypt(password, &h.salt, &params, &mut out).map_err(|_| refuse("scrypt output length"))?;
    Ok(bool::from(out.ct_eq(&h.hash)))
}

#[cfg(test)]
mod tests;
