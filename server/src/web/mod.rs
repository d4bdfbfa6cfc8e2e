//! `heymax serve`: axum renders the Leptos pages on the server (leptos_axum), serves the
//! marts as `<base>data/marts/<name>.json`, and the browser bundle (built into the binary,
//! or `--dist`) behind the routes. `router()` is separate from `serve()` so tests can drive it
//! with `tower::ServiceExt::oneshot`, and so the static site (`crate::site`) can save its
//! pages as files. Every route is a path of `contract::paths`, the ones the exporter writes
//! and the browser fetches. `drill` and `runs` hold handlers only (their data comes from
//! `crate::drill` and the run history); `guard` bounds what one request may cost and sets
//! the security headers; `inputs` decides what the run API may load.

mod bundle;
mod drill;
mod error;
pub mod guard;
pub mod inputs;
mod marts;
pub mod runs;
mod shell;

use std::net::SocketAddr;
use std::sync::Arc;

use app::marts::MartSource;
use app::{Prerendered, ResponseStatus, SiteConfig};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use contract::paths::{self, routes};
use leptos::prelude::*;
use leptos_axum::{
    AxumRouteListing, LeptosRoutes, generate_route_list_with_exclusions_and_ssg_and_context,
};
use tower_http::compression::CompressionLayer;

pub use bundle::{Bundle, BundleError};
pub use error::WebError;
pub use guard::Guard;
pub use inputs::AllowedInputs;
pub use marts::MartStore;
pub use runs::Runs;
pub use shell::Head;

/// Everything a server needs, resolved and checked before it starts.
#[derive(Clone)]
pub struct Site {
    pub marts: Arc<MartStore>,
    /// The users behind a number, one selection at a time (see `crate::drill`).
    pub drill: Arc<crate::drill::DrillStore>,
    pub head: Head,
    pub config: SiteConfig,
    /// The browser bundle (wasm, JS, CSS, Plotly.js); `None` serves pages only.
    pub bundle: Option<Bundle>,
    /// Pages are rendered to be saved as files (`heymax export`), not per request.
    pub prerender: bool,
    /// The run history, and the orchestrator that starts runs (see `runs`).
    pub runs: Arc<Runs>,
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
    let name = json_stem(&file)?;
    let store = state.site.marts.clone();
    let json = tokio::task::spawn_blocking(move || store.get(&name).map(|j| (name, j)))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??;
    match json {
        (_, Some(json)) => Ok(json_response(json.to_string())),
        (name, None) => Err(WebError::NotFound(format!(
            "the mart `{name}` is not in the warehouse: run `heymax run --input <events.csv>` to build it"
        ))),
    }
}

/// A JSON body that the browser may cache only until the next run.
fn json_response(json: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        json,
    )
        .into_response()
}

/// `name` of a `<name>.json` path segment.
fn json_stem(file: &str) -> Result<String, WebError> {
    paths::json_stem(file)
        .map(str::to_string)
        .ok_or_else(|| WebError::NotFound(format!("no such file: {file}")))
}

/// What every page render gets: the marts, the site config, and a way to set the status.
fn page_context(site: &Site) -> impl Fn() + Clone + Send + Sync + 'static {
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
    let config = site.config.clone();
    let prerender = site.prerender;
    move || {
        provide_context(source.clone());
        provide_context(config.clone());
        provide_context(ResponseStatus(Arc::new(|code| {
            if let (Some(response), Ok(code)) = (
                use_context::<leptos_axum::ResponseOptions>(),
                StatusCode::from_u16(code),
            ) {
                response.set_status(code);
            }
        })));
        if prerender {
            // The export saves this HTML as a file for this path (see `app::Prerendered`).
            if let Some(parts) = use_context::<axum::http::request::Parts>() {
                provide_context(Prerendered(parts.uri.path().to_string()));
            }
        }
    }
}

/// The page routes Leptos's router declares, with the base in front (the router adds it),
/// each also with a trailing `/`: links end in `/` so a static host needs no redirect.
pub fn page_routes(site: &Site) -> Vec<AxumRouteListing> {
    let (routes, _) =
        generate_route_list_with_exclusions_and_ssg_and_context(app::App, None, page_context(site));
    let mut all = Vec::new();
    for route in routes {
        let path = route.path().to_string();
        if !path.ends_with('/') {
            all.push(AxumRouteListing::new(
                format!("{path}/"),
                route.mode().clone(),
                route.methods(),
                Vec::new(),
            ));
        }
        all.push(route);
    }
    all
}

/// The whole site under `site.config.base`: pages, `data/marts/<name>.json`, the browser
/// bundle, and the not-found page for anything else; answering any `Host`.
pub fn router(site: Site) -> Router {
    router_with(site, Guard::default())
}

