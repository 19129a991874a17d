//! The second factors' storage on both databases: TOTP enrolment and steps
//! spent once, recovery codes spent once, passkeys unique by credential id,
//! pending second steps whose attempts are counted atomically and that are
//! spent once, ceremonies taken once, however many callers race; the purge,
//! the removal of everything, the cascade from users; and the sealing of
//! secrets at rest under the key-encryption key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::sync::Arc;

use auth_domain::factors::ports::{
    FactorStore, PendingCeremony, PendingSecondFactor, SecretHash, StoredPasskey,
};
use auth_domain::identity::user::UserId;
use auth_domain::ports::{SessionStore, UserRepository};
use auth_domain::sessions::session::{RefreshRecord, RefreshTokenHash, Session, SessionId};
use auth_infra::{Database, DieselFactorStore, DieselSessionStore, DieselUserRepository, Kek};
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use uuid::Uuid;

auth_infra::on_both_backends!(with crate::common::on_migrated:
    totp_enrolment_replaces_a_pending_one_and_never_a_confirmed_one,
    totp_steps_are_spent_once_and_never_backwards,
    parallel_spends_of_one_totp_step_have_one_winner,
    recovery_codes_are_replaced_and_each_spent_once,
    parallel_spends_of_one_recovery_code_have_one_winner,
    passkeys_are_unique_by_credential_and_deleted_only_by_their_owner,
    pending_step_counts_attempts_up_to_the_maximum,
    parallel_reserves_get_exactly_the_maximum,
    a_pending_step_is_spent_once_among_parallel_callers,
    ceremonies_are_taken_once,
    delete_all_removes_every_factor_of_the_user_only,
    purge_removes_expired_steps_and_ceremonies_only,
    secrets_are_sealed_under_the_kek_and_bound_to_their_row,
    deleting_a_user_removes_its_factors,
);

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

fn kek(secret: &str) -> Kek {
    Kek::new(&secret.to_owned().into())
}

async fn user(db: &Database, login: &str) -> UserId {
    crate::common::user(db, login).await.0
}

fn passkey(user: UserId, credential: &[u8], created_at: DateTime<Utc>) -> StoredPasskey {
    StoredPasskey {
        id: Uuid::new_v4(),
        user_id: user,
        credential_id: credential.to_vec(),
        name: "YubiKey".into(),
        data: format!("{{\"cred\":\"{}\",\"counter\":0}}", hex::encode(credential)),
        backup_eligible: true,
        created_at,
        last_used_at: None,
    }
}

fn pending(token: &str, user: UserId, expires_in: TimeDelta) -> PendingSecondFactor {
    let t = now();
    PendingSecondFactor {
        token_hash: SecretHash::of(token),
        user_id: user,
        contract: "standard".into(),
        first_factor: vec!["pwd".into()],
        created_at: t,
        expires_at: t + expires_in,
        attempts: 0,
        passkey_state: None,
    }
}

fn ceremony(id: &str, user: Option<UserId>, expires_in: TimeDelta) -> PendingCeremony {
    PendingCeremony {
        id_hash: SecretHash::of(id),
        user_id: user,
        state: format!("{{\"ceremony\":\"{id}\"}}"),
        expires_at: now() + expires_in,
    }
}

/// Runs `n` copies of `f` at once and returns their results.
async fn race<T, F, Fut>(n: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(f())).collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// A user with a confirmed authenticator whose last step is 100.
async fn confirmed(store: &DieselFactorStore, user: UserId) {
    assert!(
        store
            .begin_totp(user, b"12345678901234567890", now())
            .await
            .unwrap()
    );
    assert!(
        store
            .confirm_totp(user, b"12345678901234567890", 100, now())
            .await
            .unwrap()
    );
}

