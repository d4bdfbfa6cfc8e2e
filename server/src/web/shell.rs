//! The `<head>` of the bundle's `index.html` (hashed wasm, JS and CSS links, the Plotly
//! script; `scripts/bundle.py`), read once at start and put into every server-rendered page
//! with the base placeholder replaced by the site's base path. Its scripts
//! (the inline module that starts the wasm, Plotly's tag) get the response's CSP nonce
//! ([`with_nonce`]): the page's Content-Security-Policy runs no script without it.

/// The base path `scripts/bundle.py` writes into the head's URLs.
pub const BASE_PLACEHOLDER: &str = "/__heymax_base__/";

#[derive(Clone, Debug)]
pub struct Head {
    template: String,
}

impl Head {
    /// The head of the bundle's `index.html`; the error says how to build it.
    pub fn load(bundle: &super::Bundle) -> anyhow::Result<Self> {
        let html = bundle.index_html()?;
        Self::from_index(&html).ok_or_else(|| {
            anyhow::anyhow!(
                "the index.html of the {} has no <head>…</head>: rebuild it with `scripts/bundle.py`",
                bundle.describe()
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
