//! The adapters wired into the use cases: the whole `AuthService` for the
//! server, and each area's service alone for the `auth-server` commands
//! (a command builds only what it uses).

use crate::settings::Settings;
use auth_domain::admin::{SessionAdmin, UserAdmin};
use auth_domain::chat::use_cases::Apps;
use auth_domain::housekeeping::{Housekeeper, RetentionPolicy};
use auth_domain::identity::password::PasswordPolicy;
use auth_domain::identity::throttle::{ThrottlePolicy, ThrottleRule};
use auth_domain::import::use_cases::Import;
use auth_domain::oidc::provider::{ClientRegistry, OidcPorts};
use auth_domain::ports::{EventBus, Mailer};
use auth_domain::service_core::ServiceCore;
use auth_domain::sessions::events::SessionPolicy;
use auth_domain::sessions::issuer::SessionRevoker;
use auth_domain::verification::CodePolicy;
use auth_domain::{AuthPolicy, AuthService, Ports};
use auth_infra::{
    Argon2Hasher, Database, DieselAdminRoleStore, DieselAuditLog, DieselCodeStore, DieselHousekeeping,
    DieselLoginThrottle, DieselOidcStore, DieselSessionStore, DieselSocialIdentityStore,
    DieselUserRepository, JwtOidcSigner, LettreMailer, OsRandom, SystemClock, TokioBackground,
};
use chrono::TimeDelta;
use secrecy::ExposeSecret;
use std::sync::Arc;

use auth_domain::factors::FactorPorts;

use super::*;

/// Opens the database and applies migrations (also `auth-server migrate`).
///
/// # Errors
/// [`StartupError::Database`].
pub async fn open_database(settings: &Settings) -> Result<Database, StartupError> {
    let db = Database::connect(&settings.database.url, settings.database.pool_size).await?;
    db.migrate().await?;
    Ok(db)
}

/// The configured mailer: SMTP (`AUTH_SMTP_URL`) or `.eml` files in the
/// outbox directory.
///
/// # Errors
/// [`StartupError`] when the SMTP URL or the outbox is unusable.
pub fn build_mailer(settings: &Settings) -> Result<Arc<dyn Mailer>, StartupError> {
    let templates = match &settings.mail.templates_dir {
        Some(dir) => {
            tracing::info!(templates = %dir, "mail: templates from AUTH_MAIL_TEMPLATES_DIR");
            auth_infra::MailTemplates::load(std::path::Path::new(dir))?
        }
        None => auth_infra::MailTemplates::default(),
    };
    Ok(match &settings.mail.smtp_url {
        Some(url) => {
            tracing::info!("mail: SMTP");
            let timeout = settings.mail.smtp_timeout.max(std::time::Duration::from_secs(1));
            Arc::new(
                LettreMailer::smtp(url.expose_secret(), &settings.mail.from, timeout)?
                    .with_templates(templates),
            )
        }
        None => {
            let dir = settings.outbox_dir();
            tracing::info!(outbox = %dir.display(), "mail: AUTH_SMTP_URL is not set; writing .eml files");
            Arc::new(LettreMailer::outbox(&dir, &settings.mail.from)?.with_templates(templates))
        }
    })
}

/// Builds the domain service over real adapters, signing with `keys`:
/// every area, what the server holds. (A command builds only its area:
/// see the builders below.)
///
/// # Errors
/// [`StartupError`] when the hasher, the mailer or a port cannot be set up.
pub async fn build_service_with(
    settings: &Settings,
    db: &Database,
    events: Arc<dyn EventBus>,
    keys: &TokenKeys,
) -> Result<AuthService, StartupError> {
    build_service_tracked(settings, db, events, keys, TokioBackground::new()).await
}

