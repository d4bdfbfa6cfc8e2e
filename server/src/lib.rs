//! heymax: product-growth analytics on an app's event stream.
//!
//! Event CSVs flow `pipeline::ingest` -> bronze -> silver -> gold -> marts, gated by
//! `pipeline::quality`, and land in a `warehouse` (Parquet files or PostgreSQL, with the
//! run history beside them). `orchestrator` runs the pipeline's DAG (the `runner` crate)
//! with retries; `drill` reads the users behind a number; `web` serves the dashboard (the
//! `app` crate, server-rendered), the marts and the drill-down files; `static_site` writes
//! the same pages and files into a folder. `commands` holds one function per CLI
//! subcommand; `main.rs` only dispatches. The modules depend one way, commands -> static_site
//! -> web -> drill -> orchestrator -> pipeline -> warehouse (README, Layout; tests/it/layers.rs
//! checks it); what server and browser share is the `contract` crate.

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
