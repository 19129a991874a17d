//! Memory per idle WebSocket (issue 18), shared by `ws-bench` and
//! `load-bench --scale`: the floor any actix-ws server pays (`ws-floor`)
//! and ours above it (`auth-server` minus the floor, in the same round).

use std::time::Duration;

use auth_contract_tests::ws::{Client, connect};

use crate::{Server, median, rss_kib};

/// Socket counts from a comma-separated list (`1000,10000,19500`); blanks
/// and `0` are skipped, so `0` or an empty list measures nothing.
///
/// # Panics
/// When an entry is not a number.
pub fn socket_counts(list: &str) -> Vec<usize> {
    list.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty() && *n != "0")
        .map(|n| n.parse().unwrap_or_else(|_| panic!("not a socket count: {n:?}")))
        .collect()
}

/// Opens `n` sockets to `url`, 250 at a time.
///
/// # Panics
/// When a socket is refused.
pub async fn open_sockets(url: &str, n: usize) -> Vec<Client> {
    let mut clients = Vec::with_capacity(n);
    for chunk in 0..n.div_ceil(250) {
        let k = 250.min(n - chunk * 250);
        let batch = futures_util::future::join_all((0..k).map(|_| connect(url, &[]))).await;
        for c in batch {
            clients.push(c.unwrap_or_else(|e| panic!("socket refused: {e:?}")));
        }
    }
    clients
}

/// `server`'s RSS once it has stopped moving (two readings 500 ms apart
/// within 256 KiB; at most 10 s): a server just started, or just done with
/// a login, still returns memory for a moment, which would otherwise be
/// counted against the sockets.
pub async fn settled_rss(server: &Server) -> u64 {
    let mut last = rss_kib(server.pid());
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = rss_kib(server.pid());
        if now.abs_diff(last) <= 256 {
            return now;
        }
        last = now;
    }
    last
}

/// What one more idle socket costs `server` at `n` sockets, in KiB: the
/// RSS growth from holding `n / 2` sockets to `url` to holding `n`,
/// divided by the `n - n / 2` added. Counting from idle instead would
/// undercount: a server first fills the memory it already holds free
/// (from start-up and the login that got the token) before its RSS grows;
/// the first half absorbs that.
pub async fn growth_per_socket(server: &Server, url: &str, n: usize) -> f64 {
    settled_rss(server).await;
    let mut clients = open_sockets(url, n / 2).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let half = rss_kib(server.pid());
    clients.extend(open_sockets(url, n - n / 2).await);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let all = rss_kib(server.pid());
    drop(clients);
    all.saturating_sub(half) as f64 / (n - n / 2) as f64
}

/// Medians, in KiB per socket, at one socket count.
#[derive(Debug, Clone, Copy)]
pub struct SocketMemory {
    /// Sockets held.
    pub sockets: usize,
    /// `ws-floor`'s growth per socket.
    pub floor: f64,
    /// `auth-server`'s growth per socket.
    pub total: f64,
    /// `auth-server` minus `ws-floor`, per round, then the median.
    pub ours: f64,
}

/// For each of `sizes`, `rounds` times (which goes first alternating), a
/// fresh `ws-floor` from `floor_binary` and a fresh `auth-server` from
/// `ours` (which returns the server, a socket URL with an access token, and
/// whatever must live as long as the server) each take that many idle
/// sockets.
pub async fn socket_memory<K>(
    floor_binary: &str,
    sizes: &[usize],
    rounds: usize,
    ours: impl AsyncFn() -> (Server, String, K),
) -> Vec<SocketMemory> {
    let mut out = Vec::new();
    for &n in sizes {
        let (mut floor, mut total, mut diff) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let mut pair = [0.0; 2];
            for k in 0..2 {
                let kind = (k + round) % 2;
                pair[kind] = if kind == 0 {
                    let server = Server::start(floor_binary, &[]).await;
                    growth_per_socket(&server, &server.ws_url(None), n).await
                } else {
                    let (server, url, keep) = ours().await;
                    let growth = growth_per_socket(&server, &url, n).await;
                    drop(server);
                    drop(keep);
                    growth
                };
            }
            eprintln!(
                "{n} sockets, round {round}: floor {:.2} KiB/socket, auth-server {:.2} KiB/socket",
                pair[0], pair[1]
            );
            floor.push(pair[0]);
            total.push(pair[1]);
            diff.push(pair[1] - pair[0]);
        }
        out.push(SocketMemory {
            sockets: n,
            floor: median(&mut floor),
            total: median(&mut total),
            ours: median(&mut diff),
        });
    }
    out
}

/// The paragraph and table that report [`socket_memory`].
pub fn socket_memory_table(rows: &[SocketMemory], rounds: usize) -> String {
    let mut table = format!(
        "Memory per idle socket at N sockets (the RSS growth from holding N/2 idle sockets to holding N, \
         ÷ N/2: counted from idle, a server's first sockets reuse memory it already holds free; each a \
         median of {rounds} rounds on fresh servers, `ws-floor` and `auth-server` alternating): the floor is \
         `ws-floor`, actix-web with actix-ws and a bare socket task; ours is `auth-server` minus the floor \
         in the same round (authentication state, registry entry, push channel, timer, socket task).\n\n\
         | sockets | floor per socket | `auth-server` per socket | ours per socket | `auth-server` at that rate, all N sockets |\n\
         |---|---|---|---|---|\n"
    );
    for r in rows {
        table.push_str(&format!(
            "| {} | {:.1} KiB | {:.1} KiB | {:.1} KiB | {:.1} MiB |\n",
            r.sockets,
            r.floor,
            r.total,
            r.ours,
            r.total * r.sockets as f64 / 1024.0
        ));
    }
    table
}
