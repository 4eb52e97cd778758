//! A tiny static file server for the landing-page example
//! (`examples/landing-page`), so `make run` serves a form that posts to the
//! local intake.
//!
//! The pages name the intake as [`DEFAULT_INTAKE_URL`] (`make run`'s default
//! port); when the gateway listens elsewhere, text files are served with that
//! URL replaced by the real one. Only regular files inside the directory are
//! served: no `..`, no hidden files, no symlinks leading out.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The intake URL written in the example pages.
pub const DEFAULT_INTAKE_URL: &str = "http://127.0.0.1:3000";

/// Why the site cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("site directory {}: {source}", path.display())]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("site directory {} is not a directory", path.display())]
    NotADir { path: PathBuf },
    #[error("cannot serve the site on {addr}: {source} (choose another with --site-port)")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Why a request path does not name a servable file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("malformed path")]
    Malformed,
    #[error("no such file")]
    NotFound,
    #[error("path leaves the site directory")]
    Forbidden,
}

/// The directory served and the intake URL the pages should post to.
#[derive(Debug, Clone)]
pub struct Site {
    root: PathBuf,
    intake_base: String,
}

impl Site {
    /// `dir` must exist; `intake_base` is the gateway's base URL
    /// (`http://127.0.0.1:3000`, no trailing slash needed).
    pub fn new(dir: &Path, intake_base: &str) -> Result<Self, SiteError> {
        let root = std::fs::canonicalize(dir).map_err(|source| SiteError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
        if !root.is_dir() {
            return Err(SiteError::NotADir { path: root });
        }
        Ok(Self {
            root,
            intake_base: intake_base.trim_end_matches('/').to_owned(),
        })
    }

    /// The same site posting to another intake.
    pub fn with_intake_base(self, intake_base: &str) -> Self {
        Self {
            intake_base: intake_base.trim_end_matches('/').to_owned(),
            ..self
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file a URL path names: percent-decoded, each segment checked,
    /// `/` and directories mapped to `index.html`, then resolved and
    /// required to stay inside the root.
    pub fn resolve(&self, url_path: &str) -> Result<PathBuf, PathError> {
        let decoded = percent_decode(url_path).ok_or(PathError::Malformed)?;
        let mut path = self.root.clone();
        for segment in decoded.split('/').filter(|s| !s.is_empty()) {
            if segment.starts_with('.') || segment.contains(['\\', '\0', ':']) {
                return Err(PathError::Forbidden);
            }
            path.push(segment);
        }
        if path.is_dir() {
            path.push("index.html");
        }
        // Symlinks are followed, then the real path must still be inside.
        let real = std::fs::canonicalize(&path).map_err(|_| PathError::NotFound)?;
        if !real.starts_with(&self.root) || !real.is_file() {
            return Err(PathError::Forbidden);
        }
        Ok(real)
    }

    /// The bytes to send for a file: text files get the intake URL rewritten.
    fn body_of(&self, path: &Path, bytes: Vec<u8>) -> Vec<u8> {
        if !is_text(path) || self.intake_base == DEFAULT_INTAKE_URL {
            return bytes;
        }
        match String::from_utf8(bytes) {
            Ok(text) => text
                .replace(DEFAULT_INTAKE_URL, &self.intake_base)
                .into_bytes(),
            Err(err) => err.into_bytes(),
        }
    }

    pub fn router(self) -> Router {
        Router::new()
            .fallback(serve_file)
            .with_state(Arc::new(self))
    }
}

/// The site, listening.
pub struct RunningSite {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl RunningSite {
    /// `http://127.0.0.1:8080`
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RunningSite {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds the site's address (before the gateway's base is known, so its
/// origin can be allowed for CORS and redirects).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, SiteError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| SiteError::Bind { addr, source })
}

/// Serves `site` on `listener` until the returned handle is dropped.
pub fn serve(listener: TcpListener, site: Site) -> Result<RunningSite, SiteError> {
    let addr = listener.local_addr().map_err(|source| SiteError::Bind {
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        source,
    })?;
    let app = site.router();
    let task = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            eprintln!("[site] stopped: {err}");
        }
    });
    Ok(RunningSite { addr, task })
}

async fn serve_file(State(site): State<Arc<Site>>, method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "use GET");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let path = match site.resolve(uri.path()) {
        Ok(path) => path,
        Err(PathError::Malformed) => return plain(StatusCode::BAD_REQUEST, "malformed path"),
        Err(PathError::NotFound) => return plain(StatusCode::NOT_FOUND, "not found"),
        Err(PathError::Forbidden) => return plain(StatusCode::FORBIDDEN, "forbidden"),
    };
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => site.body_of(&path, bytes),
        Err(_) => return plain(StatusCode::NOT_FOUND, "not found"),
    };
    let length = bytes.len();
    let mut response = if method == Method::HEAD {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(bytes))
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&path)),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    // A development server: always the file as it is now.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn is_text(path: &Path) -> bool {
    matches!(
        extension(path).as_str(),
        "html" | "htm" | "css" | "js" | "mjs" | "json" | "txt" | "md" | "svg"
    )
}

