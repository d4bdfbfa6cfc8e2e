//! The `<head>` of trunk's `dist/index.html` (hashed wasm, JS and CSS links, the Plotly
//! script), read once at start and put into every server-rendered page with trunk's base
//! placeholder (Trunk.toml `public_url`) replaced by the site's base path. Its scripts
//! (trunk's inline module that starts the wasm, Plotly's tag) get the response's CSP nonce
//! ([`with_nonce`]): the page's Content-Security-Policy runs no script without it.

use std::path::Path;

/// What Trunk.toml sets as `public_url`.
pub const BASE_PLACEHOLDER: &str = "/__heymax_base__/";

#[derive(Clone, Debug)]
pub struct Head {
    template: String,
}

impl Head {
    /// Reads `dist/index.html`; the error says how to build it.
    pub fn load(dist: &Path) -> anyhow::Result<Self> {
        let index = dist.join("index.html");
        let html = std::fs::read_to_string(&index).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the browser bundle at {} ({e}): build it with `trunk build --release` \
                 (scripts/demo.sh does), or pass --dist",
                index.display()
            )
        })?;
        Self::from_index(&html).ok_or_else(|| {
            anyhow::anyhow!(
                "{} has no <head>…</head>: rebuild it with `trunk build --release`",
                index.display()
            )
        })
    }

    pub fn from_index(html: &str) -> Option<Self> {
        let start = html.find("<head>")? + "<head>".len();
        let end = html[start..].find("</head>")? + start;
        Some(Self {
            template: html[start..end].trim().to_string(),
        })
    }

    /// A head with no bundle: pages render but do not hydrate (tests, `--no-bundle`).
    pub fn empty() -> Self {
        Self {
            template: String::new(),
        }
    }

    pub fn render(&self, base: &str) -> String {
        self.template.replace(BASE_PLACEHOLDER, base)
    }
}

/// `head` with `nonce="<nonce>"` on each `<script` tag. Leptos's nonces are base64url;
/// anything else is left out rather than written into the HTML.
pub fn with_nonce(head: &str, nonce: Option<&str>) -> String {
    match nonce {
        Some(nonce)
            if !nonce.is_empty()
                && nonce
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            head.replace("<script", &format!("<script nonce=\"{nonce}\""))
        }
        _ => head.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_of_the_head_gets_the_nonce() {
        let head = r#"<link rel="modulepreload" href="/a.js"><script type="module">import init from '/a.js';</script><script async src="/plotly.min.js"></script>"#;
        assert_eq!(
            with_nonce(head, Some("Ab-9_")),
            r#"<link rel="modulepreload" href="/a.js"><script nonce="Ab-9_" type="module">import init from '/a.js';</script><script nonce="Ab-9_" async src="/plotly.min.js"></script>"#
        );
        assert_eq!(with_nonce(head, None), head);
        assert_eq!(with_nonce(head, Some("a\"><script>")), head);
    }

    #[test]
    fn takes_the_head_and_fills_in_the_base() {
        let html = r#"<html><head><link rel="stylesheet" href="/__heymax_base__/app-1.css"></head><body></body></html>"#;
        let head = Head::from_index(html).unwrap();
        assert_eq!(
            head.render("/heymax/"),
            r#"<link rel="stylesheet" href="/heymax/app-1.css">"#
        );
        assert!(Head::from_index("<html></html>").is_none());
    }
}
