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

/// Writes `request` and reads its whole response into `buf`; returns the
/// status and the response's length in `buf`.
pub async fn round_trip(
    stream: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
    request: &[u8],
) -> (u16, usize) {
    stream.write_all(request).await.unwrap();
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
    if buf.len() < total {
        buf.resize(total, 0);
    }
    while filled < total {
        let n = stream.read(&mut buf[filled..]).await.unwrap();
        assert!(n > 0, "server closed the connection");
        filled += n;
    }
    (status, total)
}

/// Requests answered 200 and otherwise, over one connection.
pub async fn hammer_one(addr: SocketAddr, request: Arc<Vec<u8>>, until: Instant) -> (u64, u64) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    let (mut ok, mut other) = (0, 0);
    while Instant::now() < until {
        let (status, _) = round_trip(&mut stream, &mut buf, &request).await;
        if status == 200 { ok += 1 } else { other += 1 }
    }
    (ok, other)
}

/// Sends each of `requests` once, spread over `connections` keep-alive
/// connections taking the next unsent one; every answer must have status
/// `expect`. Returns the requests per second from the first write to the
/// last answer, and the `Location` of each answer that has one.
pub async fn each_once(
    addr: SocketAddr,
    requests: Vec<Vec<u8>>,
    connections: usize,
    expect: u16,
) -> (f64, Vec<String>) {
    let total = requests.len();
    let queue = Arc::new(std::sync::Mutex::new(requests));
    let mut streams = vec![];
    for _ in 0..connections {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        streams.push(stream);
    }
    let started = Instant::now();
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|mut stream| {
            let queue = queue.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut locations = vec![];
                loop {
                    let Some(request) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let (status, len) = round_trip(&mut stream, &mut buf, &request).await;
                    let text = String::from_utf8_lossy(&buf[..len]);
                    assert_eq!(status, expect, "{text}");
                    locations.extend(text.lines().take_while(|l| !l.is_empty()).find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("location")
                            .then(|| value.trim().to_owned())
                    }));
                }
                locations
            })
        })
        .collect();
    let mut locations = vec![];
    for t in tasks {
        locations.extend(t.await.unwrap());
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    (rate, locations)
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

/// A `POST` of an `application/x-www-form-urlencoded` body, with HTTP Basic
/// credentials when `basic` is given.
pub fn post_form_request(path: &str, basic: Option<(&str, &str)>, body: &str) -> Vec<u8> {
    use base64::Engine as _;
    let auth = basic.map_or(String::new(), |(id, secret)| {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        format!("Authorization: Basic {encoded}\r\n")
    });
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
