//! An in-memory fake of the admin roles' port: [`MemRoles`].

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::admin::roles::AdminRoleStore;
use crate::error::PortError;
use crate::identity::user::UserId;

/// The admin role holders and when each was granted the role (one lock:
/// every method is atomic, so of parallel grants exactly one changes
/// something). It does not know the accounts: a use case checks them.
#[derive(Debug, Default)]
pub struct MemRoles {
    /// Holder → when granted.
    pub admins: Mutex<HashMap<UserId, DateTime<Utc>>>,
    /// When set, every method fails (the database is down).
    pub down: std::sync::atomic::AtomicBool,
}

impl MemRoles {
    fn check(&self) -> Result<(), PortError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(PortError::new("admin roles", "database down"));
        }
        Ok(())
    }
}

#[async_trait]
impl AdminRoleStore for MemRoles {
    async fn is_admin(&self, user: UserId) -> Result<bool, PortError> {
        self.check()?;
        Ok(self.admins.lock().unwrap().contains_key(&user))
    }

    async fn set_admin(&self, user: UserId, admin: bool, at: DateTime<Utc>) -> Result<bool, PortError> {
        self.check()?;
        let mut admins = self.admins.lock().unwrap();
        Ok(if admin {
            match admins.entry(user) {
                std::collections::hash_map::Entry::Occupied(_) => false,
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(at);
                    true
                }
            }
        } else {
            admins.remove(&user).is_some()
        })
    }
}
