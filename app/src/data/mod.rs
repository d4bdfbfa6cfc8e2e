//! The client-side data work, in plain Rust with no UI: aggregations across countries,
//! the explorer's cross-mart join, period buckets, the pipeline's graph layout and number
//! formatting. Everything here is unit-tested natively.

pub mod calendar;
pub mod dag;
pub mod drill;
pub mod explore;
pub mod format;
pub mod growth;
pub mod retention;
pub mod selection;

#[cfg(test)]
pub mod fixtures;
