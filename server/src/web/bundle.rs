//! The browser bundle (`scripts/bundle.py` -> `dist/`: the HTML head template, wasm, JS,
//! CSS, Plotly.js and their `.gz` copies), carried inside the binary so `heymax serve` and
//! `heymax export` work from any folder with nothing beside them. `--dist <folder>` serves
//! a folder instead (development: rebuild the bundle without rebuilding the server).
//!
//! `build.rs` refuses to build the server without a bundle, so a binary never ships
//! without one.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

/// `dist/` as it was when the server was built.
#[derive(rust_embed::Embed)]
#[folder = "../dist/"]
struct Embedded;

/// Where the bundle's files come from.
#[derive(Clone, Debug)]
pub enum Bundle {
    Embedded,
    Dir(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(
        "cannot read the browser bundle at {path} ({source}): build it with `scripts/bundle.py` (scripts/build.sh does), or leave out --dist to use the one built into heymax"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the browser bundle has no file {0:?}: rebuild it with `scripts/bundle.py`")]
    Missing(String),
}

impl Bundle {
    /// The embedded bundle's name: its content-hashed wasm file (`hydrate-<hash>`), read
    /// from its index.html, for `heymax --version` and the logs.
    pub fn embedded_id() -> String {
        Bundle::Embedded
            .index_html()
            .ok()
            .and_then(|html| {
                html.split(['\'', '"', '/'])
                    .find(|s| s.starts_with("hydrate-") && s.ends_with("_bg.wasm"))
                    .map(|s| s.trim_end_matches("_bg.wasm").to_string())
            })
            .unwrap_or_else(|| "unknown".to_string())
    }

    /// `--dist` when given, else the embedded bundle.
    pub fn new(dist: Option<&Path>) -> Self {
        dist.map_or(Bundle::Embedded, |d| Bundle::Dir(d.to_path_buf()))
    }

    /// Names this bundle for `--version` and logs.
    pub fn describe(&self) -> String {
        match self {
            Bundle::Embedded => format!("built-in bundle {}", Bundle::embedded_id()),
            Bundle::Dir(d) => format!("bundle from {}", d.display()),
        }
    }

    /// A file of the bundle by its path relative to the bundle's root; `None` when there
    /// is no such file (or the path is not a plain relative one).
    pub fn get(&self, rel: &str) -> Result<Option<Cow<'static, [u8]>>, BundleError> {
        match self.read(rel) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(BundleError::Missing(_)) => Ok(None),
            Err(BundleError::Read { source, .. })
                if matches!(
                    source.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::IsADirectory
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// A file the bundle must have (one [`Bundle::files`] listed): any failure is an error.
    pub fn read(&self, rel: &str) -> Result<Cow<'static, [u8]>, BundleError> {
        if !is_plain_relative(rel) {
            return Err(BundleError::Missing(rel.chars().take(100).collect()));
        }
        match self {
            Bundle::Embedded => Embedded::get(rel)
                .map(|f| f.data)
                .ok_or_else(|| BundleError::Missing(rel.to_string())),
            Bundle::Dir(dir) => {
                let path = dir.join(rel);
                std::fs::read(&path)
                    .map(Cow::Owned)
                    .map_err(|source| BundleError::Read { path, source })
            }
        }
    }

    /// `index.html`: the template of every page's `<head>`.
    pub fn index_html(&self) -> Result<String, BundleError> {
        let bytes = self.read("index.html")?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Every file's relative path, sorted.
    pub fn files(&self) -> Result<Vec<String>, BundleError> {
        let mut files: Vec<String> = match self {
            Bundle::Embedded => Embedded::iter().map(|f| f.into_owned()).collect(),
            Bundle::Dir(dir) => {
                let mut found = Vec::new();
                let mut stack = vec![dir.clone()];
                while let Some(d) = stack.pop() {
                    let read = |source| BundleError::Read {
                        path: d.clone(),
                        source,
                    };
                    for entry in std::fs::read_dir(&d).map_err(read)? {
                        let path = entry.map_err(read)?.path();
                        if path.is_dir() {
                            stack.push(path);
                        } else if let Ok(rel) = path.strip_prefix(dir) {
                            found.push(rel.to_string_lossy().replace('\\', "/"));
                        }
                    }
                }
                found
            }
        };
        files.sort();
        Ok(files)
    }

    /// The response for a bundle file, or `None` when there is no such file. The `.gz`
    /// copy goes to browsers that accept gzip (Plotly.js is megabytes); content-hashed
    /// names are cached for good, the rest revalidated.
    pub fn respond(&self, rel: &str, request: &HeaderMap) -> Result<Option<Response>, BundleError> {
        if rel == "index.html" || rel.ends_with(".gz") {
            return Ok(None);
        }
        let Some(plain) = self.get(rel)? else {
            return Ok(None);
        };
        let gzip_ok = request
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
        let gz = if gzip_ok {
            self.get(&format!("{rel}.gz"))?
        } else {
            None
        };
        let etag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(&plain));
        let mut builder = Response::builder()
            .header(header::CONTENT_TYPE, content_type(rel))
            .header(header::ETAG, &etag)
            .header(header::VARY, "accept-encoding")
            .header(
                header::CACHE_CONTROL,
                if is_hashed(rel) {
                    "public, max-age=31536000, immutable"
                } else {
                    "no-cache"
                },
            );
        let fresh = request
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
        if fresh {
            builder = builder.status(StatusCode::NOT_MODIFIED);
            return Ok(builder.body(Body::empty()).ok());
        }
        let body = match gz {
            Some(gz) => {
                builder =
                    builder.header(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                gz
            }
            None => plain,
        };
        Ok(builder.body(Body::from(body)).ok())
    }
}

/// A path inside the bundle: no root, no `..`, no empty or `.` segment, no backslash.
fn is_plain_relative(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.contains('\\')
        && !rel.contains('\0')
        && rel
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

/// Whether a file name carries a content hash (`hydrate-ce2cdc2ec3baf866.js`).
fn is_hashed(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let stem = name.split('.').next().unwrap_or(name);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, h)| h.len() >= 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn content_type(rel: &str) -> &'static str {
    match rel.rsplit('.').next().unwrap_or("") {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_reach_the_bundle() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "./a",
            "a\\b",
            "a\0",
        ] {
            assert!(!is_plain_relative(bad), "{bad:?}");
        }
        assert!(is_plain_relative("plotly.min.js"));
        assert!(is_plain_relative("snippets/a/b.js"));
    }

    #[test]
    fn hashed_names_are_recognised() {
        assert!(is_hashed("hydrate-ce2cdc2ec3baf866.js"));
        assert!(is_hashed("hydrate-ce2cdc2ec3baf866_bg.wasm"));
        assert!(is_hashed("app-906416453d52cf92.css"));
        assert!(!is_hashed("plotly.min.js"));
        assert!(!is_hashed("favicon.svg"));
    }

    #[test]
    fn the_embedded_bundle_has_its_head_and_files() {
        let bundle = Bundle::Embedded;
        let index = bundle.index_html().unwrap();
        assert!(index.contains("<head>"), "{index}");
        let files = bundle.files().unwrap();
        assert!(files.iter().any(|f| f.ends_with(".wasm")), "{files:?}");
        assert!(files.iter().any(|f| f == "plotly.min.js"), "{files:?}");
        let id = Bundle::embedded_id();
        assert!(id.starts_with("hydrate-") && index.contains(&id), "{id}");
    }

    #[test]
    fn a_file_is_sent_gzipped_when_accepted_and_revalidated_by_etag() {
        let bundle = Bundle::Embedded;
        let mut h = HeaderMap::new();
        let plain = bundle.respond("plotly.min.js", &h).unwrap().unwrap();
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        let etag = plain.headers()[header::ETAG].clone();
        h.insert(header::ACCEPT_ENCODING, "br, gzip".parse().unwrap());
        let gz = bundle.respond("plotly.min.js", &h).unwrap().unwrap();
        assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
        h.insert(header::IF_NONE_MATCH, etag);
        let again = bundle.respond("plotly.min.js", &h).unwrap().unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert!(bundle.respond("index.html", &h).unwrap().is_none());
        assert!(bundle.respond("../Cargo.toml", &h).unwrap().is_none());
    }
}
