//! What one request may cost the server, and what a served page may do in the browser.
//! Layers around the whole router, checked before routing:
//!
//! - **URI limits**: a URI over [`MAX_URI_BYTES`], a query over [`MAX_QUERY_BYTES`] or a
//!   path segment over [`MAX_SEGMENT_BYTES`] gets 414. Explore renders whatever the query
//!   names, and a file name that long is an I/O error (500) in `ServeDir`.
//! - **Page renders**: at most [`RenderLimit`] at a time. A page is rendered whole
//!   (`SsrMode::Async`), as CPU on a runtime thread and its HTML in memory, so unbounded
//!   renders starve everything else. One more waits up to its `wait`, then gets 503 with
//!   `Retry-After`. The JSON, the bundle and the API are not counted, so they stay fast.
//! - **Host**: bound to loopback, only `127.0.0.1:<port>`, `localhost:<port>` and
//!   `[::1]:<port>` are answered (421 otherwise), so a page on another site that rebinds
//!   its DNS name to 127.0.0.1 cannot read the dashboard with the visitor's browser.
//! - **Headers** on every response: `nosniff`, `Referrer-Policy: same-origin`, framing by
//!   the same origin only, and a Content-Security-Policy. Pages get [`page_policy`] with
//!   the response's nonce (the shell puts it on the head's scripts); anything else
//!   [`OTHER_POLICY`]. `heymax export` has no headers to send, so this is `serve`'s alone.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The longest request URI answered (path and query).
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The longest query answered; the app's own links stay far below it.
pub const MAX_QUERY_BYTES: usize = 4 * 1024;
/// The longest path segment answered: no page or file has a longer name (255 is also
/// the longest file name Linux allows).
pub const MAX_SEGMENT_BYTES: usize = 255;

/// The CSP of anything but a page: it loads nothing and may be framed only by the site.
pub const OTHER_POLICY: &str =
    "default-src 'none'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

/// The CSP of a page. Scripts come from the site or carry the response's nonce (trunk's
/// inline module that starts the wasm, Leptos's resource scripts); `'wasm-unsafe-eval'`
/// lets the wasm compile, without allowing `eval`. Styles may be inline: Plotly.js sets
/// style attributes and inserts its own `<style>`, and so does the app.
pub fn page_policy(nonce: Option<&str>) -> String {
    let nonce = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
         frame-ancestors 'self'"
    )
}

/// How the router protects itself; `Default` suits tests and the export (any `Host`).
#[derive(Clone, Debug, Default)]
pub struct Guard {
    pub renders: RenderLimit,
    pub hosts: Hosts,
}

/// Page renders at once, and how long one more waits for a turn.
#[derive(Clone, Debug)]
pub struct RenderLimit {
    permits: Arc<Semaphore>,
    size: usize,
    wait: Duration,
}

impl RenderLimit {
    pub fn new(size: usize, wait: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(size)),
            size,
            wait,
        }
    }

    /// Renders allowed at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// A turn to render, after waiting up to `wait`; `None` when none came free.
    pub async fn acquire(&self) -> Option<OwnedSemaphorePermit> {
        tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .ok()?
            .ok()
    }

    /// `render`'s response, rendered in a turn, or 503 when none came free in time.
    pub(super) async fn run(&self, render: impl Future<Output = Response>) -> Response {
        let Some(permit) = self.acquire().await else {
            tracing::warn!(
                renders = self.size,
                "a page request got 503: every render slot stayed busy for {:?}",
                self.wait
            );
            let retry = self.wait.as_secs().max(1).to_string();
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, retry)],
                "the server is busy rendering other pages: try again in a moment",
            )
                .into_response();
        };
        let response = render.await;
        drop(permit);
        response
    }
}

impl Default for RenderLimit {
    /// Twice the cores: renders wait on the marts as well as use the CPU.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(cores * 2, Duration::from_secs(2))
    }
}

/// A page route's render, in a turn (see [`RenderLimit::run`]).
pub(super) async fn limit_renders(
    State(limit): State<RenderLimit>,
    req: Request,
    next: Next,
) -> Response {
    limit.run(next.run(req)).await
}

/// Which `Host` headers the server answers.
#[derive(Clone, Debug, Default)]
pub enum Hosts {
    /// Bound to a public address: names are the operator's business (a proxy, a DNS name).
    #[default]
    Any,
    /// Bound to this loopback address: only the names of loopback with its port.
    Loopback(SocketAddr),
}