/// [`build_service_with`], its background work (password upgrades) run
/// through `background`, which the server waits for when it stops.
pub(crate) async fn build_service_tracked(
    settings: &Settings,
    db: &Database,
    events: Arc<dyn EventBus>,
    keys: &TokenKeys,
    background: TokioBackground,
) -> Result<AuthService, StartupError> {
    let hasher = password_hasher(settings)?;
    let mailer = build_mailer(settings)?;
    let ports = Ports {
        users: Arc::new(DieselUserRepository::new(db.clone())),
        sessions: Arc::new(DieselSessionStore::new(db.clone())),
        hasher: Arc::new(hasher),
        tokens: Arc::new(keys.codec.clone()),
        clock: Arc::new(SystemClock),
        random: Arc::new(OsRandom),
        codes: Arc::new(DieselCodeStore::new(db.clone())),
        mailer,
        events,
        social: social::ports(settings, db)?,
        chat: chat::ports(db).await?,
        throttle: Arc::new(DieselLoginThrottle::new(db.clone())),
        audit: Arc::new(DieselAuditLog::new(db.clone())),
        background: Arc::new(background),
        oidc: oidc_ports(settings, db, keys),
        factors: factor_ports(settings, db)?,
        roles: Arc::new(DieselAdminRoleStore::new(db.clone())),
    };
    Ok(AuthService::new(ports, auth_policy(settings)))
}

/// The second factors' adapters: the diesel store (secrets sealed under
/// `AUTH_KEY_ENCRYPTION_KEY` when set) and the WebAuthn relying party.
///
/// # Errors
/// [`StartupError::Webauthn`] when the relying-party id does not fit the
/// origins.
pub fn factor_ports(settings: &Settings, db: &Database) -> Result<FactorPorts, StartupError> {
    let kek = settings
        .tokens
        .key_encryption_key
        .as_ref()
        .map(auth_infra::Kek::new);
    let (rp_id, origins) = settings.oauth.webauthn();
    let explicit = settings
        .oauth
        .webauthn_rp_id
        .as_deref()
        .is_some_and(|v| !v.trim().is_empty())
        || settings
            .oauth
            .webauthn_origins
            .as_deref()
            .is_some_and(|v| !v.trim().is_empty());
    let passkeys: Arc<dyn auth_domain::factors::PasskeyCeremony> = match auth_infra::WebauthnCeremony::new(
        &rp_id, &rp_id, &origins,
    ) {
        Ok(ceremony) => Arc::new(ceremony),
        // Set on purpose and wrong: refuse to start.
        Err(e) if explicit => {
            return Err(StartupError::Webauthn(format!(
                "{e} (AUTH_WEBAUTHN_RP_ID={rp_id}, AUTH_WEBAUTHN_ORIGINS={})",
                origins.join(",")
            )));
        }
        // Derived from a public URL that cannot be a relying party (an
        // IP address, as by default): TOTP and recovery codes work,
        // passkeys are refused until a domain is configured.
        Err(e) => {
            tracing::warn!(
                rp_id = %rp_id,
                reason = %e,
                "passkeys are off: AUTH_PUBLIC_URL's host cannot be a WebAuthn relying party; set AUTH_PUBLIC_URL to a domain (or AUTH_WEBAUTHN_RP_ID and AUTH_WEBAUTHN_ORIGINS)"
            );
            Arc::new(NoPasskeys)
        }
    };
    Ok(FactorPorts {
        store: Arc::new(auth_infra::DieselFactorStore::new(db.clone(), kek)),
        passkeys,
    })
}

/// The relying party when none can be built: every ceremony is refused.
struct NoPasskeys;

impl auth_domain::factors::PasskeyCeremony for NoPasskeys {
    fn start_registration(
        &self,
        _: &auth_domain::factors::ports::PasskeyUser,
        _: &[auth_domain::factors::StoredPasskey],
    ) -> Result<auth_domain::factors::ports::CeremonyStart, auth_domain::factors::PasskeyError> {
        Err(NO_PASSKEYS)
    }
    fn finish_registration(
        &self,
        _: &str,
        _: &str,
    ) -> Result<auth_domain::factors::ports::RegisteredPasskey, auth_domain::factors::PasskeyError> {
        Err(NO_PASSKEYS)
    }
    fn start_authentication(
        &self,
        _: &[auth_domain::factors::StoredPasskey],
    ) -> Result<auth_domain::factors::ports::CeremonyStart, auth_domain::factors::PasskeyError> {
        Err(NO_PASSKEYS)
    }
    fn challenge_of(&self, _: &str) -> Result<String, auth_domain::factors::PasskeyError> {
        Err(NO_PASSKEYS)
    }
    fn credential_id(&self, _: &str) -> Result<Vec<u8>, auth_domain::factors::PasskeyError> {
        Err(NO_PASSKEYS)
    }
    fn finish_authentication(
        &self,
        _: &str,
        _: &str,
        _: &auth_domain::factors::StoredPasskey,
        _: uuid::Uuid,
    ) -> Result<auth_domain::factors::ports::VerifiedAssertion, auth_domain::factors::PasskeyError> {
        Err(NO_PASSKEYS)
    }
    fn available(&self) -> bool {
        false
    }
}

