//! How far ingest has read, told to whoever shows it. In: the input's size, then the
//! bytes read, block by block; out: nothing the pipeline uses. The CLI draws a bar from
//! it (`commands/run.rs`); the server and the tests pass [`Silent`].
//!
//! A trait rather than a progress-bar type, so the pipeline depends on no terminal crate
//! and a run without a terminal costs nothing.

use std::fmt;

/// Receives ingest's progress, from the thread that reads the input.
pub trait Progress: Send + Sync {
    /// Reading starts: `total_bytes` of input to read (a retry starts again).
    fn start(&self, total_bytes: u64) {
        let _ = total_bytes;
    }
    /// `bytes` more of the input were read.
    fn advance(&self, bytes: u64);
    /// Every byte was read.
    fn finish(&self) {}
}

/// Progress nobody watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn advance(&self, _: u64) {}
}

// So that options holding an `Arc<dyn Progress>` can still derive `Debug`.
impl fmt::Debug for dyn Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Progress")
    }
}