async fn totp_enrolment_replaces_a_pending_one_and_never_a_confirmed_one(db: Database) {
    let store = DieselFactorStore::new(db.clone(), None);
    let u = user(&db, "totp1").await;
    let t = now();
    assert_eq!(store.totp(u).await.unwrap(), None);
    assert!(
        !store.confirm_totp(u, b"first", 1, t).await.unwrap(),
        "nothing to confirm"
    );

    assert!(store.begin_totp(u, b"first", t).await.unwrap());
    let first = store.totp(u).await.unwrap().unwrap();
    assert_eq!(
        (
            first.secret.as_slice(),
            first.confirmed_at,
            first.last_step,
            first.created_at
        ),
        (b"first".as_slice(), None, None, t)
    );
    // A pending enrolment is replaced; its secret stops confirming.
    let later = t + TimeDelta::seconds(5);
    assert!(store.begin_totp(u, b"second", later).await.unwrap());
    let second = store.totp(u).await.unwrap().unwrap();
    assert_eq!(
        (second.secret.as_slice(), second.created_at),
        (b"second".as_slice(), later)
    );
    assert!(!store.confirm_totp(u, b"first", 7, later).await.unwrap());

    assert!(store.confirm_totp(u, b"second", 7, later).await.unwrap());
    let on = store.totp(u).await.unwrap().unwrap();
    assert_eq!((on.confirmed_at, on.last_step), (Some(later), Some(7)));
    assert!(
        !store.confirm_totp(u, b"second", 8, later).await.unwrap(),
        "confirmed once"
    );

    // A confirmed authenticator is never replaced by an enrolment.
    assert!(!store.begin_totp(u, b"third", later).await.unwrap());
    assert_eq!(store.totp(u).await.unwrap(), Some(on));

    assert!(store.delete_totp(u).await.unwrap());
    assert!(!store.delete_totp(u).await.unwrap());
    assert!(
        store.begin_totp(u, b"third", later).await.unwrap(),
        "after removal, anew"
    );
}

async fn totp_steps_are_spent_once_and_never_backwards(db: Database) {
    let store = DieselFactorStore::new(db.clone(), None);
    let u = user(&db, "steps").await;
    assert!(store.begin_totp(u, b"secret", now()).await.unwrap());
    assert!(
        !store.spend_totp_step(u, 50).await.unwrap(),
        "pending: no step counts"
    );
    assert!(store.confirm_totp(u, b"secret", 100, now()).await.unwrap());
    assert!(
        !store.spend_totp_step(u, 100).await.unwrap(),
        "the confirming step is spent"
    );
    assert!(store.spend_totp_step(u, 101).await.unwrap());
    assert!(!store.spend_totp_step(u, 101).await.unwrap(), "a replay");
    assert!(!store.spend_totp_step(u, 99).await.unwrap(), "an earlier step");
    assert!(store.spend_totp_step(u, 105).await.unwrap());
    assert!(
        !store.spend_totp_step(u, 103).await.unwrap(),
        "earlier than the last accepted"
    );
    assert_eq!(store.totp(u).await.unwrap().unwrap().last_step, Some(105));
    let other = user(&db, "nototp").await;
    assert!(
        !store.spend_totp_step(other, 1000).await.unwrap(),
        "no authenticator"
    );
}

async fn parallel_spends_of_one_totp_step_have_one_winner(db: Database) {
    let store = Arc::new(DieselFactorStore::new(db.clone(), None));
    let u = user(&db, "racetotp").await;
    confirmed(&store, u).await;
    let wins = race(20, || {
        let store = Arc::clone(&store);
        async move { store.spend_totp_step(u, 200).await.unwrap() }
    })
    .await;
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
    assert_eq!(store.totp(u).await.unwrap().unwrap().last_step, Some(200));
}

async fn recovery_codes_are_replaced_and_each_spent_once(db: Database) {
    let store = DieselFactorStore::new(db.clone(), None);
    let (u, other) = (user(&db, "codes").await, user(&db, "codes2").await);
    let t = now();
    assert_eq!(store.recovery_codes_left(u).await.unwrap(), 0);
    let old: Vec<_> = ["a", "b", "c"].iter().map(|c| SecretHash::of(c)).collect();
    store.replace_recovery_codes(u, &old, t).await.unwrap();
    assert_eq!(store.recovery_codes_left(u).await.unwrap(), 3);
    assert!(
        !store.spend_recovery_code(other, &old[0], t).await.unwrap(),
        "not theirs"
    );
    assert!(store.spend_recovery_code(u, &old[0], t).await.unwrap());
    assert!(!store.spend_recovery_code(u, &old[0], t).await.unwrap(), "spent");
    assert!(
        !store
            .spend_recovery_code(u, &SecretHash::of("z"), t)
            .await
            .unwrap()
    );
    assert_eq!(store.recovery_codes_left(u).await.unwrap(), 2);

    // A new set: the old codes stop working, spent or not.
    let new: Vec<_> = ["d", "e"].iter().map(|c| SecretHash::of(c)).collect();
    store.replace_recovery_codes(u, &new, t).await.unwrap();
    assert_eq!(store.recovery_codes_left(u).await.unwrap(), 2);
    assert!(
        !store.spend_recovery_code(u, &old[1], t).await.unwrap(),
        "old set is dead"
    );
    assert!(store.spend_recovery_code(u, &new[1], t).await.unwrap());
    assert_eq!(store.recovery_codes_left(u).await.unwrap(), 1);
    assert_eq!(store.recovery_codes_left(other).await.unwrap(), 0);
    store.replace_recovery_codes(u, &[], t).await.unwrap();
    assert_eq!(store.recovery_codes_left(u).await.unwrap(), 0);
}

