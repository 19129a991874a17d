//! The service's own flows, through reqwest: logins, rotations, floods and
//! latency probes.

use super::*;

pub(crate) async fn post(client: &reqwest::Client, url: &str, body: &Value) -> (u16, Value) {
    let response = client.post(url).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `(access, refresh)` of a `standard` login.
pub(crate) async fn login(client: &reqwest::Client, base: &str, user: &str) -> (String, String) {
    let (status, body) = post(
        client,
        &format!("{base}/api/auth/login"),
        &json!({"username": user, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "login: {body}");
    tokens(&body)
}

pub(crate) fn tokens(body: &Value) -> (String, String) {
    (
        body["accessToken"].as_str().unwrap().to_owned(),
        body["refreshToken"].as_str().unwrap().to_owned(),
    )
}

/// One rotation; returns the new pair.
pub(crate) async fn reissue(
    client: &reqwest::Client,
    base: &str,
    pair: &(String, String),
) -> (String, String) {
    let (status, body) = post(
        client,
        &format!("{base}/api/auth/reissue-token"),
        &json!({"accessToken": pair.0, "refreshToken": pair.1}),
    )
    .await;
    assert_eq!(status, 200, "reissue: {body}");
    tokens(&body)
}

/// The sum of what `tasks` counted, per second since `started`.
pub(crate) async fn per_second(tasks: Vec<tokio::task::JoinHandle<u64>>, started: Instant) -> f64 {
    let mut done = 0;
    for t in tasks {
        done += t.await.unwrap();
    }
    done as f64 / started.elapsed().as_secs_f64()
}

/// Successful logins per second, `clients` at a time, cycling over `users`.
pub(crate) async fn login_flood(base: String, users: Arc<Vec<String>>, clients: usize, seconds: f64) -> f64 {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let client = reqwest::Client::new();
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let (client, base, users) = (client.clone(), base.clone(), users.clone());
            tokio::spawn(async move {
                let mut done = 0u64;
                let mut k = i;
                while Instant::now() < until {
                    login(&client, &base, &users[k % users.len()]).await;
                    done += 1;
                    k += clients;
                }
                done
            })
        })
        .collect();
    per_second(tasks, started).await
}

/// Latencies of rotations of one session, one every `pace`, until `seconds`
/// pass: a steady trickle, so that the probe itself is no load.
pub(crate) async fn refresh_latencies(
    client: &reqwest::Client,
    base: &str,
    pair: &mut (String, String),
    seconds: f64,
) -> Vec<Duration> {
    let pace = Duration::from_millis(5);
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let mut samples = Vec::new();
    let mut next = Instant::now();
    while Instant::now() < until {
        let started = Instant::now();
        *pair = reissue(client, base, pair).await;
        samples.push(started.elapsed());
        next += pace;
        tokio::time::sleep_until(next.max(Instant::now()).into()).await;
    }
    samples
}

/// One round of refresh latencies: alone, then during a login flood.
pub(crate) async fn refresh_round(
    client: &reqwest::Client,
    base: &str,
    users: &Arc<Vec<String>>,
    pair: &mut (String, String),
    seconds: f64,
) -> (Vec<Duration>, Vec<Duration>) {
    let idle = refresh_latencies(client, base, pair, seconds).await;
    let flood_task = tokio::spawn(login_flood(base.to_owned(), users.clone(), 4 * cores(), seconds));
    // Let the flood reach saturation before sampling.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let flood = refresh_latencies(client, base, pair, seconds - 0.6).await;
    flood_task.await.unwrap();
    (idle, flood)
}

/// Logins at saturation and refresh latencies of one server, round by round.
#[derive(Default)]
pub(crate) struct Rounds {
    /// Logins per second, one figure per round.
    pub(crate) logins: Vec<f64>,
    /// Refresh latencies alone, every round (sorted by [`Rounds::finish`]).
    pub(crate) idle: Vec<Duration>,
    /// Refresh latencies during a login flood, every round (sorted too).
    pub(crate) flood: Vec<Duration>,
    /// p99 during the flood ÷ p99 alone, one figure per round.
    pub(crate) ratios: Vec<f64>,
}

impl Rounds {
    /// One round: logins at saturation, then refresh latencies alone and
    /// during a login flood.
    pub(crate) async fn run(
        &mut self,
        client: &reqwest::Client,
        base: &str,
        users: &Arc<Vec<String>>,
        pair: &mut (String, String),
        seconds: f64,
    ) {
        self.logins
            .push(login_flood(base.to_owned(), users.clone(), 4 * cores(), seconds).await);
        let (mut idle, mut flood) = refresh_round(client, base, users, pair, seconds).await;
        idle.sort();
        flood.sort();
        self.ratios
            .push(percentile(&flood, 99.0).as_secs_f64() / percentile(&idle, 99.0).as_secs_f64());
        self.idle.extend(idle);
        self.flood.extend(flood);
    }

    pub(crate) fn finish(&mut self) {
        self.idle.sort();
        self.flood.sort();
    }
}

/// Rotations per second, one client per session in `pairs`.
pub(crate) async fn refresh_throughput(base: &str, pairs: Vec<(String, String)>, seconds: f64) -> f64 {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let client = reqwest::Client::new();
    let tasks: Vec<_> = pairs
        .into_iter()
        .map(|mut pair| {
            let (client, base) = (client.clone(), base.to_owned());
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < until {
                    pair = reissue(&client, &base, &pair).await;
                    done += 1;
                }
                done
            })
        })
        .collect();
    per_second(tasks, started).await
}
