//! A minimal keep-alive HTTP/1.1 load client (what wrk does): one request
//! written, one response read, per connection, until the deadline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `(status, content-length)` of a response head.
pub fn parse_head(head: &[u8]) -> (u16, usize) {
    let text = std::str::from_utf8(head).unwrap();
    let status = text[9..12].parse().unwrap();
    let length = text
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .unwrap_or(0);
    (status, length)
}

/// Requests answered 200 and otherwise, over one connection.
pub async fn hammer_one(addr: SocketAddr, request: Arc<Vec<u8>>, until: Instant) -> (u64, u64) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    let (mut ok, mut other) = (0, 0);
    while Instant::now() < until {
        stream.write_all(&request).await.unwrap();
        let mut filled = 0;
        let (status, total) = loop {
            let n = stream.read(&mut buf[filled..]).await.unwrap();
            assert!(n > 0, "server closed the connection");
            filled += n;
            if let Some(end) = find(&buf[..filled], b"\r\n\r\n") {
                let (status, length) = parse_head(&buf[..end]);
                break (status, end + 4 + length);
            }
        };
        while filled < total {
            let n = stream.read(&mut buf[filled..]).await.unwrap();
            assert!(n > 0, "server closed the connection");
            filled += n;
        }
        if status == 200 { ok += 1 } else { other += 1 }
    }
    (ok, other)
}

/// Requests per second answered 200 by `connections` keep-alive clients.
pub async fn hammer(addr: SocketAddr, request: Vec<u8>, connections: usize, seconds: f64) -> f64 {
    let request = Arc::new(request);
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(hammer_one(addr, request.clone(), until)))
        .collect();
    let (mut ok, mut other) = (0, 0);
    for t in tasks {
        let (o, x) = t.await.unwrap();
        ok += o;
        other += x;
    }
    assert_eq!(other, 0, "{other} requests were not answered 200");
    ok as f64 / started.elapsed().as_secs_f64()
}

pub fn get_request(path: &str, bearer: Option<&str>) -> Vec<u8> {
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n").into_bytes()
}