async fn parallel_spends_of_one_recovery_code_have_one_winner(db: Database) {
    let store = Arc::new(DieselFactorStore::new(db.clone(), None));
    let u = user(&db, "racecodes").await;
    let codes: Vec<_> = (0..10).map(|i| SecretHash::of(&format!("code-{i}"))).collect();
    store.replace_recovery_codes(u, &codes, now()).await.unwrap();
    let code = codes[3].clone();
    let wins = race(20, || {
        let (store, code) = (Arc::clone(&store), code.clone());
        async move { store.spend_recovery_code(u, &code, now()).await.unwrap() }
    })
    .await;
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
    assert_eq!(store.recovery_codes_left(u).await.unwrap(), 9);
}

async fn passkeys_are_unique_by_credential_and_deleted_only_by_their_owner(db: Database) {
    let store = DieselFactorStore::new(db.clone(), None);
    let (u, other) = (user(&db, "keys").await, user(&db, "keys2").await);
    let t = now();
    let first = passkey(u, &[1, 2, 3, 255], t);
    let second = passkey(u, &[9; 64], t + TimeDelta::seconds(1));
    assert!(store.add_passkey(&second).await.unwrap());
    assert!(store.add_passkey(&first).await.unwrap());
    // The credential id is unique, whoever registers it.
    assert!(
        !store
            .add_passkey(&passkey(other, &[1, 2, 3, 255], t))
            .await
            .unwrap()
    );
    assert!(!store.add_passkey(&passkey(u, &[9; 64], t)).await.unwrap());
    assert_eq!(store.passkeys(other).await.unwrap(), vec![]);
    assert_eq!(
        store.passkeys(u).await.unwrap(),
        vec![first.clone(), second.clone()],
        "oldest first"
    );
    assert_eq!(
        store.passkey_by_credential(&[1, 2, 3, 255]).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.passkey_by_credential(&[1, 2, 3]).await.unwrap(), None);

    let used = t + TimeDelta::minutes(1);
    assert!(
        store
            .record_passkey_use(first.id, "{\"counter\":7}", used)
            .await
            .unwrap()
    );
    let after = store
        .passkey_by_credential(&[1, 2, 3, 255])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (after.data.as_str(), after.last_used_at),
        ("{\"counter\":7}", Some(used))
    );
    assert!(
        !store
            .record_passkey_use(Uuid::new_v4(), "{}", used)
            .await
            .unwrap()
    );

    assert!(
        !store.delete_passkey(other, first.id).await.unwrap(),
        "not the owner"
    );
    assert!(store.delete_passkey(u, first.id).await.unwrap());
    assert!(!store.delete_passkey(u, first.id).await.unwrap());
    assert_eq!(store.passkeys(u).await.unwrap(), vec![second]);
    assert!(
        store
            .add_passkey(&passkey(other, &[1, 2, 3, 255], t))
            .await
            .unwrap(),
        "freed"
    );
}

