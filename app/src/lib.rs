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

    /// A page's URL under the base (`""` is the overview).
    pub fn href(&self, page: &str) -> String {
        format!("{}{page}", self.base)
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
                </Routes>
            </main>
            <footer class="foot">
                "heymax · growth metrics as defined in METRICS.md · incomplete periods are shaded"
            </footer>
        </Router>
    }
}
