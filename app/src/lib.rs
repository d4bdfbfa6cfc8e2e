//! The heymax dashboard: Leptos pages rendered on the server (`ssr`) and hydrated in the
//! browser (`hydrate`). This file holds the shell, `App` and the routes; pages, charts and
//! the client-side data work live in their own folders.

#![recursion_limit = "256"]

pub mod charts;
pub mod components;
pub mod data;
pub mod marts;
pub mod pages;
pub mod state;

use leptos::prelude::*;
use leptos_meta::{MetaTags, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::components::nav::Nav;
use crate::marts::{MartClient, MartSource};

/// Where the site lives: `/` or `/<repo>/` (always ends in `/`).
#[derive(Clone, Debug, PartialEq)]
pub struct SiteConfig {
    pub base: String,
}

impl Default for SiteConfig {
    fn default() -> Self {
        Self { base: "/".into() }
    }
}

impl SiteConfig {
    pub fn new(base: &str) -> Self {
        let trimmed = base.trim_matches('/');
        let base = if trimmed.is_empty() {
            "/".to_string()
        } else {
            format!("/{trimmed}/")
        };
        Self { base }
    }

    /// A page's URL under the base (`""` is the overview). Pages end in `/` because a
    /// static host serves `<page>/index.html` there without a redirect; `serve` answers
    /// both forms.
    pub fn href(&self, page: &str) -> String {
        if page.is_empty() {
            self.base.clone()
        } else {
            format!("{}{page}/", self.base)
        }
    }

    /// A location's path as the router's `navigate` takes it: without the base, which it
    /// adds itself (`/heymax/growth/` -> `/growth/`).
    pub fn route_path<'a>(&self, pathname: &'a str) -> &'a str {
        let base = self.base.trim_end_matches('/');
        match pathname.strip_prefix(base) {
            Some(rest) if rest.starts_with('/') => rest,
            Some("") => "/",
            _ => pathname,
        }
    }

    /// In the browser the base comes from the page the server rendered.
    #[cfg(target_arch = "wasm32")]
    fn from_document() -> Self {
        let base = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector("meta[name=heymax-base]").ok().flatten())
            .and_then(|m| m.get_attribute("content"))
            .unwrap_or_else(|| "/".into());
        Self::new(&base)
    }
}

/// Lets a page set the HTTP status of the response it is rendered into (the not-found
/// page answers 404). The server provides it; in the browser there is none.
#[derive(Clone)]
pub struct ResponseStatus(pub std::sync::Arc<dyn Fn(u16) + Send + Sync>);

/// Set by the static export: the path this HTML file was rendered for. A static host
/// serves the same file for any query (and `404.html` for any missing path), so the
/// browser hydrates only when the URL is the one rendered and renders afresh otherwise.
#[derive(Clone, Debug)]
pub struct Prerendered(pub String);

/// Whether the browser must render the page itself instead of hydrating the HTML it got:
/// only for a pre-rendered file opened at another path, or with a query it was not
/// rendered with (hydrating mismatched HTML would attach to the wrong nodes).
pub fn must_render_fresh(prerendered: Option<&str>, pathname: &str, search: &str) -> bool {
    prerendered.is_some_and(|path| {
        let search = search.trim_start_matches('?');
        !search.is_empty() || path.trim_end_matches('/') != pathname.trim_end_matches('/')
    })
}

/// The browser entry: hydrates the server-rendered page, or renders it afresh when the
/// HTML is a pre-rendered file for another URL (see [`must_render_fresh`]).
#[cfg(target_arch = "wasm32")]
pub fn start() {
    let document = web_sys::window().and_then(|w| w.document());
    let prerendered = document
        .as_ref()
        .and_then(|d| {
            d.query_selector("meta[name=heymax-prerendered]")
                .ok()
                .flatten()
        })
        .and_then(|m| m.get_attribute("content"));
    let location = web_sys::window().map(|w| w.location());
    let pathname = location
        .as_ref()
        .and_then(|l| l.pathname().ok())
        .unwrap_or_default();
    let search = location
        .as_ref()
        .and_then(|l| l.search().ok())
        .unwrap_or_default();
    let fresh = must_render_fresh(prerendered.as_deref(), &pathname, &search);
    // Says how the page came alive, for the browser tests and for anyone debugging.
    if let Some(root) = document.as_ref().and_then(|d| d.document_element()) {
        let _ = root.set_attribute("data-heymax", if fresh { "rendered" } else { "hydrated" });
    }
    if fresh {
        if let Some(body) = document.and_then(|d| d.body()) {
            body.set_inner_html("");
        }
        leptos::mount::mount_to_body(App);
    } else {
        leptos::mount::hydrate_body(App);
    }
}