async fn pending_step_counts_attempts_up_to_the_maximum(db: Database) {
    let store = DieselFactorStore::new(db.clone(), None);
    let u = user(&db, "pending").await;
    let mut p = pending("token-1", u, TimeDelta::minutes(5));
    p.first_factor = vec!["pwd".into(), "otp".into()];
    p.contract = "browser".into();
    store.create_pending(&p).await.unwrap();
    let hash = SecretHash::of("token-1");
    let t = now();
    assert_eq!(store.pending(&hash, t).await.unwrap(), Some(p.clone()));
    for n in 1..=3 {
        let reserved = store.reserve_attempt(&hash, 3, t).await.unwrap().unwrap();
        assert_eq!(
            reserved,
            PendingSecondFactor {
                attempts: n,
                ..p.clone()
            }
        );
    }
    assert_eq!(
        store.reserve_attempt(&hash, 3, t).await.unwrap(),
        None,
        "out of attempts"
    );
    assert_eq!(store.pending(&hash, t).await.unwrap().unwrap().attempts, 3);
    assert!(
        store.reserve_attempt(&hash, 4, t).await.unwrap().is_some(),
        "the caller's maximum"
    );

    assert!(store.set_passkey_state(&hash, "{\"challenge\":1}").await.unwrap());
    assert_eq!(
        store
            .pending(&hash, t)
            .await
            .unwrap()
            .unwrap()
            .passkey_state
            .as_deref(),
        Some("{\"challenge\":1}")
    );
    assert!(
        !store
            .set_passkey_state(&SecretHash::of("nope"), "{}")
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .reserve_attempt(&SecretHash::of("nope"), 3, t)
            .await
            .unwrap(),
        None
    );

    // Expired: neither readable nor reservable.
    let late = p.expires_at;
    assert_eq!(store.pending(&hash, late).await.unwrap(), None);
    assert_eq!(store.reserve_attempt(&hash, 10, late).await.unwrap(), None);
    store
        .create_pending(&pending("token-2", u, TimeDelta::seconds(-1)))
        .await
        .unwrap();
    let expired = SecretHash::of("token-2");
    assert_eq!(store.reserve_attempt(&expired, 3, now()).await.unwrap(), None);
    assert_eq!(store.pending(&expired, now()).await.unwrap(), None);
}

async fn parallel_reserves_get_exactly_the_maximum(db: Database) {
    let store = Arc::new(DieselFactorStore::new(db.clone(), None));
    let u = user(&db, "racepending").await;
    store
        .create_pending(&pending("race", u, TimeDelta::minutes(5)))
        .await
        .unwrap();
    let hash = SecretHash::of("race");
    let got = race(50, || {
        let (store, hash) = (Arc::clone(&store), hash.clone());
        async move { store.reserve_attempt(&hash, 5, now()).await.unwrap() }
    })
    .await;
    let mut attempts: Vec<u32> = got.iter().flatten().map(|p| p.attempts).collect();
    attempts.sort_unstable();
    assert_eq!(
        attempts,
        vec![1, 2, 3, 4, 5],
        "each reservation saw its own count"
    );
    assert_eq!(store.pending(&hash, now()).await.unwrap().unwrap().attempts, 5);
}

async fn a_pending_step_is_spent_once_among_parallel_callers(db: Database) {
    let store = Arc::new(DieselFactorStore::new(db.clone(), None));
    let u = user(&db, "spend").await;
    store
        .create_pending(&pending("spend", u, TimeDelta::minutes(5)))
        .await
        .unwrap();
    let hash = SecretHash::of("spend");
    let wins = race(20, || {
        let (store, hash) = (Arc::clone(&store), hash.clone());
        async move { store.spend_pending(&hash).await.unwrap() }
    })
    .await;
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
    assert_eq!(store.pending(&hash, now()).await.unwrap(), None);
    assert_eq!(store.reserve_attempt(&hash, 5, now()).await.unwrap(), None);
    assert!(!store.spend_pending(&hash).await.unwrap());
}

async fn ceremonies_are_taken_once(db: Database) {
    let store = Arc::new(DieselFactorStore::new(db.clone(), None));
    let u = user(&db, "ceremony").await;
    let registration = ceremony("reg", Some(u), TimeDelta::minutes(5));
    let sign_in = ceremony("signin", None, TimeDelta::minutes(5));
    store.put_ceremony(&registration).await.unwrap();
    store.put_ceremony(&sign_in).await.unwrap();
    let t = now();
    assert_eq!(
        store.take_ceremony(&registration.id_hash, t).await.unwrap(),
        Some(registration.clone())
    );
    assert_eq!(store.take_ceremony(&registration.id_hash, t).await.unwrap(), None);
    assert_eq!(
        store.take_ceremony(&SecretHash::of("unknown"), t).await.unwrap(),
        None
    );
    // Expired: not taken.
    assert_eq!(
        store
            .take_ceremony(&sign_in.id_hash, sign_in.expires_at)
            .await
            .unwrap(),
        None
    );
    let hash = sign_in.id_hash.clone();
    let taken = race(20, || {
        let (store, hash) = (Arc::clone(&store), hash.clone());
        async move { store.take_ceremony(&hash, now()).await.unwrap() }
    })
    .await;
    let taken: Vec<_> = taken.into_iter().flatten().collect();
    assert_eq!(taken, vec![sign_in]);
}

