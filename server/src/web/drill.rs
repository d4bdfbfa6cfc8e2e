//! The drill-down handlers: `data/drill/...` requests (see [`contract::paths`]) parsed into a
//! grain, a period, a status or a scope's file stem, answered by the read side
//! ([`crate::drill::DrillStore`]) off the async runtime, and serialized. What a file holds
//! and how it is computed is the read side's business; this file only knows the URLs.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use contract::Grain;
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

/// `data/drill/<grain>/<period>/<status>.json`: the users behind one growth number.
pub(super) async fn growth(
    State(state): State<WebState>,
    Path((grain, period, file)): Path<(String, String, String)>,
) -> Result<Response, WebError> {
    let (grain, status) = (parse_grain(&grain)?, json_stem(&file)?);
    let (period, status) = (Period::parse(&period)?, parse_status(&status)?);
    drill_file(state, move |d| d.growth(grain, &period, status)).await
}

/// `data/drill/cohort/<grain>/<period>.json`: the users of the cohorts in one period.
pub(super) async fn cohort(
    State(state): State<WebState>,
    Path((grain, file)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let (grain, period) = (parse_grain(&grain)?, json_stem(&file)?);
    let period = Period::parse(&period)?;
    drill_file(state, move |d| d.cohort(grain, &period)).await
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
    }
}
