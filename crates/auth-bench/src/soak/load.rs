//! The mixed load: a pacer starts one operation every `1 / rate` seconds
//! (open loop: a slow answer does not slow the schedule; a tick is dropped
//! and counted only when `max_in_flight` operations are still running),
//! taking the operations in a fixed cycle that gives each its
//! [`Op::share`]. Sessions are held in slots: logins replace a slot's
//! pair, rotations and token checks use one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use auth_contract_tests::ws::{Frame, connect};
use serde_json::{Value, json};

use super::{OPS, Op, OpWindow};
use crate::percentile;

/// The password of every soak user.
pub const PASSWORD: &str = "SoakPassword1!";
/// The admin bearer the soak server is started with.
pub const ADMIN_TOKEN: &str = "soak-bench-admin-token-0123456789abcdef";
/// Users signed up before the load (`soakuser0`…).
pub const USERS: usize = 32;
/// Sessions held at once.
pub const SLOTS: usize = 16;
/// An operation still running after this counts as an error.
const OP_TIMEOUT: Duration = Duration::from_secs(30);

/// The order the pacer takes the operations in: one cycle of 20 ticks,
/// each operation [`Op::share`] times, spread out (smooth weighted round
/// robin).
pub fn cycle() -> Vec<Op> {
    let total: i64 = OPS.iter().map(|o| i64::from(o.share())).sum();
    let mut credit = [0i64; 6];
    let mut out = Vec::new();
    for _ in 0..total {
        for (c, o) in credit.iter_mut().zip(OPS) {
            *c += i64::from(o.share());
        }
        let best = (0..OPS.len())
            .max_by_key(|&i| (credit[i], -(i as i64)))
            .unwrap_or(0);
        credit[best] -= total;
        out.push(OPS[best]);
    }
    out
}

/// Latencies and failures since the last [`Load::take_window`].
#[derive(Debug, Default)]
struct Window {
    latencies: [Vec<Duration>; 6],
    errors: [u64; 6],
    skipped: u64,
}

/// A held session.
#[derive(Debug)]
struct Slot {
    user: usize,
    access: String,
    refresh: String,
}

/// The state the operations share.
#[derive(Debug)]
pub struct Load {
    client: reqwest::Client,
    base: String,
    ws: String,
    users: Vec<String>,
    slots: Vec<tokio::sync::Mutex<Slot>>,
    /// Operations started so far, per operation: picks the slot and user.
    seq: [AtomicU64; 6],
    tag: String,
    window: std::sync::Mutex<Window>,
    /// First error messages, printed once each.
    reported: AtomicU64,
}

/// An HTTP client whose idle connections are closed before the server's
/// keep-alive timeout (actix's default, 5 s) closes them: reusing one the
/// server is closing at that moment fails the request, a race of the
/// client's that would otherwise count as the server's failure.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(3))
        .build()
        .expect("an HTTP client")
}

/// An error with its causes, `: `-separated.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