const NO_PASSKEYS: auth_domain::factors::PasskeyError = auth_domain::factors::PasskeyError::NotConfigured;

/// The OpenID provider's adapters: clients, codes and grants in `db`; ID
/// tokens signed by the ID-token keys, access tokens by the access keys,
/// both with `iss` = the public URL.
pub fn oidc_ports(settings: &Settings, db: &Database, keys: &TokenKeys) -> OidcPorts {
    let store = Arc::new(DieselOidcStore::new(db.clone()));
    OidcPorts {
        clients: client_store(settings, db),
        grants: store,
        signer: Arc::new(JwtOidcSigner::new(
            keys.codec.clone(),
            keys.id_keys.clone(),
            settings.jwt_issuer(),
            settings.jwt_audience(),
        )),
        signals: Arc::new(auth_infra::DieselSignalOutbox::new(db.clone())),
    }
}

/// The OAuth clients in `db` (`auth-server clients …`).
pub fn oauth_client_registry(settings: &Settings, db: &Database) -> ClientRegistry {
    ClientRegistry::new(service_core(settings, db), client_store(settings, db))
}

/// The registered clients in `db`, with the built-in console client
/// answered beside them (never listed, never changed).
fn client_store(settings: &Settings, db: &Database) -> Arc<dyn auth_domain::oidc::ports::OAuthClientStore> {
    Arc::new(auth_domain::oidc::console::WithConsole::new(
        Arc::new(DieselOidcStore::new(db.clone())),
        &settings.jwt_issuer(),
        chrono::Utc::now(),
    ))
}

/// The password hashing pool from settings (`AUTH_HASH_CONCURRENCY`,
/// `AUTH_HASH_NICE`, `AUTH_HASH_QUEUE_MAX`).
pub(crate) fn password_hasher(settings: &Settings) -> Result<Argon2Hasher, StartupError> {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let threads = settings.hashing.concurrency.unwrap_or(cores);
    Ok(Argon2Hasher::with_nice(threads, settings.hashing.nice)
        .map_err(|e| StartupError::Hasher(e.to_string()))?
        .with_queue_limit(settings.hashing.queue_max.unwrap_or(threads.saturating_mul(64))))
}

/// What every area service shares: the system clock, OS randomness, the
/// audit trail in `db` and the policy from settings.
pub fn service_core(settings: &Settings, db: &Database) -> ServiceCore {
    ServiceCore::new(
        Arc::new(SystemClock),
        Arc::new(OsRandom),
        Arc::new(DieselAuditLog::new(db.clone())),
        auth_policy(settings),
    )
}

/// Revoking sessions stored in `db`, announced on `events`.
pub fn session_revoker(db: &Database, events: Arc<dyn EventBus>) -> SessionRevoker {
    SessionRevoker::new(Arc::new(DieselSessionStore::new(db.clone())), events)
}

/// The `chat` applications in `db` (`auth-server apps …`): the application
/// store and the master key of their secrets, generated on first use;
/// deletes and re-keys announced on `events` (their sockets close).
///
/// # Errors
/// [`StartupError::Database`] when the master key cannot be read or stored.
pub async fn apps_service(
    settings: &Settings,
    db: &Database,
    events: Arc<dyn EventBus>,
) -> Result<Apps, StartupError> {
    let chat = chat::ports(db).await?;
    Ok(Apps::new(
        service_core(settings, db),
        chat.apps,
        chat.tokens,
        events,
    ))
}

