//! Social login storage over diesel: [`DieselSocialIdentityStore`]
//! (`social_identities`) and [`DieselLoginStateStore`] (`oauth_states`).

use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::identity::user::UserId;
use auth_domain::social::{
    LoginStateStore, PendingLogin, PkceVerifier, Provider, SocialIdentityStore, StateHash,
};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::schema::{oauth_states, social_identities};
use crate::db::{Database, DbError, from_db_time, to_db_time};

/// Links of (provider, subject) pairs to users, in `social_identities`.
#[derive(Debug, Clone)]
pub struct DieselSocialIdentityStore {
    db: Database,
}

impl DieselSocialIdentityStore {
    /// A store over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[derive(Insertable)]
#[diesel(table_name = social_identities)]
struct IdentityRow {
    provider: String,
    subject: String,
    user_id: i64,
    created_at: NaiveDateTime,
}

#[async_trait]
impl SocialIdentityStore for DieselSocialIdentityStore {
    async fn user_for(&self, provider: Provider, subject: &str) -> Result<Option<UserId>, PortError> {
        let subject = subject.to_owned();
        self.db
            .query("find social identity", move |conn| {
                social_identities::table
                    .find((provider.as_str(), subject))
                    .select(social_identities::user_id)
                    .get_result::<i64>(conn)
                    .optional()
            })
            .await
            .map(|id| id.map(UserId::new))
    }

    async fn providers_of(&self, user: UserId) -> Result<Vec<Provider>, PortError> {
        const CONTEXT: &str = "list social identities";
        let names: Vec<String> = self
            .db
            .query(CONTEXT, move |conn| {
                social_identities::table
                    .filter(social_identities::user_id.eq(user.get()))
                    .select(social_identities::provider)
                    .distinct()
                    .load(conn)
            })
            .await?;
        names
            .iter()
            .map(|name| {
                Provider::parse(name).ok_or_else(|| {
                    PortError::new(CONTEXT, DbError::Corrupt("social_identities.provider is unknown"))
                })
            })
            .collect()
    }

    async fn link(
        &self,
        provider: Provider,
        subject: &str,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<UserId, PortError> {
        let row = IdentityRow {
            provider: provider.as_str().to_owned(),
            subject: subject.to_owned(),
            user_id: user.get(),
            created_at: to_db_time(now),
        };
        self.db
            .query("link social identity", move |conn| {
                // The primary key decides a race: the loser reads the winner.
                match diesel::insert_into(social_identities::table)
                    .values(&row)
                    .execute(conn)
                {
                    Ok(_) => Ok(row.user_id),
                    Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                        social_identities::table
                            .find((&row.provider, &row.subject))
                            .select(social_identities::user_id)
                            .get_result::<i64>(conn)
                    }
                    Err(e) => Err(e),
                }
            })
            .await
            .map(UserId::new)
    }
}

/// Started social logins, in `oauth_states`.
#[derive(Debug, Clone)]
pub struct DieselLoginStateStore {
    db: Database,
}

impl DieselLoginStateStore {
    /// A store over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = oauth_states)]
struct StateRow {
    state_hash: String,
    provider: String,
    pkce_verifier: Option<String>,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    browser_hash: Option<String>,
}

impl StateRow {
    fn from_domain(p: &PendingLogin) -> Self {
        Self {
            state_hash: p.state.as_str().to_owned(),
            provider: p.provider.as_str().to_owned(),
            pkce_verifier: p.pkce_verifier.as_ref().map(|v| v.expose().to_owned()),
            created_at: to_db_time(p.created_at),
            expires_at: to_db_time(p.expires_at),
            browser_hash: p.browser.as_ref().map(|h| h.as_str().to_owned()),
        }
    }

    fn into_domain(self) -> Result<PendingLogin, DbError> {
        Ok(PendingLogin {
            state: StateHash::from_stored(self.state_hash),
            provider: Provider::parse(&self.provider)
                .ok_or(DbError::Corrupt("oauth_states.provider is unknown"))?,
            pkce_verifier: self.pkce_verifier.map(PkceVerifier::from_stored),
            browser: self.browser_hash.map(StateHash::from_stored),
            created_at: from_db_time(self.created_at),
            expires_at: from_db_time(self.expires_at),
        })
    }
}

#[async_trait]
impl LoginStateStore for DieselLoginStateStore {
    async fn put(&self, pending: &PendingLogin) -> Result<(), PortError> {
        let row = StateRow::from_domain(pending);
        self.db
            .query("store oauth state", move |conn| {
                // Flows whose time is up are dead anyway; dropping them here
                // keeps the table as small as the number of open flows.
                diesel::delete(oauth_states::table.filter(oauth_states::expires_at.le(row.created_at)))
                    .execute(conn)?;
                diesel::insert_into(oauth_states::table)
                    .values(&row)
                    .execute(conn)
                    .map(|_| ())
            })
            .await
    }

    async fn take(&self, provider: Provider, state: &StateHash) -> Result<Option<PendingLogin>, PortError> {
        const CONTEXT: &str = "take oauth state";
        let hash = state.as_str().to_owned();
        let row = self
            .db
            .query(CONTEXT, move |conn| {
                let found = oauth_states::table
                    .find(&hash)
                    .filter(oauth_states::provider.eq(provider.as_str()))
                    .get_result::<StateRow>(conn)
                    .optional()?;
                let Some(found) = found else {
                    return Ok(None);
                };
                // Single use: of concurrent callbacks only the one whose
                // DELETE removed the row goes on.
                let deleted = diesel::delete(
                    oauth_states::table
                        .find(&hash)
                        .filter(oauth_states::provider.eq(provider.as_str())),
                )
                .execute(conn)?;
                Ok((deleted == 1).then_some(found))
            })
            .await?;
        row.map(StateRow::into_domain)
            .transpose()
            .map_err(|e| PortError::new(CONTEXT, e))
    }
}
