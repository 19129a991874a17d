//! Unit tests of `foreign_hash`.

use super::*;

fn ok(foreign: &str) -> String {
    adopt(foreign, &SpringPbkdf2::default()).unwrap_or_else(|e| panic!("{foreign}: {e}"))
}

fn refused(foreign: &str) -> String {
    adopt(foreign, &SpringPbkdf2::default()).unwrap_err().0
}

// Reference values from Spring Security's documentation of
// `DelegatingPasswordEncoder` (the password is "password").
const SPRING_BCRYPT: &str = "{bcrypt}$2a$10$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG";
const SPRING_PBKDF2: &str =
    "{pbkdf2}5d923b44a6d129f3ddf3e3c8d29412723dcbde72445e8ef6bf3b508fbf17fa4ed4d6b99ca763d8dc";
const SPRING_SCRYPT: &str = "{scrypt}$e0801$8bWJaSu2IKSn9Z9kM+TPXfOc/9bdYSrN1oD9qfVThWEwdRTnO7re7Ei+fUZRJ68k9lTyuTeUp4of4g24hHnazw==$OAOec05+bXxvuu/1qZ6NUR+xQYvYv7BeL1QxwRpY5Pc=";

#[test]
fn spring_reference_hashes_are_adopted_and_verify() {
    for foreign in [SPRING_BCRYPT, SPRING_PBKDF2, SPRING_SCRYPT] {
        let stored = ok(foreign);
        assert!(
            !stored.starts_with("{bcrypt}") && !stored.starts_with("{pbkdf2}"),
            "{stored}"
        );
        assert!(
            verify_foreign(b"password", &stored).unwrap(),
            "{foreign} -> {stored}"
        );
        assert!(!verify_foreign(b"passwore", &stored).unwrap(), "{foreign}");
    }
    assert!(ok(SPRING_PBKDF2).starts_with("$pbkdf2$i=185000,l=32$"));
}

#[test]
fn rustcrypto_phc_strings_verify() {
    // The scrypt crate's own test vector (password "password").
    let scrypt = "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E";
    assert_eq!(ok(scrypt), scrypt);
    assert!(verify_foreign(b"password", scrypt).unwrap());
    assert!(!verify_foreign(b"passwore", scrypt).unwrap());
    // PBKDF2-SHA256 and SHA512 as the pbkdf2 crate's PHC support writes
    // them (made here with the crate's KDF).
    for (id, digest) in [
        ("pbkdf2-sha256", Pbkdf2Digest::Sha256),
        ("pbkdf2-sha512", Pbkdf2Digest::Sha512),
    ] {
        let salt = b"saltSALTsaltSALT";
        let mut out = [0u8; 32];
        match digest {
            Pbkdf2Digest::Sha256 => {
                pbkdf2::pbkdf2_hmac::<pbkdf2::sha2::Sha256>(b"hunter22", salt, 1000, &mut out)
            }
            _ => pbkdf2::pbkdf2_hmac::<pbkdf2::sha2::Sha512>(b"hunter22", salt, 1000, &mut out),
        }
        let phc = format!(
            "${id}$i=1000,l=32${}${}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(salt),
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(out)
        );
        assert_eq!(ok(&phc), phc);
        assert!(verify_foreign(b"hunter22", &phc).unwrap(), "{phc}");
        assert!(!verify_foreign(b"hunter23", &phc).unwrap(), "{phc}");
    }
}

#[test]
fn nestjs_bcrypt_variants_verify() {
    let hash = bcrypt::hash_with_salt(b"correct horse", 4, *b"0123456789abcdef").unwrap();
    for version in [
        bcrypt::Version::TwoA,
        bcrypt::Version::TwoB,
        bcrypt::Version::TwoY,
    ] {
        let s = hash.format_for_version(version);
        assert_eq!(ok(&s), s);
        assert!(verify_foreign(b"correct horse", &s).unwrap(), "{s}");
        assert!(!verify_foreign(b"correct horsf", &s).unwrap(), "{s}");
    }
}

#[test]
fn spring_pbkdf2_takes_the_named_parameters() {
    // The same value under v5.8 parameters is 40 bytes, not 48: refused.
    let e = adopt(SPRING_PBKDF2, &SpringPbkdf2::SPRING_V5_8).unwrap_err().0;
    assert!(e.contains("40 bytes") && e.contains("expect 48"), "{e}");
    // A v5.8 hash made here verifies after adoption under `{pbkdf2@SpringSecurity_v5_8}`.
    let salt = [9u8; 16];
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<pbkdf2::sha2::Sha256>(b"password", &salt, 310_000, &mut out);
    let encoded = format!(
        "{{pbkdf2@SpringSecurity_v5_8}}{}{}",
        hex::encode(salt),
        hex::encode(out)
    );
    let stored = ok(&encoded);
    assert!(stored.starts_with("$pbkdf2-sha256$i=310000,l=32$"), "{stored}");
    assert!(verify_foreign(b"password", &stored).unwrap());
}