/// The whole HTML document, rendered on the server only. `head` is the `<head>` content
/// trunk wrote into `dist/index.html` (the hashed wasm, JS and CSS links).
pub fn shell(options: LeptosOptions, head: std::sync::Arc<str>, base: String) -> impl IntoView {
    let _ = options;
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="heymax-base" content=base />
                {use_context::<Prerendered>()
                    .map(|p| view! { <meta name="heymax-prerendered" content=p.0 /> })}
                {leptos::tachys::html::InertElement::new(head.to_string())}
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    #[cfg(target_arch = "wasm32")]
    let site = SiteConfig::from_document();
    #[cfg(not(target_arch = "wasm32"))]
    let site = use_context::<SiteConfig>().unwrap_or_default();
    provide_context(MartClient::new(
        site.base.clone(),
        use_context::<MartSource>(),
    ));
    provide_context(site.clone());
    let base = site.base.trim_end_matches('/').to_string();
    view! {
        <Router base=base>
            <Nav />
            <main class="page">
                <Routes fallback=pages::NotFound>
                    <Route path=path!("") view=pages::overview::Overview ssr=SsrMode::Async />
                    <Route path=path!("growth") view=pages::growth::Growth ssr=SsrMode::Async />
                    <Route path=path!("retention") view=pages::retention::Retention ssr=SsrMode::Async />
                    <Route path=path!("interactions") view=pages::interactions::Interactions ssr=SsrMode::Async />
                    <Route path=path!("explore") view=pages::explore::Explore ssr=SsrMode::Async />
                    <Route path=path!("pipeline") view=pages::pipeline::Pipeline ssr=SsrMode::Async />
                </Routes>
            </main>
            <footer class="foot">
                "heymax · growth metrics as defined in METRICS.md · incomplete periods are shaded"
            </footer>
        </Router>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_end_in_a_slash_under_the_base() {
        let site = SiteConfig::new("heymax");
        assert_eq!(site.base, "/heymax/");
        assert_eq!(site.href(""), "/heymax/");
        assert_eq!(site.href("growth"), "/heymax/growth/");
        assert_eq!(SiteConfig::new("/").href("explore"), "/explore/");
        assert_eq!(SiteConfig::new("").base, "/");
    }

    #[test]
    fn route_paths_drop_the_base_the_router_adds_back() {
        let site = SiteConfig::new("/heymax/");
        assert_eq!(site.route_path("/heymax/growth/"), "/growth/");
        assert_eq!(site.route_path("/heymax/"), "/");
        assert_eq!(site.route_path("/heymax"), "/");
        assert_eq!(site.route_path("/heymaxx/"), "/heymaxx/");
        assert_eq!(SiteConfig::new("/").route_path("/growth/"), "/growth/");
    }

    #[test]
    fn hydrates_only_the_url_a_file_was_rendered_for() {
        // Served pages are rendered per request: always hydrate.
        assert!(!must_render_fresh(None, "/growth/", "?grain=week"));
        // The exported file at its own path, with or without the slash.
        assert!(!must_render_fresh(
            Some("/heymax/growth/"),
            "/heymax/growth/",
            ""
        ));
        assert!(!must_render_fresh(
            Some("/heymax/growth/"),
            "/heymax/growth",
            "?"
        ));
        // A query it was not rendered with, or 404.html shown for another path.
        assert!(must_render_fresh(
            Some("/heymax/growth/"),
            "/heymax/growth/",
            "?grain=week"
        ));
        assert!(must_render_fresh(
            Some("/heymax/404.html"),
            "/heymax/nope",
            ""
        ));
    }
}
