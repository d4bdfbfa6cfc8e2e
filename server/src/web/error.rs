//! The web layer's one error type: 4xx text passes through to the client, 5xx answers a
//! generic message and logs the cause. Either way the text is clipped and escaped first
//! ([`clip`]): it may carry a path segment, a query value or a line of a file, and a
//! response or a log line must never become a way to read those back whole.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// The most characters of an error a response or log line carries.
pub const MAX_ERROR_CHARS: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    NotFound(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// A drill-down request naming what is not there is the client's 404; anything else is a
/// server error.
impl From<crate::drill::DrillError> for WebError {
    fn from(e: crate::drill::DrillError) -> Self {
        if e.is_not_found() {
            WebError::NotFound(e.to_string())
        } else {
            WebError::Internal(e.to_string())
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::NotFound(text) => {
                (StatusCode::NOT_FOUND, clip(&text, MAX_ERROR_CHARS)).into_response()
            }
            WebError::Internal(cause) => {
                tracing::error!("{}", clip(&cause, MAX_ERROR_CHARS));
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the server could not read the warehouse; see its log",
                )
                    .into_response()
            }
        }
    }
}

/// At most `max` characters of `text`, with control characters (line breaks, NUL, ESC…)
/// written as escapes so that text from a request or a file cannot forge log lines or
/// terminal output; `…` marks a cut.
pub fn clip(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 2));
    for (shown, c) in text.chars().enumerate() {
        if shown == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_long_text_and_escapes_control_characters() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("a\nb\0c\u{1b}[2J", 20), "a\\nb\\u{0}c\\u{1b}[2J");
        assert_eq!(clip("ééé", 2), "éé…");
        assert_eq!(
            clip(&"x".repeat(10_000), MAX_ERROR_CHARS).chars().count(),
            301
        );
    }
}
