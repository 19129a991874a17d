//! The OpenID provider's storage: clients (`oauth_clients`), codes
//! (`oauth_codes`), grants (`oauth_grants`) and remembered consents
//! (`oauth_consents`). Lists are stored space-separated (their items hold
//! no whitespace: the domain checks them).

use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::identity::user::UserId;
use auth_domain::oidc::client::{AuthMethod, GrantType, IdTokenAlg, OAuthClient};
use auth_domain::oidc::ports::{CodeTake, Grant, OAuthClientStore, OAuthGrantStore, StoredCode};
use auth_domain::sessions::session::SessionId;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{oauth_clients, oauth_codes, oauth_consents, oauth_grants};
use crate::db::{Database, from_db_time, to_db_time};

/// [`OAuthClientStore`] and [`OAuthGrantStore`] over diesel.
#[derive(Debug, Clone)]
pub struct DieselOidcStore {
    db: Database,
}

impl DieselOidcStore {
    /// The store over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

type ClientRow = (
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    String,
    bool,
    String,
    Option<String>,
    NaiveDateTime,
    NaiveDateTime,
    bool,
);

fn words(s: &str) -> Vec<String> {
    s.split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn client_of_row(r: ClientRow) -> Option<OAuthClient> {
    let grant_types =
        r.5.split(' ')
            .filter(|w| !w.is_empty())
            .map(GrantType::parse)
            .collect::<Option<Vec<_>>>();
    let Some(grant_types) = grant_types else {
        tracing::error!(client = %r.0, "stored client has an unknown grant type; ignored");
        return None;
    };
    let (Some(auth_method), Some(id_token_alg)) = (AuthMethod::parse(&r.6), IdTokenAlg::parse(&r.9)) else {
        tracing::error!(client = %r.0, "stored client has an unknown method or algorithm; ignored");
        return None;
    };
    Some(OAuthClient {
        client_id: r.0,
        name: r.1,
        secret_hash: r.2,
        redirect_uris: words(&r.3),
        post_logout_redirect_uris: words(&r.4),
        grant_types,
        auth_method,
        scopes: words(&r.7),
        first_party: r.8,
        id_token_alg,
        backchannel_logout_uri: r.10,
        all_sessions: r.13,
        created_at: from_db_time(r.11),
        updated_at: from_db_time(r.12),
    })
}

fn grants_text(g: &[GrantType]) -> String {
    g.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(" ")
}

#[async_trait]
impl OAuthClientStore for DieselOidcStore {
    async fn create(&self, c: &OAuthClient) -> Result<(), PortError> {
        let c = c.clone();
        self.db
            .query("register oauth client", move |conn| {
                diesel::insert_into(oauth_clients::table)
                    .values((
                        oauth_clients::client_id.eq(&c.client_id),
                        oauth_clients::name.eq(&c.name),
                        oauth_clients::secret_hash.eq(&c.secret_hash),
                        oauth_clients::redirect_uris.eq(c.redirect_uris.join(" ")),
                        oauth_clients::post_logout_redirect_uris.eq(c.post_logout_redirect_uris.join(" ")),
                        oauth_clients::grant_types.eq(grants_text(&c.grant_types)),
                        oauth_clients::auth_method.eq(c.auth_method.as_str()),
                        oauth_clients::scopes.eq(c.scopes.join(" ")),
                        oauth_clients::first_party.eq(c.first_party),
                        oauth_clients::id_token_alg.eq(c.id_token_alg.as_str()),
                        oauth_clients::backchannel_logout_uri.eq(&c.backchannel_logout_uri),
                        oauth_clients::all_sessions.eq(c.all_sessions),
                        oauth_clients::created_at.eq(to_db_time(c.created_at)),
                        oauth_clients::updated_at.eq(to_db_time(c.updated_at)),
                    ))
                    .execute(conn)
                    .map(|_| ())
            })
            .await
    }

    async fn get(&self, client_id: &str) -> Result<Option<OAuthClient>, PortError> {
        let id = client_id.to_owned();
        let row: Option<ClientRow> = self
            .db
            .query("find oauth client", move |conn| {
                oauth_clients::table.find(id).get_result(conn).optional()
            })
            .await?;
        Ok(row.and_then(client_of_row))
    }

    async fn list(&self) -> Result<Vec<OAuthClient>, PortError> {
        let rows: Vec<ClientRow> = self
            .db
            .query("list oauth clients", |conn| {
                // The console's placeholder row (a migration's, for the
                // foreign keys) is no registration to list.
                oauth_clients::table
                    .filter(oauth_clients::client_id.ne(auth_domain::oidc::console::CONSOLE_CLIENT_ID))
                    .order((oauth_clients::created_at.asc(), oauth_clients::client_id.asc()))
                    .load(conn)
            })
            .await?;
        Ok(rows.into_iter().filter_map(client_of_row).collect())
    }

    async fn update(&self, c: &OAuthClient) -> Result<bool, PortError> {
        let c = c.clone();
        let n = self
            .db
            .query("change oauth client", move |conn| {
                diesel::update(oauth_clients::table.find(&c.client_id))
                    .set((
                        oauth_clients::name.eq(&c.name),
                        oauth_clients::redirect_uris.eq(c.redirect_uris.join(" ")),
                        oauth_clients::post_logout_redirect_uris.eq(c.post_logout_redirect_uris.join(" ")),
                        oauth_clients::grant_types.eq(grants_text(&c.grant_types)),
                        oauth_clients::auth_method.eq(c.auth_method.as_str()),
                        oauth_clients::scopes.eq(c.scopes.join(" ")),
                        oauth_clients::first_party.eq(c.first_party),
                        oauth_clients::id_token_alg.eq(c.id_token_alg.as_str()),
                        oauth_clients::backchannel_logout_uri.eq(&c.backchannel_logout_uri),
                        oauth_clients::all_sessions.eq(c.all_sessions),
                        oauth_clients::updated_at.eq(to_db_time(c.updated_at)),
                    ))
                    .execute(conn)
            })
            .await?;
        Ok(n > 0)
    }

    async fn set_secret(
        &self,
        client_id: &str,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let (id, hash) = (client_id.to_owned(), secret_hash.to_owned());
        let n = self
            .db
            .query("rotate oauth client secret", move |conn| {
                diesel::update(oauth_clients::table.find(id))
                    .set((
                        oauth_clients::secret_hash.eq(Some(hash)),
                        oauth_clients::updated_at.eq(to_db_time(now)),
                    ))
                    .execute(conn)
            })
            .await?;
        Ok(n > 0)
    }

    async fn delete(&self, client_id: &str) -> Result<bool, PortError> {
        let id = client_id.to_owned();
        let n = self
            .db
            .query("delete oauth client", move |conn| {
                conn.transaction(|conn| {
                    diesel::delete(oauth_codes::table.filter(oauth_codes::client_id.eq(&id)))
                        .execute(conn)?;
                    diesel::delete(oauth_consents::table.filter(oauth_consents::client_id.eq(&id)))
                        .execute(conn)?;
                    diesel::delete(oauth_clients::table.find(&id)).execute(conn)
                })
            })
            .await?;
        Ok(n > 0)
    }
}

type CodeRow = (
    String,
    String,
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    NaiveDateTime,
    String,
    NaiveDateTime,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<String>,
);

fn code_of_row(r: CodeRow) -> Option<StoredCode> {
    Some(StoredCode {
        code_hash: r.0,
        client_id: r.1,
        user_id: UserId::new(r.2),
        browser_session: r.3.parse().ok()?,
        redirect_uri: r.4,
        scope: r.5,
        nonce: r.6,
        code_challenge: r.7,
        auth_time: from_db_time(r.8),
        amr: r.9,
        created_at: from_db_time(r.10),
        expires_at: from_db_time(r.11),
    })
}

type GrantRow = (String, String, Option<String>, String, NaiveDateTime, String);

fn grant_of_row(r: GrantRow) -> Option<Grant> {
    Some(Grant {
        session_id: r.0.parse().ok()?,
        client_id: r.1,
        browser_session: r.2.and_then(|b| b.parse().ok()),
        scope: r.3,
        auth_time: from_db_time(r.4),
        amr: r.5,
    })
}

#[async_trait]
impl OAuthGrantStore for DieselOidcStore {
    async fn put_code(&self, c: &StoredCode) -> Result<(), PortError> {
        let c = c.clone();
        self.db
            .query("store authorization code", move |conn| {
                diesel::insert_into(oauth_codes::table)
                    .values((
                        oauth_codes::code_hash.eq(&c.code_hash),
                        oauth_codes::client_id.eq(&c.client_id),
                        oauth_codes::user_id.eq(c.user_id.get()),
                        oauth_codes::browser_session.eq(c.browser_session.to_string()),
                        oauth_codes::redirect_uri.eq(&c.redirect_uri),
                        oauth_codes::scope.eq(&c.scope),
                        oauth_codes::nonce.eq(&c.nonce),
                        oauth_codes::code_challenge.eq(&c.code_challenge),
                        oauth_codes::auth_time.eq(to_db_time(c.auth_time)),
                        oauth_codes::amr.eq(&c.amr),
                        oauth_codes::created_at.eq(to_db_time(c.created_at)),
                        oauth_codes::expires_at.eq(to_db_time(c.expires_at)),
                    ))
                    .execute(conn)
                    .map(|_| ())
            })
            .await
    }

    async fn code(&self, code_hash: &str, now: DateTime<Utc>) -> Result<Option<StoredCode>, PortError> {
        let hash = code_hash.to_owned();
        let row: Option<CodeRow> = self
            .db
            .query("find authorization code", move |conn| {
                oauth_codes::table
                    .find(hash)
                    .filter(oauth_codes::expires_at.gt(to_db_time(now)))
                    .get_result(conn)
                    .optional()
            })
            .await?;
        Ok(row.and_then(code_of_row))
    }

    async fn take_code(&self, code_hash: &str, now: DateTime<Utc>) -> Result<CodeTake, PortError> {
        let hash = code_hash.to_owned();
        let at = to_db_time(now);
        self.db
            .query("take authorization code", move |conn| {
                conn.transaction(|conn| {
                    // The conditional update decides: one taker wins.
                    let taken = diesel::update(
                        oauth_codes::table
                            .find(&hash)
                            .filter(oauth_codes::used_at.is_null())
                            .filter(oauth_codes::expires_at.gt(at)),
                    )
                    .set(oauth_codes::used_at.eq(Some(at)))
                    .execute(conn)?;
                    if taken == 1 {
                        let row: CodeRow = oauth_codes::table.find(&hash).get_result(conn)?;
                        return Ok(
                            code_of_row(row).map_or(CodeTake::Unknown, |c| CodeTake::Taken(Box::new(c)))
                        );
                    }
                    let replayed = diesel::update(
                        oauth_codes::table
                            .find(&hash)
                            .filter(oauth_codes::used_at.is_not_null()),
                    )
                    .set(oauth_codes::replayed_at.eq(Some(at)))
                    .execute(conn)?;
                    if replayed == 0 {
                        return Ok(CodeTake::Unknown);
                    }
                    let grant: Option<String> = oauth_codes::table
                        .find(&hash)
                        .select(oauth_codes::grant_session)
                        .get_result(conn)?;
                    Ok(CodeTake::Replayed(grant.and_then(|g| g.parse().ok())))
                })
            })
            .await
    }

    async fn bind_code(&self, code_hash: &str, grant: SessionId) -> Result<(), PortError> {
        let hash = code_hash.to_owned();
        self.db
            .query("bind authorization code", move |conn| {
                diesel::update(oauth_codes::table.find(hash))
                    .set(oauth_codes::grant_session.eq(Some(grant.to_string())))
                    .execute(conn)
                    .map(|_| ())
            })
            .await
    }

    async fn code_replayed(&self, code_hash: &str) -> Result<bool, PortError> {
        let hash = code_hash.to_owned();
        let at: Option<Option<NaiveDateTime>> = self
            .db
            .query("read authorization code", move |conn| {
                oauth_codes::table
                    .find(hash)
                    .select(oauth_codes::replayed_at)
                    .get_result(conn)
                    .optional()
            })
            .await?;
        Ok(at.flatten().is_some())
    }

    async fn put_grant(&self, g: &Grant) -> Result<(), PortError> {
        let g = g.clone();
        self.db
            .query("store grant", move |conn| {
                diesel::insert_into(oauth_grants::table)
                    .values((
                        oauth_grants::session_id.eq(g.session_id.to_string()),
                        oauth_grants::client_id.eq(&g.client_id),
                        oauth_grants::browser_session.eq(g.browser_session.map(|b| b.to_string())),
                        oauth_grants::scope.eq(&g.scope),
                        oauth_grants::auth_time.eq(to_db_time(g.auth_time)),
                        oauth_grants::amr.eq(&g.amr),
                    ))
                    .execute(conn)
                    .map(|_| ())
            })
            .await
    }

    async fn grant(&self, session: SessionId) -> Result<Option<Grant>, PortError> {
        let row: Option<GrantRow> = self
            .db
            .query("find grant", move |conn| {
                oauth_grants::table
                    .find(session.to_string())
                    .get_result(conn)
                    .optional()
            })
            .await?;
        Ok(row.and_then(grant_of_row))
    }

    async fn grants_of_browser(&self, browser: SessionId) -> Result<Vec<Grant>, PortError> {
        let rows: Vec<GrantRow> = self
            .db
            .query("list grants of a browser session", move |conn| {
                oauth_grants::table
                    .filter(oauth_grants::browser_session.eq(browser.to_string()))
                    .load(conn)
            })
            .await?;
        Ok(rows.into_iter().filter_map(grant_of_row).collect())
    }

    async fn consent(&self, user: UserId, client_id: &str) -> Result<Option<String>, PortError> {
        let id = client_id.to_owned();
        self.db
            .query("read consent", move |conn| {
                oauth_consents::table
                    .find((user.get(), id))
                    .select(oauth_consents::scope)
                    .get_result(conn)
                    .optional()
            })
            .await
    }

    async fn put_consent(
        &self,
        user: UserId,
        client_id: &str,
        scope: &str,
        now: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let (id, scope) = (client_id.to_owned(), scope.to_owned());
        self.db
            .query("store consent", move |conn| {
                conn.transaction(|conn| {
                    let changed = diesel::update(oauth_consents::table.find((user.get(), &id)))
                        .set((
                            oauth_consents::scope.eq(&scope),
                            oauth_consents::granted_at.eq(to_db_time(now)),
                        ))
                        .execute(conn)?;
                    if changed == 0 {
                        diesel::insert_into(oauth_consents::table)
                            .values((
                                oauth_consents::user_id.eq(user.get()),
                                oauth_consents::client_id.eq(&id),
                                oauth_consents::scope.eq(&scope),
                                oauth_consents::granted_at.eq(to_db_time(now)),
                            ))
                            .execute(conn)?;
                    }
                    Ok(())
                })
            })
            .await
    }

    async fn purge_codes(&self, before: DateTime<Utc>) -> Result<u64, PortError> {
        let n = self
            .db
            .query("purge authorization codes", move |conn| {
                diesel::delete(oauth_codes::table.filter(oauth_codes::expires_at.lt(to_db_time(before))))
                    .execute(conn)
            })
            .await?;
        Ok(n as u64)
    }
}