/// Importing accounts into `db` (`auth-server users import`): the user
/// store and the hashing pool (`{noop}` passwords are hashed).
///
/// # Errors
/// [`StartupError::Hasher`] when the hashing pool cannot be started.
pub fn import_service(settings: &Settings, db: &Database) -> Result<Import, StartupError> {
    Ok(Import::new(
        service_core(settings, db),
        Arc::new(DieselUserRepository::new(db.clone())),
        Arc::new(password_hasher(settings)?),
    ))
}

/// The administrator's user use cases on `db` (`auth-server users
/// list|show|disable|enable|reset-mfa|grant-admin|revoke-admin`),
/// revocations announced on `events`. They only read the schemes of
/// stored hashes, so the hasher is a single idle thread, not the pool of
/// `AUTH_HASH_CONCURRENCY`.
///
/// # Errors
/// [`StartupError::Hasher`] when that thread cannot be started.
pub fn user_admin_service(
    settings: &Settings,
    db: &Database,
    events: Arc<dyn EventBus>,
) -> Result<UserAdmin, StartupError> {
    let schemes = Argon2Hasher::new(1).map_err(|e| StartupError::Hasher(e.to_string()))?;
    Ok(UserAdmin::new(
        service_core(settings, db),
        Arc::new(DieselUserRepository::new(db.clone())),
        Arc::new(DieselSocialIdentityStore::new(db.clone())),
        Arc::new(schemes),
        session_revoker(db, events),
    )
    .with_factors(Arc::new(auth_infra::DieselFactorStore::new(
        db.clone(),
        settings
            .tokens
            .key_encryption_key
            .as_ref()
            .map(auth_infra::Kek::new),
    )))
    .with_roles(Arc::new(DieselAdminRoleStore::new(db.clone()))))
}

/// The administrator's session use cases on `db` (`auth-server users
/// revoke-sessions`, `sessions revoke`), revocations announced on
/// `events`.
pub fn session_admin_service(settings: &Settings, db: &Database, events: Arc<dyn EventBus>) -> SessionAdmin {
    SessionAdmin::new(
        service_core(settings, db),
        Arc::new(DieselUserRepository::new(db.clone())),
        session_revoker(db, events),
    )
}

/// The domain's policy from settings.
pub(crate) fn auth_policy(settings: &Settings) -> AuthPolicy {
    AuthPolicy {
        access_ttl: settings.tokens.access_ttl,
        refresh_ttl: settings.tokens.refresh_ttl,
        refresh_reuse_grace: settings.tokens.refresh_reuse_grace,
        password: PasswordPolicy::new(
            settings.accounts.password_min_length,
            settings.accounts.password_max_length,
        ),
        codes: CodePolicy {
            ttl: settings.accounts.code_ttl,
            max_attempts: settings.accounts.code_max_attempts,
            resend_cooldown: settings.accounts.code_resend_cooldown,
            signup_window: TimeDelta::minutes(10),
            signup_requires_code: settings.accounts.signup_require_email_code,
        },
        sessions: SessionPolicy {
            single_session_clients: settings.accounts.single_session_contracts.clone(),
            max_sessions_per_user: settings.accounts.max_sessions_per_user,
        },
        social: social::policy(settings),
        throttle: throttle_policy(settings),
    }
}

/// The purge of expired rows over `db`, with the retention that follows
/// from settings (also `auth-server purge`).
pub fn housekeeper(settings: &Settings, db: &Database) -> Housekeeper {
    let audit = (settings.purge.audit_retention_days > 0)
        .then(|| TimeDelta::days(i64::from(settings.purge.audit_retention_days)));
    Housekeeper::new(
        Arc::new(DieselHousekeeping::new(db.clone())),
        Arc::new(SystemClock),
        RetentionPolicy::from_policy(&auth_policy(settings), audit),
    )
}

/// The login-throttling policy from settings.
pub(crate) fn throttle_policy(settings: &Settings) -> ThrottlePolicy {
    let rule = |max_failures| ThrottleRule {
        max_failures,
        window: settings.throttle.login_failure_window,
        base_lock: settings.throttle.login_lock,
        max_lock: settings.throttle.login_max_lock,
    };
    ThrottlePolicy {
        enabled: settings.throttle.login_enabled,
        account: rule(settings.throttle.login_max_failures),
        ip: rule(settings.throttle.login_ip_max_failures),
        ipv6_prefix: settings.throttle.client_ipv6_prefix,
    }
}