/// [`router`] with its render limit and the `Host` names it answers to.
pub fn router_with(site: Site, guards: Guard) -> Router {
    let routes = page_routes(&site);
    let options = LeptosOptions::builder()
        .output_name("heymax")
        .site_root(match &site.bundle {
            Some(Bundle::Dir(d)) => d.display().to_string(),
            _ => ".".to_string(),
        })
        .build();
    let base = site.config.base.clone();
    let context = page_context(&site);
    let shell = {
        let head: Arc<str> = site.head.render(&base).into();
        let base = base.clone();
        let options = options.clone();
        let prerender = site.prerender;
        move || {
            // One nonce per response (leptos_axum's): on the head's scripts and in the CSP.
            let nonce = use_nonce().filter(|_| !prerender);
            let nonce = nonce.as_deref();
            if !prerender
                && let (Some(response), Ok(policy)) = (
                    use_context::<leptos_axum::ResponseOptions>(),
                    HeaderValue::from_str(&guard::page_policy(nonce)),
                )
            {
                response.insert_header(header::CONTENT_SECURITY_POLICY, policy);
            }
            app::shell(
                options.clone(),
                shell::with_nonce(&head, nonce).into(),
                base.clone(),
            )
        }
    };
    let not_found = leptos_axum::render_app_async_with_context(context.clone(), shell.clone());
    let state = WebState {
        site: site.clone(),
        options,
    };
    let renders = guards.renders.clone();
    // Only page renders take a turn (see `guard`): the JSON, the API and the bundle do not.
    let pages = Router::new()
        .leptos_routes_with_context(&state, routes, context, shell)
        .route_layer(from_fn_with_state(renders, guard::limit_renders));
    let at = |route: &str| paths::url(&base, route);
    Router::new()
        .route(&at(routes::MART), get(mart_json))
        .route(&at(routes::COHORT_DRILL), get(drill::cohort))
        .route(&at(routes::INTERACTIONS_DRILL), get(drill::interactions))
        .route(&at(routes::USERS_DRILL), get(drill::users))
        .route(&at(routes::GROWTH_DRILL), get(drill::growth))
        .route(&at(routes::API_RUNS), get(runs::list).post(runs::trigger))
        .route(&at(routes::API_RUN), get(runs::get_api))
        .route(&at(routes::RUNS), get(runs::list))
        .route(&at(routes::RUN), get(runs::get_file))
        .merge(pages)
        .fallback(move |State(state): State<WebState>, req: Request| {
            let not_found = not_found.clone();
            let renders = guards.renders.clone();
            async move {
                asset_or_not_found(&state.site, req, |req| renders.run(not_found(req))).await
            }
        })
        .with_state(state)
        .layer(CompressionLayer::new())
        .layer(from_fn_with_state(guards.hosts, guard::check_host))
        .layer(from_fn(guard::limit_uri))
        .layer(from_fn(guard::security_headers))
}

/// A file of the bundle under the base, else the not-found page (status 404).
async fn asset_or_not_found<F, R>(site: &Site, req: Request, not_found: F) -> Response
where
    F: FnOnce(Request) -> R,
    R: Future<Output = Response>,
{
    // The bundle's index.html is only a template for the pages' <head>: never served.
    let rest = req
        .uri()
        .path()
        .strip_prefix(&site.config.base)
        .filter(|rest| *rest != "index.html");
    let method = req.method();
    if let (Some(bundle), Some(rest), true) = (
        &site.bundle,
        rest,
        method == axum::http::Method::GET || method == axum::http::Method::HEAD,
    ) {
        // `scripts/bundle.py` writes `<file>.gz` beside the big assets: serving those saves
        // compressing them again on every request.
        match bundle.respond(rest, req.headers()) {
            Ok(Some(response)) => return response,
            Ok(None) => {}
            // An unreadable file must not be a 500 with an empty body: the not-found page
            // answers, and the log says why.
            Err(e) => tracing::warn!("a bundle file could not be served: {e}"),
        }
    }
    not_found(req).await
}

/// Binds `addr`; `started` gets the dashboard's URL (to start the orchestrator's
/// schedule and sensor, whose notifications link to it); serves until Ctrl-C. Bound to
/// loopback, it answers only to loopback's names (see `guard`).
pub async fn serve(
    site: Site,
    addr: SocketAddr,
    renders: guard::RenderLimit,
    started: impl FnOnce(&str),
) -> anyhow::Result<()> {
    let base = site.config.base.clone();
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {addr}: {e} (is another server on that port? pass --port)"
        )
    })?;
    let bound = listener.local_addr()?;
    let hosts = guard::Hosts::for_addr(bound);
    let app = router_with(site, Guard { renders, hosts });
    let url = format!("http://{bound}{base}");
    tracing::info!("dashboard at {url}");
    started(&url);
    println!("heymax dashboard: {url}  (Ctrl-C to stop)");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// Runs blocking warehouse work from wherever it is asked for. On an async runtime's
/// thread (a page rendered on the server reads its marts there) it moves to a thread of
/// its own: the PostgreSQL client blocks on a runtime of its own, which must not happen on
/// a runtime's thread.
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| s.spawn(f).join())
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
