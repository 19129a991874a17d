//! The HTTP client the `oauth2` crate calls: reqwest, redirects off, and
//! JSON bodies labelled as JSON.

use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

/// A short, printable excerpt of a body for the log.
pub(super) fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect()
}

/// Why one HTTP exchange failed at the transport level.
#[derive(Debug, thiserror::Error)]
pub(super) enum TransportError {
    #[error("{0}")]
    Reqwest(#[from] reqwest::Error),
    #[error("building the HTTP response: {0}")]
    Http(#[from] oauth2::http::Error),
}

/// The oauth2 crate's HTTP client: reqwest (redirects off). A body that is
/// JSON is labelled `application/json` whatever the provider said, since
/// the crate refuses any other content type and not every provider labels
/// its JSON.
pub(super) struct JsonLenientClient<'a>(pub(super) &'a reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for JsonLenientClient<'_> {
    type Error = TransportError;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<oauth2::HttpResponse, TransportError>> + Send + Sync + 'c,
        >,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send(self.0, request))
    }
}

pub(super) async fn send(
    http: &reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, TransportError> {
    let request = reqwest::Request::try_from(request)?;
    let response = http.execute(request).await.map_err(reqwest::Error::without_url)?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(reqwest::Error::without_url)?
        .to_vec();
    let is_json = serde_json::from_slice::<Value>(&body).is_ok();
    let mut builder = oauth2::http::Response::builder().status(status);
    for (name, value) in &headers {
        if !(is_json && name == CONTENT_TYPE) {
            builder = builder.header(name, value);
        }
    }
    if is_json {
        builder = builder.header(CONTENT_TYPE, "application/json");
    }
    Ok(builder.body(body)?)
}
