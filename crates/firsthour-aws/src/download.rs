//! Downloading get.gov's registry file for the refresh and `firsthour
//! registry update`: over http(s) with timeouts and a size cap enforced
//! while reading (a wrong URL to a huge file is an error, not an
//! out-of-memory), or from a `file:` URL.

use std::time::Duration;

use url::Url;

/// A client for downloads: bounded in time, following redirects, saying
/// who it is.
pub fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .user_agent(concat!(
            "firsthour-registry-refresh/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(|err| format!("no HTTP client: {err}"))
}

/// The file at `source`, at most `max_bytes`; the error says why not, in
/// words for a log line or a terminal.
pub async fn download(
    client: &reqwest::Client,
    source: &Url,
    max_bytes: usize,
) -> Result<Vec<u8>, String> {
    if source.scheme() == "file" {
        return read_file(source, max_bytes);
    }
    let too_large = || format!("larger than {max_bytes} bytes");
    let mut response = client
        .get(source.clone())
        .send()
        .await
        .map_err(|err| describe(&err))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    if response
        .content_length()
        .is_some_and(|length| length > max_bytes as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(
        response
            .content_length()
            .map_or(0, |length| usize::try_from(length).unwrap_or(0)),
    );
    while let Some(chunk) = response.chunk().await.map_err(|err| describe(&err))? {
        if body.len().saturating_add(chunk.len()) > max_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn read_file(source: &Url, max_bytes: usize) -> Result<Vec<u8>, String> {
    let path = source
        .to_file_path()
        .map_err(|()| format!("{source} is not a local file path"))?;
    let shown = path.display();
    let metadata = std::fs::metadata(&path).map_err(|err| format!("{shown}: {err}"))?;
    if metadata.len() > max_bytes as u64 {
        return Err(format!("{shown}: larger than {max_bytes} bytes"));
    }
    std::fs::read(&path).map_err(|err| format!("{shown}: {err}"))
}

/// reqwest's error with its causes (the cause says "connection refused",
/// "dns error", "unexpected end of file"), without the URL's query.
fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "could not connect".to_owned()
    } else if err.is_body() || err.is_decode() {
        "the body ended early or could not be read".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut cause = std::error::Error::source(err);
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}
