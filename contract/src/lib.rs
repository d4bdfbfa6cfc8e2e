//! The contract between heymax's server and its browser dashboard: the one place that
//! names grains, marts, lifecycle statuses, retention days, the run types, the drill-down
//! files and every URL and file path. Both sides compile against it, so the server cannot
//! write what the page cannot read, and adding a mart or a status is one variant the
//! compiler then points at everywhere.
//!
//! Wasm-safe and I/O-free (serde and chrono's dates only): it sits below every other
//! crate of the workspace and imports none of them.

pub mod calendar;
pub mod drill;
pub mod mart;
pub mod paths;
pub mod runs;
pub mod status;

pub use calendar::Grain;
pub use mart::{Mart, RETENTION_DAYS};
pub use status::Status;
