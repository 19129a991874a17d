//! A real WebSocket client (tokio-tungstenite) for the suite.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// An open client socket.
pub struct Client {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ws::Client")
    }
}

/// What reading a socket produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A text frame, parsed as JSON (`Value::String` if not JSON).
    Json(Value),
    /// A close frame (code, reason), or the connection ending.
    Closed(Option<u16>),
    /// Nothing within the wait.
    Silent,
}

/// Opens `url` with extra headers; `Err(status)` when the upgrade is refused.
pub async fn connect(url: &str, headers: &[(&str, &str)]) -> Result<Client, (u16, String)> {
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request
            .headers_mut()
            .insert(name, HeaderValue::from_str(value).unwrap());
    }
    match connect_async(request).await {
        Ok((stream, response)) => {
            assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
            Ok(Client { stream })
        }
        Err(Error::Http(response)) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Err((status, body))
        }
        Err(e) => panic!("websocket connect to {url} failed: {e}"),
    }
}

impl Client {
    /// The next text or close frame within `wait`, answering pings on the
    /// way (as any client library does).
    pub async fn next(&mut self, wait: Duration) -> Frame {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let item = match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return Frame::Silent,
                Ok(item) => item,
            };
            match item {
                Some(Ok(Message::Text(text))) => {
                    return Frame::Json(
                        serde_json::from_str(&text).unwrap_or(Value::String(text.to_string())),
                    );
                }
                Some(Ok(Message::Close(frame))) => return Frame::Closed(frame.map(|f| u16::from(f.code))),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Frame::Closed(None),
            }
        }
    }

    /// The next frame, which must be JSON text.
    pub async fn json(&mut self, wait: Duration) -> Value {
        match self.next(wait).await {
            Frame::Json(v) => v,
            other => panic!("expected a JSON frame, got {other:?}"),
        }
    }

    /// Sends a text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.stream.send(Message::text(text)).await.unwrap();
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.stream.send(Message::binary(bytes.to_vec())).await.unwrap();
    }

    /// Waits up to `wait` for the next frame WITHOUT reading anything before
    /// `silence` has passed (so no pong answers the server's pings meanwhile).
    pub async fn stay_silent_then_next(&mut self, silence: Duration, wait: Duration) -> Frame {
        tokio::time::sleep(silence).await;
        self.next(wait).await
    }
}
