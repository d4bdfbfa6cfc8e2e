//! The drill-down handlers: `data/drill/...` requests (see [`contract::paths`]) parsed into a
//! grain, a period, a status, a chunk, a dictionary shard or a scope's file stem, and
//! answered by the read side ([`crate::drill::DrillStore`]) off the async runtime. The
//! compact files are built once per warehouse version there, so a request is a lookup;
//! what a file holds is the read side's business, this file only knows the URLs.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use contract::{Grain, paths};
use serde::Serialize;

use super::{WebError, WebState, json_response, json_stem, off_runtime};
use crate::drill::{DrillStore, Period, echo, parse_status};

/// A drill file built off the async runtime (the first one of a grain reads its table).
async fn drill_file<T: Serialize + Send + 'static>(
    state: WebState,
    build: impl FnOnce(&DrillStore) -> Result<T, crate::drill::DrillError> + Send + 'static,
) -> Result<Response, WebError> {
    let store: Arc<DrillStore> = state.site.drill.clone();
    let json = tokio::task::spawn_blocking(move || {
        off_runtime(|| build(&store))
            .map_err(WebError::from)
            .and_then(|file| to_json(&file))
    })
    .await
    .map_err(|e| WebError::Internal(e.to_string()))??;
    Ok(json_response(json))
}

/// A drill file as the browser reads it.
pub fn to_json<T: Serialize>(file: &T) -> Result<String, WebError> {
    serde_json::to_string(file).map_err(|e| WebError::Internal(e.to_string()))
}

/// The compact file at `path`, or a 404 naming it.
async fn compact_file(state: WebState, path: String) -> Result<Response, WebError> {
    let store: Arc<DrillStore> = state.site.drill.clone();
    let lookup = path.clone();
    let bytes = tokio::task::spawn_blocking(move || off_runtime(|| store.file(&lookup)))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??;
    match bytes {
        Some(bytes) => Ok((
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            axum::body::Bytes::from_owner(ArcBytes(bytes)),
        )
            .into_response()),
        None => Err(WebError::NotFound(format!(
            "no drill-down file {}: if a run finished since the page loaded, reload it",
            echo(&path)
        ))),
    }
}

/// Shared bytes as a response body without a copy.
struct ArcBytes(Arc<[u8]>);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The stem and chunk of a `<stem>.bin` / `<stem>.<k>.bin` segment.
fn bin_stem(file: &str) -> Result<(&str, usize), WebError> {
    paths::bin_stem(file)
        .ok_or_else(|| WebError::NotFound(format!("no such drill-down file: {}", echo(file))))
}

/// `data/drill/<grain>/<period>/<status>[.<k>].bin`: the users behind one growth number.
pub(super) async fn growth(
    State(state): State<WebState>,
    Path((grain, period, file)): Path<(String, String, String)>,
) -> Result<Response, WebError> {
    let grain = parse_grain(&grain)?;
    let (status, k) = bin_stem(&file)?;
    let (period, status) = (Period::parse(&period)?, parse_status(status)?);
    let path = paths::growth_drill_chunk(grain, period.as_str(), status.name(), k);
    compact_file(state, path).await
}

/// `data/drill/cohort/<grain>/<period>[.<k>].bin`: the users of the cohorts in one period.
pub(super) async fn cohort(
    State(state): State<WebState>,
    Path((grain, file)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let grain = parse_grain(&grain)?;
    let (period, k) = bin_stem(&file)?;
    let period = Period::parse(period)?;
    compact_file(state, paths::cohort_drill_chunk(grain, period.as_str(), k)).await
}

/// `data/drill/users/<shard>.bin`: one shard of the user dictionary.
pub(super) async fn users(
    State(state): State<WebState>,
    Path(file): Path<String>,
) -> Result<Response, WebError> {
    let shard = file
        .strip_suffix(".bin")
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<u32>().ok())
        .ok_or_else(|| WebError::NotFound(format!("no such user shard: {}", echo(&file))))?;
    compact_file(state, paths::drill_users(shard)).await
}

/// `data/drill/interactions/<scope>.json`: each flow's most active users, for the scope
/// (every country, the users without one, or a country) whose file stem this is
/// (`contract::paths::CountryScope::file_stem`, which the exporter and the browser use too).
pub(super) async fn interactions(
    State(state): State<WebState>,
    Path(file): Path<String>,
) -> Result<Response, WebError> {
    let stem = json_stem(&file)?;
    drill_file(state, move |d| d.interactions(&stem)).await
}

pub fn parse_grain(name: &str) -> Result<Grain, WebError> {
    Grain::parse(name).ok_or_else(|| {
        WebError::NotFound(format!(
            "no such grain: {} (day, week or month)",
            echo(name)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_repeat_only_a_short_escaped_prefix_of_the_request() {
        let long = format!("../x\n{}", "y".repeat(1000));
        for e in [
            parse_grain(&long).unwrap_err(),
            WebError::from(Period::parse(&long).unwrap_err()),
        ] {
            let text = e.to_string();
            assert!(text.len() < 120 && text.contains(r#""../x\nyyy"#), "{text}");
        }
        assert_eq!(parse_grain("month").unwrap(), Grain::Month);
        assert!(bin_stem("new.json").is_err());
        assert_eq!(bin_stem("new.2.bin").unwrap(), ("new", 2));
    }
}