/// The status and JSON body (`Null` when there is none) of `request`.
async fn send(request: reqwest::RequestBuilder) -> Result<(u16, Value), String> {
    let response = request.send().await.map_err(|e| chain(&e))?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

/// `Ok` when `status` is `expect`, else the error text.
fn expect(what: &str, expect: u16, (status, body): (u16, Value)) -> Result<Value, String> {
    if status == expect {
        Ok(body)
    } else {
        Err(format!("{what}: {status} {body}"))
    }
}

/// `(access, refresh)` of an answer.
fn pair(body: &Value) -> Result<(String, String), String> {
    let field = |name: &str| {
        body[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no {name} in {body}"))
    };
    Ok((field("accessToken")?, field("refreshToken")?))
}

impl Load {
    /// Signs up [`USERS`] users on `base` and logs [`SLOTS`] sessions in;
    /// `ws` is the server's `ws://…/ws`, `tag` keeps the code sends' new
    /// addresses apart between runs.
    ///
    /// # Panics
    /// When a sign-up or login fails: the server is not usable.
    pub async fn prepare(base: &str, ws: &str, tag: &str) -> Arc<Load> {
        let client = client();
        let users: Vec<String> = (0..USERS).map(|i| format!("soakuser{i}")).collect();
        for chunk in users.chunks(4) {
            let signups = chunk.iter().map(|u| {
                let email = format!("{u}@soak.test");
                let body = json!({"authId": u, "password": PASSWORD, "name": "소크", "email": email});
                send(client.post(format!("{base}/api/auth/sign-up")).json(&body))
            });
            for answer in futures_util::future::join_all(signups).await {
                let (status, body) = answer.unwrap();
                assert!(status < 300, "sign-up: {status} {body}");
            }
        }
        let mut load = Load {
            client,
            base: base.to_owned(),
            ws: ws.to_owned(),
            users,
            slots: Vec::new(),
            seq: Default::default(),
            tag: tag.to_owned(),
            window: std::sync::Mutex::default(),
            reported: AtomicU64::new(0),
        };
        for i in 0..SLOTS {
            let (access, refresh) = load.login(i).await.unwrap();
            load.slots.push(tokio::sync::Mutex::new(Slot {
                user: i,
                access,
                refresh,
            }));
        }
        Arc::new(load)
    }

    async fn login(&self, user: usize) -> Result<(String, String), String> {
        let body = json!({"username": self.users[user], "password": PASSWORD});
        let answer = send(
            self.client
                .post(format!("{}/api/auth/login", self.base))
                .json(&body),
        )
        .await?;
        pair(&expect("login", 200, answer)?)
    }

    /// Runs `op` once; the time it took, from its first request to its
    /// last answer (not counting the wait for a held session's lock).
    async fn run(&self, op: Op) -> Result<Duration, String> {
        let n = self.seq[op.index()].fetch_add(1, Ordering::Relaxed);
        let slot = &self.slots[n as usize % SLOTS];
        let mut started = Instant::now();
        match op {
            Op::Login => {
                let user = n as usize % USERS;
                let (access, refresh) = self.login(user).await?;
                let took = started.elapsed();
                // The slot's old session is left to expire, as an
                // abandoned device's would be.
                if let Ok(mut held) = slot.try_lock() {
                    *held = Slot {
                        user,
                        access,
                        refresh,
                    };
                }
                Ok(took)
            }
            Op::Refresh => {
                let mut held = slot.lock().await;
                started = Instant::now();
                let body = json!({"accessToken": held.access, "refreshToken": held.refresh});
                let url = format!("{}/api/auth/reissue-token", self.base);
                let answer = send(self.client.post(url).json(&body)).await?;
                (held.access, held.refresh) = pair(&expect("reissue", 200, answer)?)?;
                Ok(started.elapsed())
            }
            Op::TokenCheck => {
                let access = slot.lock().await.access.clone();
                started = Instant::now();
                let url = format!("{}/api/auth/me", self.base);
                expect("me", 200, send(self.client.get(url).bearer_auth(access)).await?)?;
                Ok(started.elapsed())
            }
            Op::CodeSend => {
                let id = format!("sk{}{n}", self.tag);
                let body = json!({"authId": id, "email": format!("{id}@soak.test"), "type": "SIGN_UP"});
                let url = format!("{}/api/auth/send/auth-key", self.base);
                expect("send code", 200, send(self.client.post(url).json(&body)).await?)?;
                Ok(started.elapsed())
            }
            Op::Socket => {
                let (user, access) = {
                    let held = slot.lock().await;
                    (held.user, held.access.clone())
                };
                started = Instant::now();
                let mut socket = connect(&format!("{}?token={access}", self.ws), &[])
                    .await
                    .map_err(|(status, body)| format!("socket refused: {status} {body}"))?;
                let message = format!("soak {n}");
                let body = json!({"userId": self.users[user], "message": message});
                let url = format!("{}/internal/notifications", self.base);
                let answer = send(self.client.post(url).bearer_auth(ADMIN_TOKEN).json(&body)).await?;
                expect("notification", 200, answer)?;
                // Other sockets of the user get the other rounds' messages.
                loop {
                    match socket.next(Duration::from_secs(10)).await {
                        Frame::Json(v) if v["message"] == message.as_str() => return Ok(started.elapsed()),
                        Frame::Json(_) => {}
                        other => return Err(format!("socket: {other:?} instead of the notification")),
                    }
                }
            }
            Op::AdminSearch => {
                let url = format!(
                    "{}/internal/users?query=soakuser{}&limit=20",
                    self.base,
                    n % USERS as u64
                );
                expect(
                    "search",
                    200,
                    send(self.client.get(url).bearer_auth(ADMIN_TOKEN)).await?,
                )?;
                Ok(started.elapsed())
            }
        }
    }

    fn record(&self, op: Op, outcome: Result<Duration, String>) {
        let mut window = self.window.lock().unwrap();
        match outcome {
            Ok(took) => window.latencies[op.index()].push(took),
            Err(e) => {
                window.errors[op.index()] += 1;
                if self.reported.fetch_add(1, Ordering::Relaxed) < 20 {
                    eprintln!("[soak] {} failed: {e}", op.key());
                }
            }
        }
    }

    /// The figures of each operation since the last call, and the ticks
    /// dropped.
    pub fn take_window(&self) -> ([OpWindow; 6], u64) {
        let window = std::mem::take(&mut *self.window.lock().unwrap());
        let mut out = [OpWindow::default(); 6];
        for ((o, mut latencies), errors) in out.iter_mut().zip(window.latencies).zip(window.errors) {
            latencies.sort();
            let ms = |p| {
                if latencies.is_empty() {
                    f64::NAN
                } else {
                    percentile(&latencies, p).as_secs_f64() * 1000.0
                }
            };
            *o = OpWindow {
                done: latencies.len() as u64,
                errors,
                p50_ms: ms(50.0),
                p99_ms: ms(99.0),
            };
        }
        (out, window.skipped)
    }
}

/// Starts operations at `rate` per second until `until`, at most
/// `max_in_flight` at once, then waits for those still running.
pub async fn drive(load: Arc<Load>, rate: f64, until: Instant, max_in_flight: usize) {
    let schedule = cycle();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let permits = Arc::new(tokio::sync::Semaphore::new(max_in_flight));
    let mut k = 0u64;
    loop {
        tick.tick().await;
        if Instant::now() >= until {
            break;
        }
        let op = schedule[k as usize % schedule.len()];
        match permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let load = load.clone();
                tokio::spawn(async move {
                    let outcome = tokio::time::timeout(OP_TIMEOUT, load.run(op))
                        .await
                        .unwrap_or_else(|_| Err(format!("no answer within {OP_TIMEOUT:?}")));
                    load.record(op, outcome);
                    drop(permit);
                });
            }
            Err(_) => load.window.lock().unwrap().skipped += 1,
        }
        k += 1;
    }
    let _ = permits.acquire_many(max_in_flight as u32).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cycle_gives_each_operation_its_share_spread_out() {
        let c = cycle();
        assert_eq!(c.len(), 20);
        for o in OPS {
            assert_eq!(c.iter().filter(|x| **x == o).count() as u32, o.share(), "{o:?}");
        }
        // No operation twice in a row (its share is at most a quarter).
        for w in c.windows(2) {
            assert_ne!(w[0], w[1], "{c:?}");
        }
    }
}
