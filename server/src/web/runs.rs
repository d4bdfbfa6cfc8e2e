//! The pipeline API: `GET <base>api/runs` (recent runs), `GET <base>api/runs/{id}` (one
//! run with its tasks), `POST <base>api/runs` (start a run). The Pipeline page reads the
//! same JSON at `<base>data/runs.json` and `<base>data/runs/<id>.json`, the paths a static
//! export writes it to.
//!
//! Starting a run needs `Authorization: Bearer <token>` with the token from
//! `HEYMAX_API_TOKEN`, compared in constant time (`subtle`): 401 without it or with a
//! wrong one, 503 when the server has no token (nobody may trigger), 409 with the running
//! run's id while one is in progress.
//!
//! A request may name its input, but only one the operator allowed (see `inputs`): the
//! server's `--input`, or a file inside an `--allow-input` folder. Error texts are clipped
//! and escaped (`error::clip`): an ingest error quotes the file it read.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use contract::runs::{RunDetail, RunList};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::error::{MAX_ERROR_CHARS, clip};
use super::inputs::AllowedInputs;
use super::{WebError, WebState, json_response, json_stem, off_runtime};
use crate::orchestrator::schedule::NextRun;
use crate::orchestrator::{Orchestrator, OrchestratorError};
use crate::warehouse::Location;
use crate::warehouse::history::{RunHistory, timestamp};

/// Runs listed when the request does not say how many.
pub const DEFAULT_LIMIT: usize = 50;

/// What the pipeline endpoints need.
#[derive(Clone)]
pub struct Runs {
    pub warehouse: Location,
    /// Runs started by this server (none for a static export).
    pub orchestrator: Option<Arc<Orchestrator>>,
    /// `HEYMAX_API_TOKEN`; without it nobody may start a run.
    pub token: Option<String>,
    /// What a run started over the API loads when the request names nothing.
    pub input: Option<PathBuf>,
    /// What a request may name as its input instead.
    pub allowed: AllowedInputs,
    /// The schedule's expression and its next time.
    pub schedule: Option<(String, NextRun)>,
}

impl Runs {
    /// Read-only: the history of `warehouse`, nothing can be started.
    pub fn read_only(warehouse: &Location) -> Self {
        Self {
            warehouse: warehouse.clone(),
            orchestrator: None,
            token: None,
            input: None,
            allowed: AllowedInputs::default(),
            schedule: None,
        }
    }

    /// The list as `GET api/runs` answers it.
    pub fn list(&self, limit: usize) -> Result<RunList, WebError> {
        let warehouse = self.warehouse.clone();
        let runs = off_runtime(move || RunHistory::open(&warehouse).list(limit))
            .map_err(|e| WebError::Internal(e.to_string()))?;
        let next = self
            .schedule
            .as_ref()
            .and_then(|(_, next)| *next.lock().unwrap_or_else(|p| p.into_inner()));
        Ok(RunList {
            runs,
            running: self.orchestrator.as_ref().and_then(|o| o.running()),
            next_scheduled_at: next.map(timestamp),
            schedule: self.schedule.as_ref().map(|(expr, _)| expr.clone()),
        })
    }

    /// One run, or `None` when there is no such run.
    pub fn get(&self, run_id: i64) -> Result<Option<RunDetail>, WebError> {
        let warehouse = self.warehouse.clone();
        off_runtime(move || RunHistory::open(&warehouse).get(run_id))
            .map_err(|e| WebError::Internal(e.to_string()))
    }
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    limit: Option<usize>,
}

pub(super) async fn list(
    State(state): State<WebState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let runs = state.site.runs.clone();
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, 10_000);
    let list = tokio::task::spawn_blocking(move || runs.list(limit))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??;
    Ok(json_response(json(&list)?))
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, WebError> {
    serde_json::to_string(value).map_err(|e| WebError::Internal(e.to_string()))
}

async fn detail(state: WebState, id: &str) -> Result<Response, WebError> {
    let run_id: i64 = id
        .parse()
        .map_err(|_| WebError::NotFound(format!("no run {id}: run ids are numbers")))?;
    let runs = state.site.runs.clone();
    let found = tokio::task::spawn_blocking(move || runs.get(run_id))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??;
    match found {
        Some(detail) => Ok(json_response(json(&detail)?)),
        None => Err(WebError::NotFound(format!("there is no run {run_id}"))),
    }
}