impl Hosts {
    /// What a server listening on `addr` answers.
    pub fn for_addr(addr: SocketAddr) -> Self {
        if addr.ip().is_loopback() {
            Self::Loopback(addr)
        } else {
            Self::Any
        }
    }

    /// The `Host` values allowed, or `None` for any.
    fn allowed(&self) -> Option<Vec<String>> {
        let Self::Loopback(addr) = self else {
            return None;
        };
        let port = addr.port();
        let mut names: Vec<String> = ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .map(|n| format!("{n}:{port}"))
            .collect();
        names.push(addr.to_string());
        if port == 80 {
            // Browsers leave the default port out.
            names.extend(["127.0.0.1", "localhost", "[::1]"].map(String::from));
        }
        Some(names)
    }

    pub fn allows(&self, host: &[u8]) -> bool {
        self.allowed().is_none_or(|names| {
            names
                .iter()
                .any(|n| n.as_bytes().eq_ignore_ascii_case(host))
        })
    }
}

/// 421 for a `Host` the server does not answer to. A request without one (not a browser:
/// every browser sends it) passes.
pub(super) async fn check_host(State(hosts): State<Hosts>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .map(HeaderValue::as_bytes)
        .or_else(|| req.uri().authority().map(|a| a.as_str().as_bytes()));
    if host.is_none_or(|h| hosts.allows(h)) {
        return next.run(req).await;
    }
    let url = match &hosts {
        Hosts::Loopback(addr) => format!("http://{addr}/"),
        Hosts::Any => String::new(),
    };
    (
        StatusCode::MISDIRECTED_REQUEST,
        format!(
            "this dashboard listens on loopback and answers only to the Host 127.0.0.1, localhost \
             or [::1] with its port (a guard against DNS rebinding): open {url}; a proxy in \
             front must pass one of those, or serve with --host 0.0.0.0 behind a firewall"
        ),
    )
        .into_response()
}

/// 414 for a URI, query or path segment over the limits.
pub(super) async fn limit_uri(req: Request, next: Next) -> Response {
    let uri = req.uri();
    let length = uri.path_and_query().map_or(0, |pq| pq.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len());
    let refusal = if length > MAX_URI_BYTES {
        Some(format!(
            "the request URI is over {MAX_URI_BYTES} bytes: ask for fewer series or countries"
        ))
    } else if uri.query().is_some_and(|q| q.len() > MAX_QUERY_BYTES) {
        Some(format!(
            "the query is over {MAX_QUERY_BYTES} bytes: ask for fewer series or countries"
        ))
    } else if uri.path().split('/').any(|s| s.len() > MAX_SEGMENT_BYTES) {
        Some(format!(
            "a path segment is over {MAX_SEGMENT_BYTES} bytes: no page or file has a name that long"
        ))
    } else {
        None
    };
    match refusal {
        Some(text) => (StatusCode::URI_TOO_LONG, text).into_response(),
        None => next.run(req).await,
    }
}

/// The headers every response gets; a page has set its own CSP already.
pub(super) async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // For browsers that predate CSP's frame-ancestors.
    headers.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(OTHER_POLICY));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_answers_only_to_its_own_names() {
        let hosts = Hosts::for_addr("127.0.0.1:3000".parse().unwrap());
        for ok in [
            "127.0.0.1:3000",
            "localhost:3000",
            "LOCALHOST:3000",
            "[::1]:3000",
        ] {
            assert!(hosts.allows(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "evil.example:3000",
            "localhost",
            "127.0.0.1:3001",
            "localhost.:3000",
            "127.0.0.1:3000.evil.example",
            "",
        ] {
            assert!(!hosts.allows(bad.as_bytes()), "{bad}");
        }
        let on_80 = Hosts::for_addr("[::1]:80".parse().unwrap());
        assert!(on_80.allows(b"localhost") && on_80.allows(b"[::1]:80"));
        let public = Hosts::for_addr("0.0.0.0:3000".parse().unwrap());
        assert!(public.allows(b"dashboard.example"));
    }

    #[test]
    fn the_page_policy_names_the_nonce_and_allows_wasm() {
        let policy = page_policy(Some("abc"));
        assert!(policy.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval';"));
        assert!(policy.contains("frame-ancestors 'self'"));
        assert!(
            !policy.contains(" 'unsafe-eval'") && !policy.contains("script-src 'unsafe-inline'")
        );
        assert!(!page_policy(None).contains("nonce"));
    }
}
