//! In-memory fakes of the `chat` ports, for unit tests only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::chat::*;
use crate::error::PortError;
use crate::sessions::token::TokenError;

use crate::chat::use_cases::ChatPorts;

#[derive(Default)]
pub struct MemApps {
    pub rows: Mutex<HashMap<AppId, App>>,
}

#[async_trait]
impl AppRepository for MemApps {
    async fn create(&self, app: &App) -> Result<(), PortError> {
        self.rows.lock().unwrap().insert(app.id.clone(), app.clone());
        Ok(())
    }
    async fn get(&self, id: &AppId) -> Result<Option<App>, PortError> {
        Ok(self.rows.lock().unwrap().get(id).cloned())
    }
    async fn list(&self) -> Result<Vec<App>, PortError> {
        let mut apps: Vec<App> = self.rows.lock().unwrap().values().cloned().collect();
        apps.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(apps)
    }
    async fn delete(&self, id: &AppId) -> Result<bool, PortError> {
        Ok(self.rows.lock().unwrap().remove(id).is_some())
    }
    async fn rotate_secret(&self, id: &AppId) -> Result<Option<App>, PortError> {
        let mut rows = self.rows.lock().unwrap();
        Ok(rows.get_mut(id).map(|a| {
            a.secret_version += 1;
            a.clone()
        }))
    }
}

/// Secrets are `secret-<app id>`; tokens are readable strings
/// `APP|<secret>|sub|app_id or -|exp`.
pub struct FakeAppTokens;

impl FakeAppTokens {
    pub fn sign(secret: &str, sub: &str, app_id: Option<&str>, exp: i64) -> String {
        format!("APP|{secret}|{sub}|{}|{exp}", app_id.unwrap_or("-"))
    }
}

impl AppTokens for FakeAppTokens {
    fn issue_secret(&self, app: &App) -> Result<String, PortError> {
        Ok(if app.secret_version == 0 {
            format!("secret-{}", app.id)
        } else {
            format!("secret-{}-v{}", app.id, app.secret_version)
        })
    }
    fn verify(&self, app: &App, token: &str, now: DateTime<Utc>) -> Result<AppClaims, TokenError> {
        let p: Vec<&str> = token.split('|').collect();
        if p.len() != 5 || p[0] != "APP" || p[1] != self.issue_secret(app).unwrap() {
            return Err(TokenError::Invalid);
        }
        let exp: i64 = p[4].parse().map_err(|_| TokenError::Invalid)?;
        if exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(AppClaims {
            sub: p[2].to_owned(),
            app_id: (p[3] != "-").then(|| p[3].to_owned()),
            iat: None,
            exp,
        })
    }
}

#[derive(Default)]
pub struct MemProfiles {
    pub rows: Mutex<HashMap<(AppId, ChatUser), ChatProfile>>,
    pub down: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl ChatProfiles for MemProfiles {
    async fn upsert(&self, p: &ChatProfile, _now: DateTime<Utc>) -> Result<UpsertOutcome, PortError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(PortError::new("upsert chat profile", "connection refused"));
        }
        let old = self
            .rows
            .lock()
            .unwrap()
            .insert((p.app_id.clone(), p.user.clone()), p.clone());
        Ok(if old.is_some() {
            UpsertOutcome::Updated
        } else {
            UpsertOutcome::Registered
        })
    }
    async fn get(&self, app_id: &AppId, user: &ChatUser) -> Result<Option<ChatProfile>, PortError> {
        Ok(self
            .rows
            .lock()
            .unwrap()
            .get(&(app_id.clone(), user.clone()))
            .cloned())
    }
}

#[derive(Default, Clone)]
pub struct ChatFakes {
    pub apps: Arc<MemApps>,
    pub profiles: Arc<MemProfiles>,
}

impl ChatFakes {
    pub fn ports(&self) -> ChatPorts {
        ChatPorts {
            apps: self.apps.clone(),
            tokens: Arc::new(FakeAppTokens),
            profiles: self.profiles.clone(),
        }
    }
}