pub(super) async fn get_api(
    State(state): State<WebState>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    detail(state, &id).await
}

/// `data/runs/<id>.json`.
pub(super) async fn get_file(
    State(state): State<WebState>,
    Path(file): Path<String>,
) -> Result<Response, WebError> {
    let id = json_stem(&file)?;
    detail(state, &id).await
}

/// The optional body of `POST api/runs`.
#[derive(Deserialize, Default)]
pub(super) struct Trigger {
    /// A CSV file or folder on the server, inside a folder it allows; default: the
    /// server's `--input`.
    input: Option<PathBuf>,
}

fn refuse(status: StatusCode, error: String, extra: serde_json::Value) -> Response {
    let mut body = serde_json::json!({ "error": clip(&error, MAX_ERROR_CHARS) });
    if let (Some(obj), serde_json::Value::Object(more)) = (body.as_object_mut(), extra) {
        obj.extend(more);
    }
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

/// Whether `headers` carry `Bearer <token>`; constant time in the token's bytes.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    given.trim().as_bytes().ct_eq(token.as_bytes()).into()
}

pub(super) async fn trigger(
    State(state): State<WebState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let runs = &state.site.runs;
    let (Some(orchestrator), Some(token)) = (&runs.orchestrator, &runs.token) else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "starting runs is switched off on this server: set HEYMAX_API_TOKEN to a secret and restart `heymax serve`, then send it as `Authorization: Bearer <token>`".into(),
            serde_json::Value::Null,
        );
    };
    if !authorized(&headers, token) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "a valid `Authorization: Bearer <token>` header (HEYMAX_API_TOKEN) is needed to start a run".into(),
            serde_json::Value::Null,
        );
    }
    let request: Trigger = if body.iter().all(u8::is_ascii_whitespace) {
        Trigger::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(t) => t,
            Err(e) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    // serde's message may quote the body: only its start.
                    format!(
                        "the body must be empty or JSON like {{\"input\": \"events.csv\"}}: {}",
                        clip(&e.to_string(), 100)
                    ),
                    serde_json::Value::Null,
                );
            }
        }
    };
    let input = match request.input {
        Some(requested) => {
            let allowed = runs.allowed.clone();
            let resolved = tokio::task::spawn_blocking(move || allowed.resolve(&requested)).await;
            match resolved {
                Ok(Ok(input)) => input,
                Ok(Err(refused)) => {
                    tracing::warn!("POST api/runs refused: {refused}");
                    return refuse(
                        StatusCode::FORBIDDEN,
                        refused.to_string(),
                        serde_json::Value::Null,
                    );
                }
                Err(e) => return WebError::Internal(e.to_string()).into_response(),
            }
        }
        None => match runs.input.clone() {
            Some(input) => input,
            None => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "this server has no input to load: start it with `heymax serve --input <events.csv or folder>`, or send {\"input\": \"<file>\"} naming a file in an --allow-input folder".into(),
                    serde_json::Value::Null,
                );
            }
        },
    };
    let orchestrator = orchestrator.clone();
    let started = tokio::task::spawn_blocking(move || orchestrator.start("api", input)).await;
    match started {
        Ok(Ok(run_id)) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({
                "run_id": run_id,
                "url": contract::paths::url(&state.site.config.base, &contract::paths::api_run(run_id)),
            })),
        )
            .into_response(),
        Ok(Err(OrchestratorError::Busy(running))) => refuse(
            StatusCode::CONFLICT,
            format!("run {running} is in progress; try again when it has finished"),
            serde_json::json!({ "running": running }),
        ),
        Ok(Err(OrchestratorError::Input(e))) => refuse(
            StatusCode::BAD_REQUEST,
            e.to_string(),
            serde_json::Value::Null,
        ),
        Ok(Err(e)) => WebError::Internal(e.to_string()).into_response(),
        Err(e) => WebError::Internal(e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_is_authorized() {
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, "s3cret"));
        h.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert!(authorized(&h, "s3cret"));
        for wrong in [
            "Bearer s3cre",
            "Bearer s3cret2",
            "Basic s3cret",
            "s3cret",
            "Bearer ",
        ] {
            h.insert(header::AUTHORIZATION, wrong.parse().unwrap());
            assert!(!authorized(&h, "s3cret"), "{wrong}");
        }
    }
}
