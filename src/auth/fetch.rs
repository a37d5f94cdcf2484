//! Fetching the issuer's JSON documents (metadata, JWKS) with a deadline and a size bound, so a
//! slow or hostile issuer can hold neither a request nor memory for long.

use std::time::Duration;

use serde::de::DeserializeOwned;

/// Time to connect to the issuer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time for a whole fetch, body included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest metadata or JWKS document read; a larger one is an error.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Why a document could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("GET {url}: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("GET {url}: status {status}")]
    Status { url: String, status: u16 },
    #[error("GET {url}: the document is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge { url: String },
    #[error("GET {url}: not the expected JSON: {source}")]
    Json {
        url: String,
        #[source]
        source: serde_json::Error,
    },
}

/// The HTTP client for the issuer: rustls with ring (the crate's one TLS stack), deadlines,
/// and no redirects (the documents' URLs are the issuer's own).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(FETCH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// GETs `url` and reads its body, at most [`MAX_DOCUMENT_BYTES`], as `T`.
pub async fn json<T: DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
) -> Result<T, FetchError> {
    let http = |source| FetchError::Http {
        url: url.to_owned(),
        source,
    };
    let mut response = client
        .get(url)
        .header(http::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(http)?;
    if !response.status().is_success() {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status: response.status().as_u16(),
        });
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
    {
        return Err(FetchError::TooLarge {
            url: url.to_owned(),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(http)? {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(FetchError::TooLarge {
                url: url.to_owned(),
            });
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|source| FetchError::Json {
        url: url.to_owned(),
        source,
    })
}
