//! heymax: product-growth analytics on an app's event stream.
//!
//! Event CSVs flow `pipeline::ingest` -> bronze -> silver -> gold -> marts, gated by
//! `pipeline::quality`, and land in a `warehouse` (a directory of Parquet files).
//! `orchestrator` runs the pipeline as a DAG of tasks with retries and keeps the run
//! history; `web` serves the dashboard (the `app` crate, server-rendered) and the marts as JSON.
//! `commands` holds one function per CLI subcommand; `main.rs` only dispatches.

// Rendering the Leptos pages nests view types deeply (the app crate sets the same).
#![recursion_limit = "256"]

pub mod cli;
pub mod commands;
pub mod drill;
pub mod generate;
pub mod orchestrator;
pub mod pipeline;
pub mod static_site;
pub mod warehouse;
pub mod web;