/// Gives `user` one of every factor and step; returns the pending step's
/// token hash.
async fn everything(store: &DieselFactorStore, user: UserId, tag: &str) -> SecretHash {
    confirmed(store, user).await;
    let codes = [SecretHash::of(&format!("{tag}-code"))];
    store.replace_recovery_codes(user, &codes, now()).await.unwrap();
    let credential = format!("{tag}-credential");
    assert!(
        store
            .add_passkey(&passkey(user, credential.as_bytes(), now()))
            .await
            .unwrap()
    );
    let token = format!("{tag}-token");
    store
        .create_pending(&pending(&token, user, TimeDelta::minutes(5)))
        .await
        .unwrap();
    store
        .put_ceremony(&ceremony(
            &format!("{tag}-ceremony"),
            Some(user),
            TimeDelta::minutes(5),
        ))
        .await
        .unwrap();
    SecretHash::of(&token)
}

async fn delete_all_removes_every_factor_of_the_user_only(db: Database) {
    let store = DieselFactorStore::new(db.clone(), None);
    let (u, other) = (user(&db, "all").await, user(&db, "all2").await);
    let mine = everything(&store, u, "mine").await;
    let theirs = everything(&store, other, "theirs").await;
    assert!(store.delete_all(u).await.unwrap());
    assert_eq!(store.totp(u).await.unwrap(), None);
    assert_eq!(store.recovery_codes_left(u).await.unwrap(), 0);
    assert_eq!(store.passkeys(u).await.unwrap(), vec![]);
    assert_eq!(store.pending(&mine, now()).await.unwrap(), None);
    assert_eq!(
        store
            .take_ceremony(&SecretHash::of("mine-ceremony"), now())
            .await
            .unwrap(),
        None
    );
    assert!(!store.delete_all(u).await.unwrap(), "nothing left");

    assert!(store.totp(other).await.unwrap().is_some());
    assert_eq!(store.recovery_codes_left(other).await.unwrap(), 1);
    assert_eq!(store.passkeys(other).await.unwrap().len(), 1);
    assert!(store.pending(&theirs, now()).await.unwrap().is_some());
    assert!(
        store
            .take_ceremony(&SecretHash::of("theirs-ceremony"), now())
            .await
            .unwrap()
            .is_some()
    );
}

async fn purge_removes_expired_steps_and_ceremonies_only(db: Database) {
    let store = DieselFactorStore::new(db.clone(), None);
    let u = user(&db, "purge").await;
    for (token, ttl) in [("old1", -10), ("old2", -1), ("live", 60)] {
        store
            .create_pending(&pending(token, u, TimeDelta::seconds(ttl)))
            .await
            .unwrap();
    }
    store
        .put_ceremony(&ceremony("old", None, TimeDelta::seconds(-1)))
        .await
        .unwrap();
    store
        .put_ceremony(&ceremony("live", Some(u), TimeDelta::seconds(60)))
        .await
        .unwrap();
    assert_eq!(store.purge_expired(now()).await.unwrap(), 3);
    assert_eq!(db.count_rows("mfa_pending").await.unwrap(), 1);
    assert_eq!(db.count_rows("mfa_ceremonies").await.unwrap(), 1);
    assert!(
        store
            .pending(&SecretHash::of("live"), now())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.purge_expired(now()).await.unwrap(), 0);
}

async fn raw(db: &Database, sql: &str) -> Vec<String> {
    db.raw_strings(sql).await.unwrap()
}

