//! The passkey ceremonies (`WebauthnCeremony`, over webauthn-rs) against an
//! independent software authenticator (`auth_qa::soft_passkey`, 1Password's
//! client and authenticator): registration and both kinds of
//! authentication succeed, and every answer that does not belong to the
//! ceremony is refused with the port's error — another challenge, origin
//! or RP id, another user's credential, no user verification, a signature
//! counter that went backwards, JSON that is no credential.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_domain::factors::ports::{
    CeremonyStart, PasskeyCeremony, PasskeyError, PasskeyUser, RegisteredPasskey, StoredPasskey,
};
use auth_domain::identity::user::UserId;
use auth_infra::{WebauthnCeremony, WebauthnConfigError};
use auth_qa::soft_passkey::SoftPasskey;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use serde_json::Value;
use uuid::Uuid;

const RP_ID: &str = "login.example.com";
const ORIGIN: &str = "https://login.example.com";

fn ceremony() -> WebauthnCeremony {
    WebauthnCeremony::new(RP_ID, "Example", &[ORIGIN]).unwrap()
}

fn user(name: &str) -> PasskeyUser {
    PasskeyUser {
        handle: Uuid::new_v4(),
        name: format!("{name}@example.com"),
        display_name: name.to_owned(),
    }
}

fn stored(registered: RegisteredPasskey) -> StoredPasskey {
    StoredPasskey {
        id: Uuid::new_v4(),
        user_id: UserId::new(1),
        credential_id: registered.credential_id,
        name: "soft passkey".into(),
        data: registered.data,
        backup_eligible: registered.backup_eligible,
        created_at: Utc::now(),
        last_used_at: None,
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The signature counter kept in a passkey's data.
fn stored_counter(passkey: &StoredPasskey) -> u64 {
    json(&passkey.data)["cred"]["counter"].as_u64().unwrap()
}

/// `options` with `edit` applied to its `publicKey`.
fn edit_options(options: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut options = json(options);
    edit(&mut options["publicKey"]);
    options.to_string()
}

fn assert_refused(result: Result<impl std::fmt::Debug, PasskeyError>, reason: &str) {
    match result {
        Err(PasskeyError::Refused(got)) => assert_eq!(got, reason),
        other => panic!("expected Refused({reason}), got {other:?}"),
    }
}

/// Registers a new passkey of `user` on `device` through `rp`.
async fn register_with(
    rp: &WebauthnCeremony,
    device: &mut SoftPasskey,
    user: &PasskeyUser,
    existing: &[StoredPasskey],
) -> StoredPasskey {
    let start = rp.start_registration(user, existing).unwrap();
    let created = device.register(&start.options, ORIGIN).await.unwrap();
    stored(rp.finish_registration(&start.state, &created).unwrap())
}

async fn register(device: &mut SoftPasskey, user: &PasskeyUser) -> StoredPasskey {
    register_with(&ceremony(), device, user, &[]).await
}

/// Starts an authentication (second step for `allowed`, sign-in when
/// empty) and has `device` answer it from `origin`.
async fn answer(
    rp: &WebauthnCeremony,
    device: &mut SoftPasskey,
    allowed: &[StoredPasskey],
) -> (CeremonyStart, String) {
    let start = rp.start_authentication(allowed).unwrap();
    let assertion = device.authenticate(&start.options, ORIGIN).await.unwrap();
    (start, assertion)
}

#[tokio::test]
async fn registration_options_ask_for_a_discoverable_verified_credential_without_attestation() {
    let alice = user("alice");
    let start = ceremony().start_registration(&alice, &[]).unwrap();
    let options = json(&start.options);
    let key = &options["publicKey"];
    assert_eq!(key["rp"]["id"], RP_ID);
    assert_eq!(key["rp"]["name"], "Example");
    assert_eq!(key["user"]["id"], b64(alice.handle.as_bytes()));
    assert_eq!(key["user"]["name"], "alice@example.com");
    assert_eq!(key["user"]["displayName"], "alice");
    assert!(
        key["challenge"]
            .as_str()
            .is_some_and(|c| URL_SAFE_NO_PAD.decode(c).unwrap().len() >= 16)
    );
    assert_eq!(key["attestation"], "none");
    let selection = &key["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required");
    assert_eq!(selection["requireResidentKey"], true);
    assert_eq!(selection["userVerification"], "required");
    assert!(
        key.get("excludeCredentials")
            .is_none_or(|list| list.as_array().unwrap().is_empty())
    );
    assert_eq!(json(&start.state)["kind"], "registration");
}

#[tokio::test]
async fn registration_returns_the_credential_and_its_backup_eligibility() {
    let mut device = SoftPasskey::new();
    let alice = user("alice");
    let start = ceremony().start_registration(&alice, &[]).unwrap();
    let created = device.register(&start.options, ORIGIN).await.unwrap();
    let registered = ceremony().finish_registration(&start.state, &created).unwrap();
    assert_eq!(device.credential_ids(), vec![registered.credential_id.clone()]);
    // 1Password's authenticator makes synced (backup-eligible) passkeys.
    assert!(registered.backup_eligible);
    assert_eq!(json(&created)["id"], b64(&registered.credential_id));
    assert_eq!(json(&registered.data)["cred"]["counter"], 0);
}

#[tokio::test]
async fn excluded_credentials_are_listed_and_the_authenticator_refuses_them() {
    let mut device = SoftPasskey::new();
    let alice = user("alice");
    let first = register(&mut device, &alice).await;
    let start = ceremony()
        .start_registration(&alice, std::slice::from_ref(&first))
        .unwrap();
    let excluded = json(&start.options)["publicKey"]["excludeCredentials"].clone();
    assert_eq!(
        excluded,
        serde_json::json!([{"type": "public-key", "id": b64(&first.credential_id)}])
    );
    let refused = device.register(&start.options, ORIGIN).await;
    let refused = refused.unwrap_err();
    assert!(refused.contains("CredentialExcluded"), "{refused}");
    // Another authenticator registers a second passkey for the user.
    let second = register_with(
        &ceremony(),
        &mut SoftPasskey::new(),
        &alice,
        std::slice::from_ref(&first),
    )
    .await;
    assert_ne!(second.credential_id, first.credential_id);
}

#[tokio::test]
async fn second_step_authentication_succeeds_and_advances_the_counter() {
    let rp = ceremony();
    let mut device = SoftPasskey::new();
    let alice = user("alice");
    let mut passkey = register(&mut device, &alice).await;
    for expected in 1..=2 {
        let (start, assertion) = answer(&rp, &mut device, std::slice::from_ref(&passkey)).await;
        let options = json(&start.options);
        assert_eq!(options["publicKey"]["rpId"], RP_ID);
        assert_eq!(options["publicKey"]["userVerification"], "required");
        assert_eq!(
            options["publicKey"]["allowCredentials"][0]["id"],
            b64(&passkey.credential_id)
        );
        assert_eq!(json(&start.state)["kind"], "second_step");
        assert_eq!(rp.credential_id(&assertion).unwrap(), passkey.credential_id);
        let verified = rp
            .finish_authentication(&start.state, &assertion, &passkey, alice.handle)
            .unwrap();
        assert_eq!(verified.credential_id, passkey.credential_id);
        passkey.data = verified.data;
        assert_eq!(stored_counter(&passkey), expected);
    }
}

#[tokio::test]
async fn discoverable_sign_in_finds_the_credential_without_a_list() {
    let rp = ceremony();
    let mut device = SoftPasskey::new();
    let alice = user("alice");
    let passkey = register(&mut device, &alice).await;
    let (start, assertion) = answer(&rp, &mut device, &[]).await;
    let options = json(&start.options);
    assert!(
        options["publicKey"]
            .get("allowCredentials")
            .is_none_or(|list| list.as_array().unwrap().is_empty())
    );
    assert_eq!(options["publicKey"]["userVerification"], "required");
    assert!(options.get("mediation").is_none());
    assert_eq!(json(&start.state)["kind"], "discoverable");
    assert_eq!(
        json(&assertion)["response"]["userHandle"],
        b64(alice.handle.as_bytes())
    );
    assert_eq!(rp.credential_id(&assertion).unwrap(), passkey.credential_id);
    let verified = rp
        .finish_authentication(&start.state, &assertion, &passkey, alice.handle)
        .unwrap();
    assert_eq!(verified.credential_id, passkey.credential_id);
    assert_eq!(json(&verified.data)["cred"]["counter"], 1);
}

#[tokio::test]
async fn an_answer_to_another_challenge_is_refused() {
    let rp = ceremony();
    let mut device = SoftPasskey::new();
    let alice = user("alice");
    // Registration: the answer to one ceremony, the state of another.
    let answered = rp.start_registration(&alice, &[]).unwrap();
    let other = rp.start_registration(&alice, &[]).unwrap();
    let created = device.register(&answered.options, ORIGIN).await.unwrap();
    assert_refused(
        rp.finish_registration(&other.state, &created),
        "another challenge",
    );
    let passkey = stored(rp.finish_registration(&answered.state, &created).unwrap());
    // Both kinds of authentication.
    for allowed in [vec![passkey.clone()], vec![]] {
        let other = rp.start_authentication(&allowed).unwrap();
        let (_, assertion) = answer(&rp, &mut device, &allowed).await;
        assert_refused(
            rp.finish_authentication(&other.state, &assertion, &passkey, alice.handle),
            "another challenge",
        );
    }
}

#[tokio::test]
async fn an_answer_from_another_origin_is_refused() {
    let rp = ceremony();
    let mut device = SoftPasskey::new();
    let alice = user("alice");
    // A subdomain and another port of the origin: the client accepts both
    // for the RP id, the relying party pins the origin.
    for origin in ["https://evil.login.example.com", "https://login.example.com:8443"] {
        let start = rp.start_registration(&alice, &[]).unwrap();
        let created = device.register(&start.options, origin).await.unwrap();
        assert_refused(
            rp.finish_registration(&start.state, &created),
            "origin not allowed",
        );
    }
    let passkey = register(&mut device, &alice).await;
    for allowed in [vec![passkey.clone()], vec![]] {
        let start = rp.start_authentication(&allowed).unwrap();
        let assertion = device
            .authenticate(&start.options, "https://evil.login.example.com")
            .await
            .unwrap();
        assert_refused(
            rp.finish_authentication(&start.state, &assertion, &passkey, alice.handle),
            "origin not allowed",
        );
    }
}

#[tokio::test]
async fn a_credential_for_another_rp_id_is_refused() {
    let rp = ceremony();
    let mut device = SoftPasskey::new();
    let alice = user("alice");
    // The options tampered to name the parent domain, which the client
    // allows from this origin: the credential is bound to example.com.
    let start = rp.start_registration(&alice, &[]).unwrap();
    let options = edit_options(&start.options, |key| key["rp"]["id"] = "example.com".into());
    let created = device.register(&options, ORIGIN).await.unwrap();
    assert_refused(
        rp.finish_registration(&start.state, &created),
        "another relying party",
    );

    // A passkey registered with a relying party of RP id example.com (same
    // origin), presented to this one.
    let parent = WebauthnCeremony::new("example.com", "Example", &[ORIGIN]).unwrap();
    let foreign = register_with(&parent, &mut device, &alice, &[]).await;
    let start = rp.start_authentication(std::slice::from_ref(&foreign)).unwrap();
    let options = edit_options(&start.options, |key| key["rpId"] = "example.com".into());
    let assertion = device.authenticate(&options, ORIGIN).await.unwrap();
    assert_refused(
        rp.finish_authentication(&start.state, &assertion, &foreign, alice.handle),
        "another relying party",
    );
    // This relying party's own discoverable sign-in does not find it.
    let start = rp.start_authentication(&[]).unwrap();
    assert!(device.authenticate(&start.options, ORIGIN).await.is_err());
}

#[tokio::test]
async fn another_users_credential_is_refused_in_a_sign_in() {
    let rp = ceremony();
    let (alice, bob) = (user("alice"), user("bob"));
    let mut alices_device = SoftPasskey::new();
    let mut bobs_device = SoftPasskey::new();
    let alices = register(&mut alices_device, &alice).await;
    let bobs = register(&mut bobs_device, &bob).await;

    let (start, assertion) = answer(&rp, &mut bobs_device, &[]).await;
    // Bob's assertion against Alice's passkey and handle.
    assert_refused(
        rp.finish_authentication(&start.state, &assertion, &alices, alice.handle),
        "credential not the passkey",
    );
    // Bob's passkey, but the sign-in claims Alice.
    assert_refused(
        rp.finish_authentication(&start.state, &assertion, &bobs, alice.handle),
        "another user's credential",
    );
    // A user handle rewritten to Alice's (it is not signed).
    let mut forged = json(&assertion);
    forged["response"]["userHandle"] = b64(alice.handle.as_bytes()).into();
    assert_refused(
        rp.finish_authentication(&start.state, &forged.to_string(), &bobs, bob.handle),
        "another user's credential",
    );
    // No user handle at all.
    forged["response"]["userHandle"] = Value::Null;
    assert_refused(
        rp.finish_authentication(&start.state, &forged.to_string(), &bobs, bob.handle),
        "user handle missing",
    );
    // The genuine pairing passes.
    rp.finish_authentication(&start.state, &assertion, &bobs, bob.handle)
        .unwrap();

    // A second step for Alice's passkey answered with Bob's credential.
    let start = rp.start_authentication(std::slice::from_ref(&alices)).unwrap();
    let options = edit_options(&start.options, |key| {
        key["allowCredentials"][0]["id"] = b64(&bobs.credential_id).into()
    });
    let assertion = bobs_device.authenticate(&options, ORIGIN).await.unwrap();
    assert_refused(
        rp.finish_authentication(&start.state, &assertion, &bobs, bob.handle),
        "credential not allowed",
    );
}

#[tokio::test]
async fn an_assertion_without_user_verification_is_refused() {
    let rp = ceremony();
    let mut device = SoftPasskey::new();
    let alice = user("alice");
    let start = rp.start_registration(&alice, &[]).unwrap();
    let options = edit_options(&start.options, |key| {
        key["authenticatorSelection"]["userVerification"] = "discouraged".into()
    });
    let created = device.register(&options, ORIGIN).await.unwrap();
    assert_refused(
        rp.finish_registration(&start.state, &created),
        "user not verified",
    );

    let passkey = register(&mut device, &alice).await;
    for allowed in [vec![passkey.clone()], vec![]] {
        let start = rp.start_authentication(&allowed).unwrap();
        let options = edit_options(&start.options, |key| {
            key["userVerification"] = "discouraged".into()
        });
        let assertion = device.authenticate(&options, ORIGIN).await.unwrap();
        assert_refused(
            rp.finish_authentication(&start.state, &assertion, &passkey, alice.handle),
            "user not verified",
        );
    }
}

#[tokio::test]
async fn a_counter_that_went_backwards_is_counter_regressed() {
    let rp = ceremony();
    let mut device = SoftPasskey::new();
    let alice = user("alice");
    let mut passkey = register(&mut device, &alice).await;
    let (start, assertion) = answer(&rp, &mut device, std::slice::from_ref(&passkey)).await;
    passkey.data = rp
        .finish_authentication(&start.state, &assertion, &passkey, alice.handle)
        .unwrap()
        .data;
    assert_eq!(stored_counter(&passkey), 1);
    assert_eq!(device.counter(&passkey.credential_id), Some(1));

    // A clone still at 0 signs 1 again: in both kinds of authentication.
    for allowed in [vec![passkey.clone()], vec![]] {
        assert!(device.set_counter(&passkey.credential_id, 0));
        let (start, assertion) = answer(&rp, &mut device, &allowed).await;
        let result = rp.finish_authentication(&start.state, &assertion, &passkey, alice.handle);
        assert!(
            matches!(result, Err(PasskeyError::CounterRegressed)),
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn the_counter_is_checked_against_the_stored_passkey_not_the_states_copy() {
    let rp = ceremony();
    let mut device = SoftPasskey::new();
    let alice = user("alice");
    let registered = register(&mut device, &alice).await;
    // Two second steps started while the stored counter was 0.
    let first = rp
        .start_authentication(std::slice::from_ref(&registered))
        .unwrap();
    let second = rp
        .start_authentication(std::slice::from_ref(&registered))
        .unwrap();
    let assertion = device.authenticate(&first.options, ORIGIN).await.unwrap();
    let mut passkey = registered.clone();
    passkey.data = rp
        .finish_authentication(&first.state, &assertion, &registered, alice.handle)
        .unwrap()
        .data;
    // A clone answers the second with counter 1: above the state's 0, not
    // above the stored 1.
    device.set_counter(&passkey.credential_id, 0);
    let assertion = device.authenticate(&second.options, ORIGIN).await.unwrap();
    let result = rp.finish_authentication(&second.state, &assertion, &passkey, alice.handle);
    assert!(
        matches!(result, Err(PasskeyError::CounterRegressed)),
        "{result:?}"
    );
}

#[tokio::test]
async fn passkeys_without_a_counter_keep_working() {
    let rp = ceremony();
    let mut device = SoftPasskey::without_counters();
    let alice = user("alice");
    let mut passkey = register(&mut device, &alice).await;
    for allowed in [vec![passkey.clone()], vec![], vec![passkey.clone()]] {
        let (start, assertion) = answer(&rp, &mut device, &allowed).await;
        passkey.data = rp
            .finish_authentication(&start.state, &assertion, &passkey, alice.handle)
            .unwrap()
            .data;
        assert_eq!(stored_counter(&passkey), 0);
    }
}

#[tokio::test]
async fn json_that_is_no_credential_is_malformed() {
    let rp = ceremony();
    let mut device = SoftPasskey::new();
    let alice = user("alice");
    let passkey = register(&mut device, &alice).await;
    let registration = rp.start_registration(&alice, &[]).unwrap();
    let authentication = rp.start_authentication(std::slice::from_ref(&passkey)).unwrap();
    // Binary fields that decode to no client data.
    let hollow = serde_json::json!({
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": {
            "clientDataJSON": "AAAA", "authenticatorData": "AAAA",
            "attestationObject": "AAAA", "signature": "AAAA",
        },
    })
    .to_string();
    for garbage in ["", "not json", "{}", "[1, 2]", r#"{"id": 1}"#, &hollow] {
        assert!(
            matches!(
                rp.finish_registration(&registration.state, garbage),
                Err(PasskeyError::Malformed)
            ),
            "registration of {garbage:?}"
        );
        assert!(
            matches!(
                rp.finish_authentication(&authentication.state, garbage, &passkey, alice.handle),
                Err(PasskeyError::Malformed)
            ) || garbage == hollow,
            "authentication of {garbage:?}"
        );
        if garbage != hollow {
            assert!(matches!(rp.credential_id(garbage), Err(PasskeyError::Malformed)));
        }
    }
}

#[tokio::test]
async fn a_state_of_another_kind_is_an_internal_failure() {
    let rp = ceremony();
    let mut device = SoftPasskey::new();
    let alice = user("alice");
    let passkey = register(&mut device, &alice).await;
    let registration = rp.start_registration(&alice, &[]).unwrap();
    let (_, assertion) = answer(&rp, &mut device, std::slice::from_ref(&passkey)).await;
    let result = rp.finish_authentication(&registration.state, &assertion, &passkey, alice.handle);
    assert!(matches!(result, Err(PasskeyError::Internal(_))), "{result:?}");
    let result = rp.finish_registration("not a state", "{}");
    assert!(matches!(result, Err(PasskeyError::Internal(_))), "{result:?}");
}

#[test]
fn the_relying_party_pins_its_origins_to_its_id() {
    let none: [&str; 0] = [];
    assert!(matches!(
        WebauthnCeremony::new(RP_ID, "Example", &none),
        Err(WebauthnConfigError::NoOrigin)
    ));
    for origin in [
        "https://example.org",
        "https://notlogin.example.com",
        "https://example.com",
    ] {
        assert!(
            matches!(
                WebauthnCeremony::new(RP_ID, "Example", &[ORIGIN, origin]),
                Err(WebauthnConfigError::RpId { .. })
            ),
            "{origin}"
        );
    }
    for origin in [
        "login.example.com",
        "https://login.example.com/path",
        "ftp://login.example.com",
    ] {
        assert!(
            matches!(
                WebauthnCeremony::new(RP_ID, "Example", &[origin]),
                Err(WebauthnConfigError::Origin(_))
            ),
            "{origin}"
        );
    }
    // Any `AsRef<str>`: strings, `String`s, URLs.
    let origins = vec![ORIGIN.to_owned(), "https://eu.login.example.com".to_owned()];
    WebauthnCeremony::new(RP_ID, "Example", &origins).unwrap();
}
