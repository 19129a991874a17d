//! Hand-written diesel schema shared by both backends.
//!
//! Only types that diesel's `MultiConnection` supports on both SQLite and
//! PostgreSQL are used: `BigInt`, `Text`, `Timestamp`, `Bool` and `Nullable`
//! of those. UUIDs are stored as text, binary values (hashes, WebAuthn
//! credential ids) as lowercase hex.
//! Keep in step with `migrations/{sqlite,postgres}`.

diesel::table! {
    users (id) {
        id -> BigInt,
        uuid -> Text,
        login_id -> Nullable<Text>,
        email -> Text,
        name -> Text,
        profile_image -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        created_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
        email_verified -> Bool,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> BigInt,
        client -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoke_reason -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        last_refreshed_at -> Nullable<Timestamp>,
        /// How the user signed in (RFC 8176 values, space-separated; empty
        /// for sessions older than the column).
        amr -> Text,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        spent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    server_keys (name) {
        name -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        generation -> BigInt,
        alg -> Text,
        private_key -> Text,
        created_at -> Timestamp,
        activates_at -> Timestamp,
        purpose -> Text,
    }
}

diesel::table! {
    verification_codes (email) {
        email -> Text,
        purpose -> Text,
        user_id -> Nullable<BigInt>,
        code_hash -> Text,
        sent_at -> Timestamp,
        expires_at -> Timestamp,
        attempts -> BigInt,
        verified_at -> Nullable<Timestamp>,
        consumed_at -> Nullable<Timestamp>,
        login_id -> Nullable<Text>,
    }
}

diesel::table! {
    code_decoys (key_hash) {
        key_hash -> Text,
        sent_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    social_identities (provider, subject) {
        provider -> Text,
        subject -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    oauth_states (state_hash) {
        state_hash -> Text,
        provider -> Text,
        pkce_verifier -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        browser_hash -> Nullable<Text>,
    }
}

diesel::table! {
    apps (app_id) {
        app_id -> Text,
        name -> Text,
        created_at -> Timestamp,
        secret_version -> BigInt,
    }
}

diesel::table! {
    /// `kind` is `app` (an application's user id) or `own` (one of our
    /// users' UUIDs): separate namespaces inside one application.
    app_users (app_id, kind, user_id) {
        app_id -> Text,
        kind -> Text,
        user_id -> Text,
        nickname -> Nullable<Text>,
        profile_image_url -> Nullable<Text>,
        friends -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    login_throttle (throttle_key) {
        throttle_key -> Text,
        failures -> BigInt,
        window_start -> Timestamp,
        lockouts -> BigInt,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    request_rates (bucket) {
        bucket -> Text,
        tat_micros -> BigInt,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        kind -> Text,
        user_id -> Nullable<BigInt>,
        session_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        target -> Nullable<Text>,
    }
}

diesel::table! {
    oauth_clients (client_id) {
        client_id -> Text,
        name -> Text,
        secret_hash -> Nullable<Text>,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        grant_types -> Text,
        auth_method -> Text,
        scopes -> Text,
        first_party -> Bool,
        id_token_alg -> Text,
        backchannel_logout_uri -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        all_sessions -> Bool,
    }
}

diesel::table! {
    oauth_codes (code_hash) {
        code_hash -> Text,
        client_id -> Text,
        user_id -> BigInt,
        browser_session -> Text,
        redirect_uri -> Text,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Text,
        auth_time -> Timestamp,
        amr -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        replayed_at -> Nullable<Timestamp>,
        grant_session -> Nullable<Text>,
    }
}

diesel::table! {
    oauth_grants (session_id) {
        session_id -> Text,
        client_id -> Text,
        browser_session -> Nullable<Text>,
        scope -> Text,
        auth_time -> Timestamp,
        amr -> Text,
    }
}

diesel::table! {
    oauth_consents (user_id, client_id) {
        user_id -> BigInt,
        client_id -> Text,
        scope -> Text,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    /// `secret` is `plain:<hex>` or sealed (`xchacha20poly1305:…`, the
    /// associated data `totp:<user_id>`).
    mfa_totp (user_id) {
        user_id -> BigInt,
        secret -> Text,
        confirmed_at -> Nullable<Timestamp>,
        last_step -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// `code_hash`: SHA-256 hex of the normalized code.
    mfa_recovery_codes (user_id, code_hash) {
        user_id -> BigInt,
        code_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// `id` a UUID, `credential_id` hex, `data` `plain:<data>` or sealed
    /// (the associated data `passkey:<id>`).
    mfa_passkeys (id) {
        id -> Text,
        user_id -> BigInt,
        credential_id -> Text,
        name -> Text,
        data -> Text,
        backup_eligible -> Bool,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// `token_hash`: SHA-256 hex of the `mfaToken`.
    mfa_pending (token_hash) {
        token_hash -> Text,
        user_id -> BigInt,
        contract -> Text,
        first_factor -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        attempts -> BigInt,
        passkey_state -> Nullable<Text>,
    }
}

diesel::table! {
    /// `id_hash`: SHA-256 hex of the ceremony id.
    mfa_ceremonies (id_hash) {
        id_hash -> Text,
        user_id -> Nullable<BigInt>,
        state -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// The roles accounts hold (`role`: `admin`); the primary key makes a
    /// grant idempotent.
    user_roles (user_id, role) {
        user_id -> BigInt,
        role -> Text,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    session_signals (id) {
        id -> BigInt,
        jti -> Text,
        client_id -> Text,
        session_id -> Text,
        subject -> Text,
        reason -> Text,
        ended_at -> Timestamp,
        push -> Bool,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
        gave_up_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        acked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(social_identities -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(app_users -> apps (app_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    refresh_tokens,
    server_keys,
    signing_keys,
    verification_codes,
    code_decoys,
    social_identities,
    oauth_states,
    apps,
    oauth_clients,
    oauth_codes,
    oauth_grants,
    oauth_consents,
    app_users,
    login_throttle,
    request_rates,
    audit_log,
    mfa_totp,
    mfa_recovery_codes,
    mfa_passkeys,
    mfa_pending,
    mfa_ceremonies,
    user_roles,
    session_signals
);