async fn secrets_are_sealed_under_the_kek_and_bound_to_their_row(db: Database) {
    let secret = b"12345678901234567890";
    let sealed = DieselFactorStore::new(db.clone(), Some(kek("the key-encryption key, 32+ bytes!!")));
    let (u, other) = (user(&db, "sealed").await, user(&db, "sealed2").await);
    assert!(sealed.begin_totp(u, secret, now()).await.unwrap());
    let key = passkey(u, b"credential", now());
    assert!(sealed.add_passkey(&key).await.unwrap());

    // At rest: sealed, with neither the secret nor the data readable.
    let stored = raw(&db, "SELECT secret AS value FROM mfa_totp").await;
    assert!(stored[0].starts_with("xchacha20poly1305:"), "{stored:?}");
    assert!(!stored[0].contains(&hex::encode(secret)) && !stored[0].contains("1234567890"));
    let data = raw(&db, "SELECT data AS value FROM mfa_passkeys").await;
    assert!(data[0].starts_with("xchacha20poly1305:"), "{data:?}");
    assert!(!data[0].contains("counter"));

    // Read back right, and a confirmation compares the opened secret.
    assert_eq!(sealed.totp(u).await.unwrap().unwrap().secret, secret);
    assert_eq!(sealed.passkeys(u).await.unwrap(), vec![key.clone()]);
    assert!(!sealed.confirm_totp(u, b"another secret", 1, now()).await.unwrap());
    assert!(sealed.confirm_totp(u, secret, 1, now()).await.unwrap());
    assert!(
        sealed
            .record_passkey_use(key.id, "{\"counter\":1}", now())
            .await
            .unwrap()
    );
    let data = raw(&db, "SELECT data AS value FROM mfa_passkeys").await;
    assert!(data[0].starts_with("xchacha20poly1305:") && !data[0].contains("counter"));

    // Another KEK, or none: an error, not a wrong answer nor a panic.
    let wrong = DieselFactorStore::new(db.clone(), Some(kek("another key-encryption key, 32 bytes")));
    assert!(wrong.totp(u).await.is_err());
    assert!(wrong.passkeys(u).await.is_err());
    assert!(wrong.passkey_by_credential(b"credential").await.is_err());
    let plain = DieselFactorStore::new(db.clone(), None);
    let err = plain.totp(u).await.unwrap_err();
    assert!(format!("{err:#}").contains("AUTH_KEY_ENCRYPTION_KEY"), "{err:#}");
    assert!(plain.passkeys(u).await.is_err());
    assert!(
        plain.confirm_totp(u, secret, 2, now()).await.is_ok(),
        "confirmed: nothing opened"
    );

    // A sealed value moved to another row does not open there.
    assert!(plain.begin_totp(other, b"other secret", now()).await.unwrap());
    let copied = format!(
        "UPDATE mfa_totp SET secret = (SELECT secret FROM mfa_totp WHERE user_id = {}) WHERE user_id = {}",
        u.get(),
        other.get()
    );
    db.execute_raw(&copied).await.unwrap();
    assert!(sealed.totp(other).await.is_err());

    // Without a KEK values are stored in clear; with one they stay readable.
    let third = user(&db, "clear").await;
    assert!(plain.begin_totp(third, b"clear secret", now()).await.unwrap());
    let clear = passkey(third, b"clear credential", now());
    assert!(plain.add_passkey(&clear).await.unwrap());
    let stored = raw(
        &db,
        &format!(
            "SELECT secret AS value FROM mfa_totp WHERE user_id = {}",
            third.get()
        ),
    )
    .await;
    assert_eq!(stored, vec![format!("plain:{}", hex::encode(b"clear secret"))]);
    assert_eq!(sealed.totp(third).await.unwrap().unwrap().secret, b"clear secret");
    assert_eq!(sealed.passkeys(third).await.unwrap(), vec![clear]);
}

async fn deleting_a_user_removes_its_factors(db: Database) {
    let store = DieselFactorStore::new(db.clone(), None);
    let u = user(&db, "gone").await;
    everything(&store, u, "gone").await;
    // The new sessions column: present, empty for a session stored without it.
    let t = now();
    let session = Session {
        id: SessionId::from_uuid(Uuid::new_v4()),
        user_id: u,
        client: "standard".into(),
        created_at: t,
        revoked_at: None,
        revoke_reason: None,
        ip: None,
        user_agent: None,
        last_refreshed_at: None,
        amr: Vec::new(),
    };
    let first = RefreshRecord {
        hash: RefreshTokenHash::of_jti(&session.id.to_string()),
        session_id: session.id,
        issued_at: t,
        expires_at: t + TimeDelta::days(1),
        spent_at: None,
    };
    let sessions = DieselSessionStore::new(db.clone());
    sessions.create(&session, &first).await.unwrap();
    assert_eq!(sessions.get(session.id).await.unwrap(), Some(session));
    assert_eq!(
        raw(&db, "SELECT amr AS value FROM sessions").await,
        vec![String::new()]
    );

    let tables = [
        "mfa_totp",
        "mfa_recovery_codes",
        "mfa_passkeys",
        "mfa_pending",
        "mfa_ceremonies",
    ];
    for table in tables {
        assert_eq!(db.count_rows(table).await.unwrap(), 1, "{table}");
    }
    assert!(
        DieselUserRepository::new(db.clone())
            .delete_enabled(u)
            .await
            .unwrap()
    );
    for table in tables {
        assert_eq!(db.count_rows(table).await.unwrap(), 0, "{table}");
    }
}
