//! The per-IP request budgets in the database, on both backends: a bucket
//! takes its burst, then refuses with the wait until its next request; a
//! bucket is one client, whatever the others do; a parallel burst (many
//! connections at once, as several instances would send) gets exactly the
//! budget; the purge deletes spent budgets only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::num::NonZeroU32;

use auth_domain::housekeeping::{Housekeeping, RetentionPolicy};
use auth_domain::identity::throttle::{HitError, RequestRate};
use auth_domain::policy::AuthPolicy;
use auth_domain::ports::RequestRates;
use auth_infra::{Database, DieselHousekeeping, DieselRequestRates};
use chrono::{DateTime, TimeDelta, Utc};

fn rate(per_minute: u32) -> RequestRate {
    RequestRate::per_minute(NonZeroU32::new(per_minute).unwrap())
}

/// The wait of a refused hit; panics when it was allowed or failed.
async fn refused(store: &DieselRequestRates, bucket: &str, r: RequestRate, at: DateTime<Utc>) -> TimeDelta {
    match store.hit(bucket, r, at).await {
        Err(HitError::Over(wait)) => wait,
        other => panic!("{bucket} at {at}: expected a refusal, got {other:?}"),
    }
}

async fn burst_then_one_per_interval(db: Database) {
    let store = DieselRequestRates::new(db);
    let five = rate(5);
    let t = Utc::now();
    for i in 0..5 {
        store
            .hit("203.0.113.7", five, t)
            .await
            .unwrap_or_else(|e| panic!("request {i} of the burst: {e:?}"));
    }
    // Five in the same instant: the next one waits a full interval (12 s).
    assert_eq!(
        refused(&store, "203.0.113.7", five, t).await,
        TimeDelta::seconds(12)
    );
    // Later within that interval, the wait is what is left of it.
    let later = t + TimeDelta::seconds(5);
    assert_eq!(
        refused(&store, "203.0.113.7", five, later).await,
        TimeDelta::seconds(7)
    );
    // Refusals cost nothing: after the wait, exactly one more.
    let after = t + TimeDelta::seconds(12);
    store.hit("203.0.113.7", five, after).await.unwrap();
    assert_eq!(
        refused(&store, "203.0.113.7", five, after).await,
        TimeDelta::seconds(12)
    );
    // Another client has its own budget, untouched by the first.
    for _ in 0..5 {
        store.hit("2001:db8:1:2::", five, t).await.unwrap();
    }
    refused(&store, "2001:db8:1:2::", five, t).await;
    // After a quiet minute the budget is whole again.
    let minute = after + TimeDelta::minutes(1);
    for _ in 0..5 {
        store.hit("203.0.113.7", five, minute).await.unwrap();
    }
    refused(&store, "203.0.113.7", five, minute).await;
}

async fn a_parallel_burst_gets_exactly_the_budget(db: Database) {
    let store = DieselRequestRates::new(db);
    let fifty = rate(50);
    let t = Utc::now();
    let hits: Vec<_> = (0..200)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.hit("198.51.100.1", fifty, t).await })
        })
        .collect();
    let mut allowed = 0;
    for hit in hits {
        match hit.await.unwrap() {
            Ok(()) => allowed += 1,
            Err(HitError::Over(wait)) => assert!(
                wait > TimeDelta::zero() && wait <= fifty.interval(),
                "a refusal's wait is within one interval: {wait}"
            ),
            Err(HitError::Internal(e)) => panic!("the store failed: {e}"),
        }
    }
    assert_eq!(allowed, 50, "200 parallel requests, a budget of 50");
    // Nothing left of the budget at that instant.
    refused(&store, "198.51.100.1", fifty, t).await;
}

async fn the_purge_deletes_spent_budgets_only(db: Database) {
    let store = DieselRequestRates::new(db.clone());
    let one = rate(1);
    let t = Utc::now();
    store
        .hit("192.0.2.1", one, t - TimeDelta::minutes(2))
        .await
        .unwrap();
    store
        .hit("192.0.2.2", one, t - TimeDelta::seconds(10))
        .await
        .unwrap();
    let cutoffs = RetentionPolicy::from_policy(&AuthPolicy::default(), None).cutoffs(t);
    let report = DieselHousekeeping::new(db).purge(&cutoffs).await.unwrap();
    assert_eq!(report.request_rates, 1, "{report:?}");
    // The live budget was kept: its client still waits.
    assert_eq!(refused(&store, "192.0.2.2", one, t).await, TimeDelta::seconds(50));
    store.hit("192.0.2.1", one, t).await.unwrap();
}

auth_infra::on_both_backends!(with crate::common::on_migrated:
    burst_then_one_per_interval,
    a_parallel_burst_gets_exactly_the_budget,
    the_purge_deletes_spent_budgets_only,
);