fn content_type(path: &Path) -> &'static str {
    match extension(path).as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// `%2e%2E` → `..`; `None` for a bad escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> (Site, PathBuf) {
        let base = std::env::temp_dir().join(format!("firsthour-site-{}", ulid::Ulid::new()));
        let dir = base.join("site");
        std::fs::create_dir_all(dir.join("css")).expect("dirs");
        std::fs::write(
            dir.join("index.html"),
            "<form action=\"http://127.0.0.1:3000/leads\">",
        )
        .expect("index");
        std::fs::write(dir.join("css/style.css"), "body{}").expect("css");
        std::fs::write(dir.join(".env"), "SECRET=1").expect("dotfile");
        std::fs::write(base.join("outside.txt"), "outside").expect("outside");
        (
            Site::new(&dir, "http://127.0.0.1:4000/").expect("site"),
            base,
        )
    }

    #[test]
    fn paths_resolve_inside_the_root_only() {
        let (site, base) = site();
        let root = site.root().to_path_buf();
        assert_eq!(site.resolve("/"), Ok(root.join("index.html")));
        assert_eq!(site.resolve(""), Ok(root.join("index.html")));
        assert_eq!(site.resolve("/index.html"), Ok(root.join("index.html")));
        assert_eq!(
            site.resolve("/css/style.css"),
            Ok(root.join("css/style.css"))
        );
        assert_eq!(
            site.resolve("/%63ss/style.css"),
            Ok(root.join("css/style.css"))
        );
        for escape in [
            "/../outside.txt",
            "/css/../../outside.txt",
            "/%2e%2e/outside.txt",
            "/%2E%2E%2Foutside.txt",
            "/.env",
            "/css/..%5c..%5coutside.txt",
        ] {
            assert_eq!(site.resolve(escape), Err(PathError::Forbidden), "{escape}");
        }
        assert_eq!(site.resolve("/missing.html"), Err(PathError::NotFound));
        assert_eq!(site.resolve("/%zz"), Err(PathError::Malformed));
        assert_eq!(site.resolve("/%ff"), Err(PathError::Malformed));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(base.join("outside.txt"), root.join("link.txt"))
                .expect("symlink");
            assert_eq!(site.resolve("/link.txt"), Err(PathError::Forbidden));
        }
        let _ = std::fs::remove_dir_all(base);
    }

    #[test]
    fn text_files_get_the_real_intake_url() {
        let (site, base) = site();
        let index = site.root().join("index.html");
        let body = site.body_of(&index, std::fs::read(&index).expect("read"));
        assert_eq!(
            String::from_utf8(body).expect("utf-8"),
            "<form action=\"http://127.0.0.1:4000/leads\">"
        );
        let png = site.root().join("x.png");
        let raw = b"http://127.0.0.1:3000".to_vec();
        assert_eq!(site.body_of(&png, raw.clone()), raw);
        let _ = std::fs::remove_dir_all(base);
    }
}