#[test]
fn bad_hashes_are_refused_with_a_reason() {
    let truncated_bcrypt = &SPRING_BCRYPT[..50];
    assert!(
        refused(truncated_bcrypt).contains("not 60"),
        "{}",
        refused(truncated_bcrypt)
    );
    assert!(refused("$2b$31$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG").contains("cost 31"));
    assert!(refused("$2b$1x$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG").contains("cost"));
    assert!(refused(&SPRING_PBKDF2[..40]).contains("expect 40"));
    assert!(refused("{pbkdf2}zz").contains("neither hex nor base64"));
    assert!(
        refused("$scrypt$ln=24,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E")
            .contains("too costly")
    );
    assert!(
        refused("$scrypt$ln=16,r=8$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E")
            .contains("no p=")
    );
    assert!(refused("{scrypt}$e0801$8bWJaSu2IKSn9Z9kM+TPXfOc").contains("truncated"));
    assert!(
        refused("$argon2id$v=19$m=1048576,t=2,p=1$c29tZXNhbHQ$T/XOJ2mh1/TIpJHfCdQan76Q5esCFVoT5MAeIM1Oq2E")
            .contains("exceed")
    );
    assert!(refused("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ").contains("truncated"));
    assert!(
        refused("$pbkdf2-sha256$i=9000000,l=32$c2FsdHNhbHQ$T/XOJ2mh1/TIpJHfCdQan76Q5esCFVoT5MAeIM1Oq2E")
            .contains("iterations")
    );
    assert!(refused("{MD5}5f4dcc3b5aa765d61d8327deb882cf99").contains("not supported"));
    assert!(refused("5f4dcc3b5aa765d61d8327deb882cf99").contains("unknown format"));
    assert!(refused("$2x$10$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG").contains("2x"));
    assert!(refused("{noop}secret").contains("plain text"));
}

/// Issue 26.4: parameters within their bounds one at a time, whose
/// product costs seconds per wrong password, are refused with the
/// estimate; what real systems use still fits.
#[test]
fn the_work_of_one_verification_is_bounded() {
    const SALT: &str = "aM15713r3Xsvxbi31lqr1Q";
    const OUT: &str = "nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E";
    for costly in [
        // 16.5 s measured.
        format!("$scrypt$ln=20,r=2,p=16${SALT}${OUT}"),
        // 4.8 s.
        "$2b$16$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG".to_owned(),
        "$2b$15$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG".to_owned(),
        // 3-4 s.
        format!("$argon2id$v=19$m=262144,t=16,p=16${SALT}${OUT}"),
        format!("$argon2id$v=19$m=262144,t=5,p=1${SALT}${OUT}"),
        // Spring's {scrypt} with the same parameters: 0x14 << 16 | 2 << 8 | 16.
        format!(
            "{{scrypt}}$140210${}${}",
            STANDARD.encode([7u8; 16]),
            STANDARD.encode([9u8; 32])
        ),
    ] {
        let reason = refused(&costly);
        assert!(reason.contains("s of a core per login"), "{costly}: {reason}");
        assert!(
            verify_foreign(b"password", &costly).is_err() || costly.starts_with("$argon2"),
            "{costly} verified"
        );
    }
    for cheap in [
        format!("$scrypt$ln=17,r=8,p=1${SALT}${OUT}"),
        format!("$scrypt$ln=14,r=8,p=1${SALT}${OUT}"),
        "$2b$14$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG".to_owned(),
        format!("$argon2id$v=19$m=65536,t=3,p=4${SALT}${OUT}"),
        format!("$argon2id$v=19$m=262144,t=4,p=16${SALT}${OUT}"),
        format!("$pbkdf2-sha512$i=2000000,l=32${SALT}${OUT}"),
    ] {
        let reason = adopt(&cheap, &SpringPbkdf2::SPRING_V5_5).err();
        assert!(reason.is_none(), "{cheap}: {reason:?}");
    }
    // The estimates follow each scheme's formula.
    assert!((work_ms(Work::Bcrypt(10)) - 61.44).abs() < 0.01);
    assert!(work_ms(Work::Scrypt(20, 2, 16)) > 16_000.0);
    assert!(work_ms(Work::Argon2(19_456, 2)) < 50.0);
}

#[test]
fn spring_argon2_prefix_is_dropped() {
    let phc = "$argon2id$v=19$m=16384,t=2,p=1$c29tZXNhbHQ$T/XOJ2mh1/TIpJHfCdQan76Q5esCFVoT5MAeIM1Oq2E";
    assert_eq!(ok(&format!("{{argon2}}{phc}")), phc);
    assert_eq!(ok(&format!("{{argon2@SpringSecurity_v5_8}}{phc}")), phc);
}
