//! `heymax serve`: axum renders the Leptos pages on the server (leptos_axum), serves the
//! marts as `<base>data/marts/<name>.json`, and the browser bundle trunk built into
//! `dist/` behind the routes. `router()` is separate from `serve()` so tests can drive it
//! with `tower::ServiceExt::oneshot`.

mod error;
mod marts;
mod shell;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use app::SiteConfig;
use app::marts::MartSource;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;

pub use error::WebError;
pub use marts::MartStore;
pub use shell::Head;

/// Everything a server needs, resolved and checked before it starts.
#[derive(Clone)]
pub struct Site {
    pub marts: Arc<MartStore>,
    pub head: Head,
    pub config: SiteConfig,
    /// The bundle trunk wrote (wasm, JS, CSS, Plotly.js); `None` serves pages only.
    pub dist: Option<PathBuf>,
}

/// The router's state: the site and Leptos's options (which leptos_axum extracts).
#[derive(Clone)]
struct WebState {
    site: Site,
    options: LeptosOptions,
}

impl axum::extract::FromRef<WebState> for LeptosOptions {
    fn from_ref(state: &WebState) -> Self {
        state.options.clone()
    }
}

/// The JSON of a mart, for the browser.
async fn mart_json(
    State(state): State<WebState>,
    Path(file): Path<String>,
) -> Result<Response, WebError> {
    let site = state.site;
    let name = file
        .strip_suffix(".json")
        .ok_or_else(|| WebError::NotFound(format!("no such file: {file} (marts are <name>.json)")))?
        .to_string();
    let store = site.marts.clone();
    let json = tokio::task::spawn_blocking(move || store.get(&name).map(|j| (name, j)))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??;
    match json {
        (_, Some(json)) => Ok((
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            json.to_string(),
        )
            .into_response()),
        (name, None) => Err(WebError::NotFound(format!(
            "the mart `{name}` is not in the warehouse: run `heymax run --input <events.csv>` to build it"
        ))),
    }
}

/// The whole site under `site.config.base`.
pub fn router(site: Site) -> Router {
    let routes = generate_route_list(app::App);
    let options = LeptosOptions::builder()
        .output_name("heymax")
        .site_root(
            site.dist
                .as_ref()
                .map_or(".".to_string(), |d| d.display().to_string()),
        )
        .build();
    let base = site.config.base.clone();
    let source = {
        let marts = site.marts.clone();
        MartSource(Arc::new(move |name: &str| match marts.get(name) {
            Ok(json) => json,
            Err(e) => {
                tracing::error!("reading mart {name}: {e}");
                None
            }
        }))
    };
    let context = {
        let config = site.config.clone();
        move || {
            provide_context(source.clone());
            provide_context(config.clone());
        }
    };
    let shell = {
        let head: Arc<str> = site.head.render(&base).into();
        let base = base.clone();
        let options = options.clone();
        move || app::shell(options.clone(), head.clone(), base.clone())
    };
    let state = WebState {
        site: site.clone(),
        options,
    };
    let mut pages = Router::new()
        .route("/data/marts/{file}", get(mart_json))
        .leptos_routes_with_context(&state, routes, context, shell)
        .with_state(state);
    if let Some(dist) = &site.dist {
        // `scripts/build.sh` writes `<file>.gz` beside the big assets (Plotly.js is 4.8 MB):
        // serving those saves compressing them again on every request.
        pages = pages.fallback_service(ServeDir::new(dist).precompressed_gzip());
    }
    let pages = pages.layer(CompressionLayer::new());
    match base.trim_end_matches('/') {
        "" => pages,
        prefix => Router::new().nest(prefix, pages),
    }
}

/// Binds `addr` and serves until Ctrl-C.
pub async fn serve(site: Site, addr: SocketAddr) -> anyhow::Result<()> {
    let base = site.config.base.clone();
    let app = router(site);
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {addr}: {e} (is another server on that port? pass --port)"
        )
    })?;
    let url = format!("http://{}{base}", listener.local_addr()?);
    tracing::info!("dashboard at {url}");
    println!("heymax dashboard: {url}  (Ctrl-C to stop)");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
