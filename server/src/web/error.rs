//! The web layer's one error type: 4xx text passes through to the client, 5xx answers a
//! generic message and logs the cause.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    NotFound(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::NotFound(text) => (StatusCode::NOT_FOUND, text).into_response(),
            WebError::Internal(cause) => {
                tracing::error!("{cause}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the server could not read the warehouse; see its log",
                )
                    .into_response()
            }
        }
    }
}
